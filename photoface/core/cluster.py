"""Constrained average-linkage clustering of unit embeddings on a sparse neighbour graph.

For unit vectors the mean squared L2 distance between two sets is exact from their sums:
mean ||a - b||^2 = 2 - 2 (S_A . S_B) / (|A| |B|). So a cluster is a sum vector and a count, and
average linkage costs one dot product per candidate pair. Candidate pairs come from a k-nearest
neighbour graph, built block by block: no n x n matrix is ever held.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

UNSORTED = -1


@dataclass(frozen=True)
class ClusterParams:
    threshold: float  # average-linkage squared-L2 distance up to which clusters merge
    min_size: int = 3  # smaller clusters stay unsorted
    k: int = 20  # neighbours per face in the candidate graph
    seed_quality: float = 0.0  # faces below it join clusters but never start one


def knn_edges(
    x: np.ndarray, k: int, max_dist: float, block: int = 512
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) among each row's k nearest rows with squared L2 <= max_dist."""
    n = len(x)
    k = min(k, n - 1)
    if k <= 0:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0, np.float32)
    x = np.ascontiguousarray(x, dtype=np.float32)
    min_sim = 1.0 - max_dist / 2.0
    rows, cols, sims = [], [], []
    for s in range(0, n, block):
        idx = np.arange(s, min(s + block, n))
        sim = x[idx] @ x.T
        sim[np.arange(len(idx)), idx] = -np.inf
        part = np.argpartition(sim, n - k, axis=1)[:, n - k :]
        psim = np.take_along_axis(sim, part, axis=1)
        keep = psim >= min_sim
        rows.append(np.broadcast_to(idx[:, None], part.shape)[keep])
        cols.append(part[keep])
        sims.append(psim[keep])
    r, c, sv = np.concatenate(rows), np.concatenate(cols), np.concatenate(sims)
    a, b = np.minimum(r, c), np.maximum(r, c)
    key = a * n + b
    _, first = np.unique(key, return_index=True)
    return a[first], b[first], (2.0 - 2.0 * sv[first]).astype(np.float32)


class _Clusters:
    """Union of faces with the sums, photo sets and constraints average linkage needs."""

    def __init__(self, x: np.ndarray, photo_ids: np.ndarray, tags: np.ndarray,
                 forbidden: dict[int, set[int]], seeds: np.ndarray) -> None:  # fmt: skip
        n = len(x)
        self.parent = np.arange(n)
        self.sum = x.astype(np.float64)
        self.count = np.ones(n, np.int64)
        self.photos: list[set[int]] = [{int(p)} for p in photo_ids]
        self.tag = tags.astype(np.int64).copy()
        self.forbidden: list[set[int]] = [set(forbidden.get(i, ())) for i in range(n)]
        self.seed = seeds.astype(bool).copy()
        self.alive = np.ones(n, bool)

    def can_merge(self, a: int, b: int) -> bool:
        ta, tb = self.tag[a], self.tag[b]
        if ta >= 0 and tb >= 0 and ta != tb:
            return False  # two people the user made are merged by the user alone
        if ta >= 0 and ta in self.forbidden[b] or tb >= 0 and tb in self.forbidden[a]:
            return False  # "not this person"
        if not (self.seed[a] or self.seed[b]):
            return False  # low-quality faces never start a cluster on their own
        small, big = sorted((self.photos[a], self.photos[b]), key=len)
        return small.isdisjoint(big)  # two faces of one photo are two people

    def merge(self, a: int, b: int) -> int:
        if self.count[a] < self.count[b]:
            a, b = b, a
        self.parent[b] = a
        self.alive[b] = False
        self.sum[a] += self.sum[b]
        self.count[a] += self.count[b]
        if len(self.photos[a]) < len(self.photos[b]):
            self.photos[a], self.photos[b] = self.photos[b], self.photos[a]
        self.photos[a] |= self.photos[b]
        self.forbidden[a] |= self.forbidden[b]
        self.tag[a] = self.tag[a] if self.tag[a] >= 0 else self.tag[b]
        self.seed[a] |= self.seed[b]
        self.photos[b] = set()
        self.forbidden[b] = set()
        return a

    def dist(self, a: int, others: np.ndarray) -> np.ndarray:
        dots = self.sum[others] @ self.sum[a]
        return 2.0 - 2.0 * dots / (self.count[others] * self.count[a])

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def labels(self) -> np.ndarray:
        return np.array([self.find(i) for i in range(len(self.parent))], np.int64)


def agglomerate(
    x: np.ndarray,
    photo_ids: np.ndarray,
    params: ClusterParams,
    tags: np.ndarray | None = None,
    forbidden: dict[int, set[int]] | None = None,
    quality: np.ndarray | None = None,
) -> np.ndarray:
    """Cluster unit rows of `x`; returns a root index per row (rows sharing it are one cluster).

    `tags[i] >= 0` pins row i to a user-made person: rows with one tag start as one cluster and
    clusters with different tags never merge. `forbidden[i]` is the set of tags row i must never
    join ("not this person"). Rows from one photo never end up together unless their tag says so.
    """
    n = len(x)
    x = np.asarray(x, dtype=np.float32)
    tags = np.full(n, -1, np.int64) if tags is None else np.asarray(tags, np.int64)
    quality = np.ones(n, np.float32) if quality is None else np.asarray(quality, np.float32)
    seeds = (quality >= params.seed_quality) | (tags >= 0)
    cl = _Clusters(x, np.asarray(photo_ids), tags, forbidden or {}, seeds)
    if n == 0:
        return np.zeros(0, np.int64)
    for tag in np.unique(tags[tags >= 0]):  # what the user put together stays together
        members = np.nonzero(tags == tag)[0]
        root = int(members[0])
        for m in members[1:]:
            root = cl.merge(root, int(m)) if cl.find(int(m)) != root else root
    adj: dict[int, set[int]] = {}
    ea, eb, _ = knn_edges(x, params.k, params.threshold)
    for a, b in zip(ea.tolist(), eb.tolist(), strict=True):
        ra, rb = cl.find(a), cl.find(b)
        if ra != rb:
            adj.setdefault(ra, set()).add(rb)
            adj.setdefault(rb, set()).add(ra)
    version = np.zeros(n, np.int64)
    heap: list[tuple[float, int, int, int, int]] = []
    for a, nbrs in adj.items():
        others = np.fromiter((b for b in nbrs if b > a), np.int64)
        if others.size:
            for b, d in zip(others.tolist(), cl.dist(a, others).tolist(), strict=True):
                if d <= params.threshold:
                    heap.append((d, a, b, 0, 0))
    heapq.heapify(heap)
    while heap:
        d, a, b, va, vb = heapq.heappop(heap)
        if d > params.threshold:
            break
        if not (cl.alive[a] and cl.alive[b]) or version[a] != va or version[b] != vb:
            continue  # stale: one side has changed since this pair was scored
        if not cl.can_merge(a, b):
            continue  # constraints only grow with a cluster, so this pair stays apart
        root = cl.merge(a, b)
        gone = b if root == a else a
        nbrs = (adj.pop(a, set()) | adj.pop(b, set())) - {a, b}
        for o in nbrs:
            s = adj[o]
            s.discard(gone)
            s.add(root)
        adj[root] = nbrs
        version[root] += 1
        if nbrs:
            others = np.fromiter(nbrs, np.int64)
            for o, dd in zip(others.tolist(), cl.dist(root, others).tolist(), strict=True):
                if dd <= params.threshold:
                    heapq.heappush(heap, (dd, root, o, int(version[root]), int(version[o])))
    return cl.labels()


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


def relabel_by_size(roots: np.ndarray, min_size: int) -> np.ndarray:
    """Roots to 0..m-1 by falling cluster size; clusters under `min_size` become UNSORTED."""
    uniq, inverse, counts = np.unique(roots, return_inverse=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    rank = np.empty(len(uniq), np.int64)
    rank[order] = np.arange(len(uniq))
    out = rank[inverse]
    out[counts[inverse] < min_size] = UNSORTED
    return out


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
