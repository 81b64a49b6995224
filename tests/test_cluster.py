"""Clustering: average linkage from sums, the sparse graph, and every constraint."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from photoface.core import cluster
from photoface.core.cluster import ClusterParams, agglomerate
from tests.fakes import people_embeddings


def purity_and_splits(roots: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    """(clusters mixing people, people split over clusters)."""
    mixed = sum(len(set(truth[roots == r])) > 1 for r in np.unique(roots))
    split = sum(len(set(roots[truth == t])) > 1 for t in np.unique(truth))
    return mixed, split


def test_knn_edges_match_brute_force():
    x, _ = people_embeddings(5, 12, seed=3)
    a, b, d = cluster.knn_edges(x, k=6, max_dist=1.5, block=7)
    full = 2 - 2 * x @ x.T
    np.fill_diagonal(full, np.inf)
    expected = set()
    for i in range(len(x)):
        for j in np.argsort(full[i])[:6]:
            if full[i, j] <= 1.5:
                expected.add((min(i, j), max(i, j)))
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == expected
    np.testing.assert_allclose(d, full[a, b], atol=1e-5)


def test_average_linkage_from_sums_equals_the_mean_pairwise_distance():
    x, _ = people_embeddings(2, 7, seed=4)
    A, B = x[:5], x[5:]
    brute = np.mean([np.sum((p - q) ** 2) for p in A for q in B])
    via_sums = 2 - 2 * A.sum(0) @ B.sum(0) / (len(A) * len(B))
    assert via_sums == pytest.approx(brute, abs=1e-5)


def test_separated_people_are_recovered():
    x, truth = people_embeddings(8, 10, spread=0.5, seed=1)
    photos = np.arange(len(x))
    roots = agglomerate(x, photos, ClusterParams(threshold=1.0, min_size=3))
    assert purity_and_splits(roots, truth) == (0, 0)


def test_threshold_stops_merging_distinct_people():
    x, truth = people_embeddings(4, 6, spread=0.3, seed=2)
    roots = agglomerate(x, np.arange(len(x)), ClusterParams(threshold=0.05))
    assert len(np.unique(roots)) > 4  # too strict to even join one person's faces


def test_two_faces_of_one_photo_are_never_one_person():
    x, truth = people_embeddings(3, 8, spread=0.2, seed=5)
    # Every photo holds two faces of the same person: the constraint must win over distance.
    photos = np.arange(len(x)) // 2
    roots = agglomerate(x, photos, ClusterParams(threshold=1.5))
    assert cluster.pairs_in_same_photo(roots, photos) == 0
    assert len(np.unique(roots)) >= 6


def test_user_people_stay_whole_and_apart():
    x, truth = people_embeddings(2, 10, spread=0.2, seed=6)
    tags = np.full(len(x), -1)
    # The user put faces of both true people into person 7, and one of person 0's into 9.
    tags[[0, 1, 10, 11]] = 7
    tags[[2]] = 9
    roots = agglomerate(x, np.arange(len(x)), ClusterParams(threshold=1.5), tags=tags)
    assert len(set(roots[[0, 1, 10, 11]])) == 1
    assert roots[2] != roots[0]


def test_not_this_person_is_kept():
    x, truth = people_embeddings(2, 10, spread=0.2, seed=7)
    tags = np.full(len(x), -1)
    tags[:3] = 4  # the user made person 4 from three of A's faces
    # Loose enough that A and B would become one person without the user's word...
    loose = ClusterParams(threshold=3.0)
    assert len(set(agglomerate(x, np.arange(len(x)), loose, tags=tags).tolist())) == 1
    # ...but two of B's faces are "not person 4", and B's cluster inherits that.
    forbidden = {10: {4}, 11: {4}}
    roots = agglomerate(x, np.arange(len(x)), loose, tags=tags, forbidden=forbidden)
    assert roots[10] != roots[0] and roots[11] != roots[0]
    assert (roots[:10] == roots[0]).all()


def test_a_person_needs_min_size_faces_above_the_floor():
    params = ClusterParams(threshold=1.0, min_size=3, seed_quality=0.5)
    assert params.is_person(np.array([0.9, 0.6, 0.5, 0.1]))
    assert not params.is_person(np.array([0.9, 0.6, 0.4, 0.1, 0.1, 0.1]))
    assert ClusterParams(threshold=1.0, min_size=3).is_person(np.zeros(3))


@pytest.mark.parametrize("grouping", ["recluster", "update"])
def test_only_good_faces_make_up_a_persons_minimum(tmp_path, grouping):
    """One good face with poor (tiny, blurred) faces around it is not a person; three good
    faces are, and the poor faces near them join."""
    from photoface.jobs import recluster, update
    from photoface.library import Library
    from tests.fakes import FakeEmbedder, fill_library

    x, truth = people_embeddings(2, 5, spread=0.2, seed=4)
    q = np.array([0.9, 0.2, 0.2, 0.2, 0.2, 0.9, 0.9, 0.9, 0.2, 0.2], np.float32)
    info = FakeEmbedder().info
    with Library(tmp_path / "lib.sqlite3") as lib:
        ids = np.array(fill_library(lib, x, np.arange(len(x)), quality=q))
        group = recluster if grouping == "recluster" else update
        for floor, people in ((0.0, 2), (0.5, 1)):
            lib.write_clustering(ids, np.zeros(len(ids), np.int64))
            group(lib, info, ClusterParams(threshold=1.0, min_size=3, seed_quality=floor))
            got = np.array([lib.face(int(i)).person_id or 0 for i in ids])
            assert len(set(got[got > 0].tolist())) == people
            assert len(set(got[truth == 1].tolist())) == 1 and got[5] > 0
            assert (got[truth == 0] > 0).all() == (people == 2)


def test_pairs_in_same_photo_counts_brute_force():
    rng = np.random.default_rng(0)
    labels, photos = rng.integers(0, 3, 30), rng.integers(0, 8, 30)
    brute = sum(
        labels[i] == labels[j] and photos[i] == photos[j]
        for i, j in itertools.combinations(range(30), 2)
    )
    assert cluster.pairs_in_same_photo(labels, photos.tolist()) == brute


def test_agglomerate_matches_exact_average_linkage_on_a_small_set():
    """With k covering everything, the result equals textbook average linkage (scipy)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    x, _ = people_embeddings(5, 6, spread=0.9, seed=11)
    t = 1.0
    roots = agglomerate(x, np.arange(len(x)), ClusterParams(threshold=t, k=len(x)))
    z = linkage(pdist(x, "sqeuclidean"), method="average")
    ref = fcluster(z, t, criterion="distance")
    ours = {frozenset(np.nonzero(roots == r)[0]) for r in np.unique(roots)}
    theirs = {frozenset(np.nonzero(ref == r)[0]) for r in np.unique(ref)}
    assert ours == theirs


def test_mutual_rounds_give_what_the_pair_at_a_time_loop_gives(monkeypatch):
    """The vectorised rounds are a shortcut, not a different clustering (no constraints)."""
    from photoface.core import cluster

    x, _ = people_embeddings(60, 25, spread=0.8, seed=5)
    params = ClusterParams(threshold=1.0, min_size=1)
    fast = agglomerate(x, np.arange(len(x)), params)

    monkeypatch.setattr(cluster, "_mutual_rounds", _no_rounds)
    slow = agglomerate(x, np.arange(len(x)), params)
    as_sets = [{frozenset(np.nonzero(r == v)[0]) for v in np.unique(r)} for r in (fast, slow)]
    assert as_sets[0] == as_sets[1]
    assert 20 < len(as_sets[0]) < 300  # a real clustering: neither all apart nor all together


def _no_rounds(cl, a, b, threshold):
    """No vectorised rounds: the pair-at-a-time loop does every merge."""
    return cluster._cluster_edges(cl, a, b, np.zeros(0, np.int64))[:2]


def _constraints(truth: np.ndarray, seed: int):
    """Photos of ~2 faces (many pairs kept apart), pinned people, rows that came from a
    person, and "not this person" rows: (photos, tags, forbidden, origins)."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    photos = rng.integers(0, n // 2, n)
    tags = np.full(n, cluster.NO_TAG, np.int64)
    pinned = rng.choice(n, n // 40, replace=False)
    tags[pinned] = truth[pinned] % 7 + 1000
    origins = np.full(n, cluster.NO_TAG, np.int64)
    came = rng.choice(n, n // 10, replace=False)
    origins[came] = 1000 + rng.integers(0, 7, len(came))
    forbidden = {int(i): {1000 + int(truth[i] + 1) % 7} for i in rng.choice(n, n // 20)}
    return photos, tags, forbidden, origins


def _full_rounds(cl, a, b, threshold, min_share=None, max_rounds=100):
    """The mutual rounds as they were before they went incremental: every round recomputes
    every edge. Kept as the reference the incremental rounds must give face for face."""
    n = len(cl.parent)
    min_share = cluster.MIN_SHARE if min_share is None else min_share
    blocked = np.zeros(0, np.int64)
    for _ in range(max_rounds):
        a, b, blocked = cluster._cluster_edges(cl, a, b, blocked)
        if a.size == 0:
            break
        d = cluster._edge_dists(cl, a, b)
        near = d <= threshold
        src = np.concatenate([a[near], b[near]])
        dst = np.concatenate([b[near], a[near]])
        dd = np.concatenate([d[near], d[near]])
        if src.size == 0:
            break
        best = np.full(n, np.inf, np.float32)
        np.minimum.at(best, src, dd)
        at_best = dd == best[src]
        nn = np.full(n, n, np.int64)
        np.minimum.at(nn, src[at_best], dst[at_best])
        u = np.unique(src)
        v = nn[u]
        pairs = u[(u < v) & (nn[np.minimum(v, n - 1)] == u)]
        merged, newly_blocked = 0, []
        for p in pairs.tolist():
            q = int(nn[p])
            if cl.can_merge(p, q):
                keep, gone = (p, q) if cl.count[p] >= cl.count[q] else (q, p)
                cl.merge(keep, gone)
                merged += 1
            else:
                newly_blocked.append(p * n + q)
        if newly_blocked:
            blocked = np.concatenate([blocked, np.array(newly_blocked, np.int64)])
        if merged + len(newly_blocked) < min_share * int(cl.alive.sum()):
            break
    a, b, _ = cluster._cluster_edges(cl, a, b, blocked)
    return a, b


@pytest.mark.parametrize("exact_limit", [10**9, 500])  # the exact graph, then the IVF search
@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_rounds_give_the_full_rounds_labels_face_for_face(
    monkeypatch, exact_limit, seed
):
    """Recomputing only the edges a round changed is a speed-up, not another clustering:
    with pinned people, "not this person", "not the same person" and several faces a photo,
    the labels equal those of the rounds that recompute everything."""
    monkeypatch.setattr(cluster, "EXACT_LIMIT", exact_limit)
    x, truth = people_embeddings(120, 20, spread=0.9, seed=seed)
    n = len(x)
    photos, tags, forbidden, origins = _constraints(truth, seed)
    args = (x, photos, ClusterParams(threshold=1.0, k=10), tags, forbidden, origins)
    fast = agglomerate(*args)
    monkeypatch.setattr(cluster, "_mutual_rounds", _full_rounds)
    slow = agglomerate(*args)
    np.testing.assert_array_equal(fast, slow)
    assert 60 < len(np.unique(fast)) < n // 2  # a real clustering, not all apart or together
    free = np.where(tags == cluster.NO_TAG, fast, cluster.UNSORTED)  # a tag may join a photo's two
    assert cluster.pairs_in_same_photo(free, photos.tolist()) == 0


def test_top_k_by_block_floor_equals_a_full_partition():
    """Wide candidate sets take the floor-of-block-maxima path: the same pairs as sorting each
    row, with the threshold and a row's own pair left out."""
    rng = np.random.default_rng(4)
    x, _ = people_embeddings(40, 60, spread=0.9, seed=4)
    q = np.arange(0, len(x), 7)
    k, min_sim = 10, 0.3
    assert len(x) >= cluster.BLOCK_COLUMNS * 2 * (k + 1)  # the floor path, not the partition
    ids = rng.permutation(len(x)) + 5000  # candidate ids other than their positions
    ids[q] = q  # each query is among the candidates: its own pair must go
    rows, cols, sims = cluster._top_k(x[q], q, x, ids, k, min_sim)
    sim = x[q] @ x.T
    expected = {}
    for i, row in enumerate(sim):
        for j in np.argsort(-row)[: k + 1]:
            if row[j] >= min_sim and ids[j] != q[i]:
                expected[(int(q[i]), int(ids[j]))] = row[j]
    got = dict(zip(zip(rows.tolist(), cols.tolist(), strict=True), sims.tolist(), strict=True))
    assert got.keys() == expected.keys()
    assert len(expected) > 5 * len(q)  # most rows keep their k pairs
    np.testing.assert_allclose([got[p] for p in expected], list(expected.values()), atol=1e-6)


def test_inverted_file_search_finds_nearly_every_exact_neighbour(monkeypatch):
    """Past EXACT_LIMIT the graph comes from the inverted-file search: on faces of many
    people it keeps nearly all of the exact graph's pairs."""
    x, _ = people_embeddings(300, 20, spread=0.9, seed=8)
    exact = set(zip(*(e.tolist() for e in cluster.knn_edges(x, 10, 1.0)[:2]), strict=True))
    monkeypatch.setattr(cluster, "EXACT_LIMIT", 1000)
    a, b, d = cluster.knn_edges(x, 10, 1.0)
    found = set(zip(a.tolist(), b.tolist(), strict=True))
    assert len(found & exact) >= 0.97 * len(exact)
    np.testing.assert_allclose(d, 2 - 2 * np.einsum("ij,ij->i", x[a], x[b]), atol=1e-5)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bounds_of_big_clusters_change_no_label(monkeypatch, seed):
    """A cluster with many neighbours keeps lower bounds on its distances between merges and
    looks again only where they cannot decide: with every cluster doing so (a tiny
    BIG_ADJACENCY), pins, "not this person", people kept apart and shared photos included,
    the people equal those of computing every distance at every merge (which face is a
    cluster's root may differ: equal distances can surface in another order)."""
    x, truth = people_embeddings(40, 30, spread=1.0, seed=seed)
    n = len(x)
    photos, tags, forbidden, origins = _constraints(truth, seed)
    args = (x, photos, ClusterParams(threshold=1.1, k=12), tags, forbidden, origins)
    # Few merges in the rounds, so the loop (and its bounds) does the work.
    monkeypatch.setattr(cluster, "_mutual_rounds", _no_rounds)
    monkeypatch.setattr(cluster, "BIG_ADJACENCY", 10**9)
    every = agglomerate(*args)
    monkeypatch.setattr(cluster, "BIG_ADJACENCY", 2)
    bounded = agglomerate(*args)
    as_sets = [{frozenset(np.nonzero(r == v)[0]) for v in np.unique(r)} for r in (every, bounded)]
    assert as_sets[0] == as_sets[1]
    assert 20 < len(as_sets[0]) < n // 2


@pytest.mark.parametrize("seed", [3, 4])
def test_where_the_rounds_stop_changes_no_person(monkeypatch, seed):
    """The rounds hand over to the loop at MIN_SHARE, a speed setting only: stopping at once,
    at 2% or after every round gives the same people, constraints and all."""
    x, truth = people_embeddings(120, 20, spread=0.9, seed=seed)
    photos, tags, forbidden, origins = _constraints(truth, seed)
    args = (x, photos, ClusterParams(threshold=1.0, k=10), tags, forbidden, origins)
    found = []
    for share in (1.0, 0.02, 0.0):
        monkeypatch.setattr(cluster, "MIN_SHARE", share)
        labels = agglomerate(*args)
        found.append({frozenset(np.nonzero(labels == v)[0]) for v in np.unique(labels)})
    assert found[0] == found[1] == found[2]
    assert 60 < len(found[0]) < len(x) // 2
