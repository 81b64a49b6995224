"""Constrained average-linkage clustering of unit embeddings on a sparse neighbour graph.

For unit vectors the mean squared L2 distance between two sets is exact from their sums:
mean ||a - b||^2 = 2 - 2 (S_A . S_B) / (|A| |B|). So a cluster is a sum vector and a count, and
average linkage costs one dot product per candidate pair. Candidate pairs come from a k-nearest
neighbour graph, built block by block: no n x n matrix is ever held.
"""

from __future__ import annotations

import heapq
import logging
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

UNSORTED = -1  # the label of a face in no person
NO_TAG = -1  # the tag of a row the user pinned to no person


@dataclass(frozen=True)
class ClusterParams:
    threshold: float  # average-linkage squared-L2 distance up to which clusters merge
    min_size: int = 3  # smaller clusters stay unsorted
    k: int = 10  # graph neighbours per face; more find the same people, only slower
    seed_quality: float = 0.0  # faces below it join people but never count towards min_size

    def is_person(self, quality: np.ndarray) -> bool:
        """Whether a cluster whose faces have these quality scores is big enough to be a
        person: only faces at or above the seed floor count towards `min_size`, so one good
        face with a few tiny background faces around it stays unsorted (a junk person)."""
        return int((np.asarray(quality) >= self.seed_quality).sum()) >= self.min_size


EXACT_LIMIT = 20_000  # up to this many faces the neighbour graph is exact


def knn_edges(
    x: np.ndarray, k: int, max_dist: float, block: int = 512
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) among each row's k nearest rows with squared L2 <= max_dist.

    Exact up to EXACT_LIMIT rows; past that, an inverted-file search (rows bucketed by their
    nearest of ~4 sqrt(n) centroids, each bucket searched against its nearest buckets) keeps
    the cost near n sqrt(n) instead of n^2.
    """
    n = len(x)
    k = min(k, n - 1)
    if k <= 0:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0, np.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)
    min_sim = 1.0 - max_dist / 2.0
    if n <= EXACT_LIMIT:
        parts = (
            _top_k(x[s : s + block], np.arange(s, min(s + block, n)), x, None, k, min_sim)
            for s in range(0, n, block)
        )
    else:
        parts = _ivf_parts(x, k, min_sim)
    rows, cols, sims = zip(*parts, strict=True)
    r, c, sv = np.concatenate(rows), np.concatenate(cols), np.concatenate(sims)
    a, b = np.minimum(r, c), np.maximum(r, c)
    _, first = np.unique(a * n + b, return_index=True)
    return a[first], b[first], (2.0 - 2.0 * sv[first]).astype(np.float32)


def _top_k(
    q: np.ndarray, qi: np.ndarray, x: np.ndarray, xi: np.ndarray | None, k: int, min_sim: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For query rows q (ids qi) against rows x (ids xi, or 0..), the best k with sim >= min."""
    sim = q @ x.T
    ids = np.arange(len(x)) if xi is None else xi
    # One more than k, and a row's own pair dropped afterwards: masking itself out of the
    # whole block first costs a comparison per candidate, as much as the search.
    kk = min(k + 1, sim.shape[1])
    width = sim.shape[1]
    if width < BLOCK_COLUMNS * 2 * kk:
        part = np.argpartition(sim, width - kk, axis=1)[:, width - kk :]
        psim = np.take_along_axis(sim, part, axis=1)
        rows = np.broadcast_to(qi[:, None], part.shape)
        cols = ids[part]
        keep = (psim >= min_sim) & (rows != cols)
        return rows[keep], cols[keep], psim[keep]
    # A floor under each row's kk-th best: the kk-th best of its column blocks' maxima (kk
    # maxima are kk distinct entries). Few entries clear it, and sorting those few costs far
    # less than partitioning every row (the search's largest cost).
    maxima = np.maximum.reduceat(sim, np.arange(0, width, BLOCK_COLUMNS), axis=1)
    floor = np.partition(maxima, maxima.shape[1] - kk, axis=1)[:, maxima.shape[1] - kk]
    r, c = np.nonzero(sim >= np.maximum(floor, np.float32(min_sim))[:, None])
    v = sim[r, c]
    order = np.lexsort((-v, r))  # by row (as np.nonzero gave them), best first
    r, c, v = r[order], c[order], v[order]
    best = np.arange(len(r)) - np.searchsorted(r, r) < kk
    rows, cols, v = qi[r[best]], ids[c[best]], v[best]
    mine = rows != cols
    return rows[mine], cols[mine], v[mine]


BLOCK_COLUMNS = 32  # candidates a block in _top_k's floor


def _ivf_parts(
    x: np.ndarray,
    k: int,
    min_sim: float,
    probe: int = 12,
    seed: int = 0,
    min_candidates: int = 1536,
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each list's rows against the rows of its nearest lists: `probe` of them, or fewer once
    they hold `min_candidates` rows (lists grow as sqrt(n): a fixed number of them would make
    the search grow as n sqrt(n))."""
    n = len(x)
    rng = np.random.default_rng(seed)
    n_lists = int(4 * np.sqrt(n))
    sample = x[rng.choice(n, min(n, 50 * n_lists), replace=False)]
    cent = sample[rng.choice(len(sample), n_lists, replace=False)]
    for _ in range(8):  # spherical k-means on a sample
        assign = _nearest_centroid(sample, cent)
        by = np.argsort(assign, kind="stable")
        starts = np.searchsorted(assign[by], np.arange(n_lists))
        used = np.bincount(assign, minlength=n_lists) > 0
        sums = cent.copy()  # an empty list keeps its centroid
        sums[used] = np.add.reduceat(sample[by], starts[used], axis=0)
        cent = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    lists = _nearest_centroid(x, cent)
    order = np.argsort(lists, kind="stable")
    bounds = np.searchsorted(lists[order], np.arange(n_lists + 1))
    xs = x[order]  # each list's rows side by side: its candidates are copied as slices
    near = np.argsort(-(cent @ cent.T), axis=1)[:, :probe]
    sizes = np.diff(bounds)
    # How many of its nearest lists each list searches: all `probe`, or the fewest that
    # hold min_candidates rows.
    enough = np.cumsum(sizes[near], axis=1) >= min_candidates
    n_probe = np.where(enough.any(axis=1), enough.argmax(axis=1) + 1, probe)

    def search(li: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        lo, hi = bounds[li], bounds[li + 1]
        lists = near[li, : n_probe[li]]
        cand = np.concatenate([xs[bounds[j] : bounds[j + 1]] for j in lists])
        ids = np.concatenate([order[bounds[j] : bounds[j + 1]] for j in lists])
        return [
            _top_k(xs[s : min(s + 1024, hi)], order[s : min(s + 1024, hi)], cand, ids, k, min_sim)
            for s in range(lo, hi, 1024)
        ]

    # numpy lets go of the GIL in the products and the sorts: one thread a core, each with a
    # one-thread BLAS, keeps both cores busy where small products on a shared pool would not.
    workers = max(1, min(4, os.cpu_count() or 1))
    with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
        for got in pool.map(search, [li for li in range(n_lists) if bounds[li + 1] > bounds[li]]):
            yield from got


def _nearest_centroid(x: np.ndarray, cent: np.ndarray, block: int = 8192) -> np.ndarray:
    """In blocks of rows: all the products at once would be 3 GB at a million faces."""
    return np.concatenate(
        [np.argmax(x[s : s + block] @ cent.T, axis=1) for s in range(0, len(x), block)]
    )


class _Clusters:
    """Union of faces with the sums, photo sets and constraints average linkage needs.

    A face alone keeps its photo in an array and its "not this person" tags only if it has
    any: a million one-element sets would cost ~400 MB and seconds to make.
    """

    def __init__(
        self,
        x: np.ndarray,
        photo_ids: np.ndarray,
        tags: np.ndarray,
        forbidden: dict[int, set[int]],
        origins: np.ndarray,
    ) -> None:
        n = len(x)
        self.parent = np.arange(n)
        self.sum = np.array(x, np.float32)
        self.count = np.ones(n, np.int64)
        self.photo = np.asarray(photo_ids, np.int64)
        self.photos: dict[int, set[int]] = {}  # of clusters of more than one face
        self.tag = tags.astype(np.int64).copy()
        self.forbidden: dict[int, set[int]] = {i: set(f) for i, f in forbidden.items() if f}
        # The people a cluster's rows came from, of those some row must never join (the only
        # ones a constraint can name); a tag is where a row comes from too. Sparse, like
        # `forbidden`: most rows come from no watched person.
        watched = np.array(sorted(set().union(*forbidden.values())) if forbidden else [], np.int64)
        self.origin: dict[int, set[int]] = {}
        for column in (tags, origins):
            for i in np.nonzero(np.isin(column, watched))[0].tolist():
                self.origin.setdefault(i, set()).add(int(column[i]))
        self.alive = np.ones(n, bool)

    def photos_of(self, a: int) -> set[int]:
        got = self.photos.get(a)
        return {int(self.photo[a])} if got is None else got

    def can_merge(self, a: int, b: int) -> bool:
        ta, tb = self.tag[a], self.tag[b]
        if ta != NO_TAG and tb != NO_TAG and ta != tb:
            return False  # two people the user made are merged by the user alone
        no, came = self.forbidden, self.origin
        if no and came:
            fa, fb = no.get(a), no.get(b)
            oa, ob = came.get(a), came.get(b)
            if fa and ob and not fa.isdisjoint(ob) or fb and oa and not fb.isdisjoint(oa):
                return False  # "not this person", "not the same person"
        pa, pb = self.photos.get(a), self.photos.get(b)
        if pa is None or pb is None:  # one side is one face, in one photo
            if pa is None and pb is None:
                return bool(self.photo[a] != self.photo[b])
            one, many = (a, pb) if pa is None else (b, pa)
            return int(self.photo[one]) not in many  # type: ignore[operator]
        small, big = sorted((pa, pb), key=len)
        return small.isdisjoint(big)  # two faces of one photo are two people

    def merge(self, keep: int, gone: int) -> int:
        """Fold cluster `gone` into `keep`; returns `keep`."""
        self.parent[gone] = keep
        self.alive[gone] = False
        self.sum[keep] += self.sum[gone]
        self.count[keep] += self.count[gone]
        pk, pg = self.photos_of(keep), self.photos.pop(gone, None)
        pg = {int(self.photo[gone])} if pg is None else pg
        if len(pk) < len(pg):
            pk, pg = pg, pk
        pk |= pg
        self.photos[keep] = pk
        for sets in (self.forbidden, self.origin):
            gone_set = sets.pop(gone, None)
            if gone_set:
                sets.setdefault(keep, set()).update(gone_set)
        self.tag[keep] = self.tag[keep] if self.tag[keep] != NO_TAG else self.tag[gone]
        return keep

    def dist(self, a: int, others: np.ndarray) -> np.ndarray:
        dots = self.sum[others] @ self.sum[a]
        return 2.0 - 2.0 * dots / (self.count[others] * self.count[a])

    def dist_one(self, a: int, b: int) -> float:
        """dist for one pair, without making arrays (the loop asks it of each stale entry)."""
        return 2.0 - 2.0 * float(self.sum[a] @ self.sum[b]) / float(self.count[a] * self.count[b])

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def labels(self) -> np.ndarray:
        return _roots(self.parent).astype(np.int64)


def agglomerate(
    x: np.ndarray,
    photo_ids: np.ndarray,
    params: ClusterParams,
    tags: np.ndarray | None = None,
    forbidden: dict[int, set[int]] | None = None,
    origins: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster unit rows of `x`; returns a root index per row (rows sharing it are one cluster).

    `tags[i]` (NO_TAG for none) pins row i to a user-made person: rows with one tag start as one
    cluster and clusters with different tags never merge. `forbidden[i]` is the set of tags row i
    must never be in a cluster with ("not this person"): a row tagged with one of them, or whose
    `origins[i]` (NO_TAG for none: the person the row was in before, tagged or not) is one.
    Rows from one photo never end up together unless their tag says so.
    Every constraint only grows with a cluster, so a pair kept apart once stays apart. Face
    quality plays no part here: `ClusterParams.is_person` decides which clusters are people.
    """
    n = len(x)
    x = np.asarray(x, dtype=np.float32)
    tags = np.full(n, NO_TAG, np.int64) if tags is None else np.asarray(tags, np.int64)
    origins = np.full(n, NO_TAG, np.int64) if origins is None else np.asarray(origins, np.int64)
    cl = _Clusters(x, np.asarray(photo_ids), tags, forbidden or {}, origins)
    if n == 0:
        return np.zeros(0, np.int64)
    for tag in np.unique(tags[tags != NO_TAG]):  # what the user put together stays together
        members = np.nonzero(tags == tag)[0]
        root = int(members[0])
        for m in members[1:]:
            cl.merge(root, int(m))
    ea, eb, _ = knn_edges(x, params.k, params.threshold)
    ea, eb = _mutual_rounds(cl, ea, eb, params.threshold)
    adj: dict[int, set[int]] = {}
    for a, b in zip(ea.tolist(), eb.tolist(), strict=True):
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    _merge_loop(cl, adj, params.threshold)
    return cl.labels()


def _roots(parent: np.ndarray) -> np.ndarray:
    r = parent.copy()
    while True:
        up = parent[r]
        if np.array_equal(up, r):
            return r
        r = up


def _edge_dists(cl: _Clusters, a: np.ndarray, b: np.ndarray, chunk: int = 65536) -> np.ndarray:
    out = np.empty(len(a), np.float32)
    for s in range(0, len(a), chunk):
        ia, ib = a[s : s + chunk], b[s : s + chunk]
        dots = np.einsum("ij,ij->i", cl.sum[ia], cl.sum[ib])
        out[s : s + chunk] = 2.0 - 2.0 * dots / (cl.count[ia] * cl.count[ib])
    return out


# Rounds go on while one merges this share of the clusters left. Stopping at 2% instead left
# the loop ~2x the merges: grouping a million synthetic faces took 259 s, 220 s at 0.2% (the
# same partition face for face at 200,000 faces, the same people and unsorted at a million;
# where rounds stop is a speed setting only, a test checks it).
MIN_SHARE = 0.002


def _mutual_rounds(
    cl: _Clusters,
    a: np.ndarray,
    b: np.ndarray,
    threshold: float,
    min_share: float | None = None,
    max_rounds: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised rounds before the one-pair-at-a-time loop: every two clusters that are each
    other's nearest neighbour within the threshold merge at once. Average linkage is reducible
    (a merge never brings a third cluster closer than the nearer of the two was), so these
    are merges the exact loop would make too; rounds stop once they merge under `min_share`
    of the clusters (MIN_SHARE), and the loop finishes the rest. Returns the edges between the
    clusters left (roots, a < b, each once).

    A round recomputes only the edges that touch a cluster merged in the round before, and
    the nearest neighbour only of the clusters at their ends: the rest are unchanged, and
    recomputing all ~10 edges a face every round cost minutes at a million faces.
    """
    n = len(cl.parent)
    min_share = MIN_SHARE if min_share is None else min_share
    a, b, blocked = _cluster_edges(cl, a, b, np.zeros(0, np.int64))
    keys = a * n + b
    d = _edge_dists(cl, a, b)
    best = np.full(n, np.inf, np.float32)
    nn = np.full(n, n, np.int64)  # nearest neighbour (ties: the lowest id); n = none
    _nearest(a, b, d, threshold, best, nn, None)
    for _ in range(max_rounds):
        if keys.size == 0:
            break
        u = np.flatnonzero(nn < n)
        if u.size == 0:
            break
        v = nn[u]
        pairs = u[(u < v) & (nn[np.minimum(v, n - 1)] == u)]
        merged, newly_blocked = [], []
        for p in pairs.tolist():
            q = int(nn[p])
            if cl.can_merge(p, q):
                keep, gone = (p, q) if cl.count[p] >= cl.count[q] else (q, p)
                cl.merge(keep, gone)
                merged.append((keep, gone))
            else:
                newly_blocked.append(p * n + q)
        done = len(merged) + len(newly_blocked) < min_share * int(cl.alive.sum())
        changed = np.zeros(n, bool)
        if merged:
            changed[np.array(merged, np.int64).ravel()] = True
        if newly_blocked:
            nb = np.array(newly_blocked, np.int64)
            blocked = np.concatenate([blocked, nb])
            # Marked at both ends: an edge between two such clusters goes through
            # _cluster_edges below, which drops the blocked ones and keeps the rest.
            changed[nb // n] = True
            changed[nb % n] = True
        touch = changed[a] | changed[b]
        affected = np.zeros(n, bool)
        affected[a[touch]] = True
        affected[b[touch]] = True
        keep_edge = ~touch
        ta, tb = a[touch], b[touch]
        a, b, d, keys = a[keep_edge], b[keep_edge], d[keep_edge], keys[keep_edge]
        if ta.size:
            na, nb_, blocked = _cluster_edges(cl, ta, tb, blocked)
            nd = _edge_dists(cl, na, nb_)
            a, b, d = np.concatenate([a, na]), np.concatenate([b, nb_]), np.concatenate([d, nd])
            keys = np.concatenate([keys, na * n + nb_])
        if done:
            break
        _nearest(a, b, d, threshold, best, nn, affected)
    order = np.argsort(keys)
    return a[order], b[order]


def _nearest(
    a: np.ndarray,
    b: np.ndarray,
    d: np.ndarray,
    threshold: float,
    best: np.ndarray,
    nn: np.ndarray,
    only: np.ndarray | None,
) -> None:
    """Each cluster's nearest neighbour within the threshold (ties: the lowest id) into `nn`
    (len(nn) for none) and its distance into `best`, for the clusters in `only` (all: None)."""
    n = len(nn)
    near = d <= threshold
    if only is not None:
        near &= only[a] | only[b]
        best[only] = np.inf
        nn[only] = n
    src = np.concatenate([a[near], b[near]])
    dst = np.concatenate([b[near], a[near]])
    dd = np.concatenate([d[near], d[near]])
    if only is not None:
        mine = only[src]
        src, dst, dd = src[mine], dst[mine], dd[mine]
    np.minimum.at(best, src, dd)
    at_best = dd == best[src]
    np.minimum.at(nn, src[at_best], dst[at_best])


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    keys = np.sort(keys)
    return keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if keys.size else keys


def _cluster_edges(
    cl: _Clusters, a: np.ndarray, b: np.ndarray, blocked: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Face-level (or stale) edges as edges between current clusters, minus blocked pairs."""
    n = len(cl.parent)
    root = _roots(cl.parent)
    a, b = root[a], root[b]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keys = _sorted_unique((lo * n + hi)[lo != hi])
    if blocked.size:
        ba, bb = root[blocked // n], root[blocked % n]
        blocked = _sorted_unique(np.minimum(ba, bb) * n + np.maximum(ba, bb))
        keys = keys[~np.isin(keys, blocked, assume_unique=True)]
    return keys // n, keys % n, blocked


def _merge_loop(cl: _Clusters, adj: dict[int, set[int]], threshold: float) -> None:
    """Merge the closest mergeable pair of adjacent clusters until none is within threshold.

    The heap holds one entry per cluster, its best neighbour; entries go stale when either
    side changes and are refreshed lazily when they surface, so work stays near the number of
    merges rather than the number of edges. Each cluster also keeps a lower bound on its
    distance to every neighbour but the best (`second`): every change of a neighbour's
    distance passes through a merge, which lowers the bound, so a best neighbour that grew
    and is still no farther than the bound stays the best without a look at the others (a
    person of thousands of faces has thousands of neighbours to look at).
    """
    n = len(cl.parent)
    version = np.zeros(n, np.int64)  # bumps when a cluster grows
    token = np.zeros(n, np.int64)  # bumps when a cluster's heap entry is replaced
    best = np.full(n, np.inf)
    second = np.full(n, np.inf)  # <= the distance to every neighbour but the best one
    heap: list[tuple[float, int, int, int, int]] = []

    def push_best(o: int, others: np.ndarray, d: np.ndarray) -> None:
        token[o] += 1
        if others.size == 0:
            best[o] = second[o] = np.inf
            return
        j = int(np.argmin(d))
        best[o] = dj = d[j]
        # The second nearest, exact however few the neighbours: a cluster's best that grew
        # a little stays its best without a look at the rest (one run each at a million
        # faces: the loop 107 s -> 93 s, the same partition face for face).
        d[j] = np.inf
        second[o] = d.min()
        d[j] = dj
        if d[j] <= threshold:
            t = int(others[j])
            heapq.heappush(heap, (float(d[j]), o, t, int(token[o]), int(version[t])))

    bounds: dict[int, _Bounds] = {}  # of the clusters with many neighbours
    mark = np.zeros(n, bool)  # scratch

    def near(o: int, grew_by: float, tell_neighbours: bool) -> tuple[np.ndarray, np.ndarray]:
        """o's neighbours and its distance to each: exact wherever it decides anything (o's
        best; with `tell_neighbours`, each neighbour o may now be the best of), elsewhere a
        lower bound (enough for `second`). `grew_by`: the share of o's faces it just took in."""
        nb = adj.get(o, ())
        b = bounds.get(o)
        if b is not None:
            b.decay *= 1.0 - grew_by
        if len(nb) < BIG_ADJACENCY or b is None or b.decay < MIN_DECAY:
            others = np.fromiter(nb, np.int64, len(nb))
            d = cl.dist(o, others) if others.size else np.zeros(0)
            if len(nb) >= BIG_ADJACENCY:
                bounds[o] = _Bounds(others, d.copy(), version[others])
            else:
                bounds.pop(o, None)
            return others, d
        ids, lb, ver = b.ids, b.lb * (1.0 - grew_by), b.ver
        if b.fresh:
            f = np.unique(np.array(b.fresh, np.int64))
            b.fresh = []
            mark[ids] = True
            f = f[~mark[f]]
            mark[ids] = False
            ids = np.concatenate([ids, f])
            lb = np.concatenate([lb, np.full(len(f), -np.inf)])
            ver = np.concatenate([ver, np.full(len(f), -1)])
        live = cl.alive[ids] & (ids != o)
        ids, lb, ver = ids[live], lb[live], ver[live]
        todo = version[ids] != ver  # grew since (or new): the bound says nothing
        if tell_neighbours:
            todo |= lb < best[ids] + BOUND_SLACK
        if ids.size and not todo.any():
            todo[np.argmin(lb)] = True
        lb[todo] = cl.dist(o, ids[todo])
        if todo.any():
            more = ~todo & (lb <= lb[todo].min() + BOUND_SLACK)  # might still be the nearest
            lb[more] = cl.dist(o, ids[more])
            todo |= more
        ver[todo] = version[ids[todo]]  # ver is a copy: ver[live] above made it
        b.ids, b.lb, b.ver = ids, lb, ver
        return ids, lb

    def refresh(o: int) -> None:
        push_best(o, *near(o, 0.0, tell_neighbours=False))

    # Every cluster's first entry at once, from all edges in one pass (one small product
    # per cluster in Python costs more than all the merges after it).
    ea = np.fromiter((a for a, nb in adj.items() for _ in nb), np.int64)
    eb = np.fromiter((b for nb in adj.values() for b in nb), np.int64, len(ea))
    if ea.size:
        d = _edge_dists(cl, ea, eb)
        first = np.lexsort((d, ea))  # by cluster, then nearest first
        first = first[np.concatenate([[True], ea[first][1:] != ea[first][:-1]])]
        token[ea[first]] = 1
        best[ea[first]] = d[first]
        rest = np.ones(len(ea), bool)
        rest[first] = False
        np.minimum.at(second, ea[rest], d[rest])
        ok = first[d[first] <= threshold]
        heap = [
            (float(dd), o, t, 1, 0)
            for dd, o, t in zip(d[ok].tolist(), ea[ok].tolist(), eb[ok].tolist(), strict=True)
        ]
        heapq.heapify(heap)
    while heap:
        d, o, t, tok, vt = heapq.heappop(heap)
        if d > threshold:
            break
        if not cl.alive[o] or token[o] != tok:
            continue  # o has a newer entry
        if not cl.alive[t] or version[t] != vt:
            # The neighbour grew (or was folded into another cluster) since this entry was
            # made. No other neighbour came closer than `d` (that would have replaced this
            # entry), so if the grown neighbour is still no farther, it is still the best.
            t = cl.find(t)
            dn = cl.dist_one(o, t) if t != o else np.inf
            if dn <= d or dn <= second[o]:
                token[o] += 1
                best[o] = dn
                heapq.heappush(heap, (dn, o, t, int(token[o]), int(version[t])))
            else:
                refresh(o)
            continue
        if not cl.can_merge(o, t):
            adj[o].discard(t)  # constraints only grow with a cluster: the edge is gone for good
            adj[t].discard(o)
            bounds.pop(o, None)  # their bounds would still count the edge
            bounds.pop(t, None)
            refresh(o)
            continue
        keep, gone = (o, t) if len(adj.get(o, ())) >= len(adj.get(t, ())) else (t, o)
        cl.merge(keep, gone)
        bounds.pop(gone, None)
        nb_keep = adj.setdefault(keep, set())
        b_keep = bounds.get(keep)
        for m in adj.pop(gone, set()):
            if m != keep:
                s = adj[m]
                s.discard(gone)
                s.add(keep)
                nb_keep.add(m)
                if m in bounds:
                    bounds[m].fresh.append(keep)
                if b_keep is not None:
                    b_keep.fresh.append(m)
        nb_keep.discard(gone)
        nb_keep.discard(keep)
        version[keep] += 1
        others, dists = near(keep, cl.count[gone] / cl.count[keep], tell_neighbours=True)
        push_best(keep, others, dists)
        their_best = best[others]
        better = dists < their_best  # neighbours for which the grown cluster is now closest
        # The bound of each neighbour: the grown cluster's distance, or for those it is now
        # the best of, their old best (a lower bound may always be lowered).
        second[others] = np.minimum(second[others], np.where(better, their_best, dists))
        for m, dm in zip(others[better].tolist(), dists[better].tolist(), strict=True):
            token[m] += 1
            best[m] = dm
            if dm <= threshold:
                heapq.heappush(heap, (dm, m, keep, int(token[m]), int(version[keep])))


BIG_ADJACENCY = 512  # neighbours from which a cluster keeps bounds on its distances to them
MIN_DECAY = 0.97  # bounds shrink as their cluster grows; past this they are made anew
BOUND_SLACK = 1e-4  # float rounding of the distances a bound is compared with


class _Bounds:
    """A big cluster's neighbours, each with a lower bound on the distance to it (exact when
    made). When the cluster takes in a share w of its faces, every distance from it falls by
    at most a factor 1 - w (average linkage: d(A+B, m) = (1 - w) d(A, m) + w d(B, m)), so a
    merge into a person of thousands of faces looks again only at the neighbours that grew,
    that are new, or that the bounds cannot rule out, not at thousands of them."""

    __slots__ = ("decay", "fresh", "ids", "lb", "ver")

    def __init__(self, ids: np.ndarray, lb: np.ndarray, ver: np.ndarray) -> None:
        self.ids, self.lb, self.ver = ids, lb, ver  # ver: each neighbour's version then
        self.decay = 1.0  # the product of the factors since the bounds were exact
        self.fresh: list[int] = []  # neighbours gained since (may repeat or be dead)


def nearest_clusters(
    x: np.ndarray, sums: np.ndarray, counts: np.ndarray, block: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the cluster with the smallest average-linkage distance, and that distance."""
    if len(sums) == 0:
        return np.full(len(x), -1, np.int64), np.full(len(x), np.inf, np.float32)
    idx = np.empty(len(x), np.int64)
    best = np.empty(len(x), np.float32)
    means = (sums / counts[:, None]).astype(np.float32)
    for s in range(0, len(x), block):
        d = 2.0 - 2.0 * (x[s : s + block] @ means.T)
        idx[s : s + block] = d.argmin(1)
        best[s : s + block] = d[np.arange(len(d)), idx[s : s + block]]
    return idx, best


def pairs_in_same_photo(labels: np.ndarray, photo_ids: Sequence[int]) -> int:
    """How many pairs of faces from one photo share a cluster (the constraint should make 0)."""
    seen: dict[tuple[int, int], int] = {}
    total = 0
    for lab, ph in zip(np.asarray(labels).tolist(), list(photo_ids), strict=True):
        if lab == UNSORTED:
            continue
        key = (lab, int(ph))
        total += seen.get(key, 0)
        seen[key] = seen.get(key, 0) + 1
    return total
