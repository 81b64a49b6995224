"""Miners and loss against brute-force loops over every triple."""

from __future__ import annotations

import functools
import itertools

import pytest

torch = pytest.importorskip("torch")

from training import triplet  # noqa: E402


def batch(seed: int = 0, n: int = 24, people: int = 5):
    g = torch.Generator().manual_seed(seed)
    emb = torch.nn.functional.normalize(torch.randn(n, 8, generator=g), dim=1)
    labels = torch.randint(0, people, (n,), generator=g)
    return emb, labels


def d(emb, i, j) -> float:
    return float(((emb[i] - emb[j]) ** 2).sum())


@pytest.mark.parametrize("seed", range(4))
def test_semihard_matches_a_brute_force_loop(seed):
    emb, labels = batch(seed)
    a, p, n = triplet.semihard_triplets(emb, labels, 0.2)
    got = {(int(x), int(y)): int(z) for x, y, z in zip(a, p, n, strict=True)}
    n_all = len(labels)
    for i, j in itertools.permutations(range(n_all), 2):
        if labels[i] != labels[j]:
            continue
        negs = [k for k in range(n_all) if labels[k] != labels[i]]
        if not negs:
            assert (i, j) not in got
            continue
        farther = [k for k in negs if d(emb, i, k) > d(emb, i, j)]
        # the closest negative farther than the positive, else the farthest negative
        dist = functools.partial(d, emb, i)
        want = min(farther, key=dist) if farther else max(negs, key=dist)
        assert d(emb, i, got[(i, j)]) == pytest.approx(d(emb, i, want), abs=1e-5)


def test_batch_hard_matches_a_brute_force_loop():
    emb, labels = batch(7)
    a, p, n = triplet.batch_hard_triplets(emb, labels)
    for x, y, z in zip(a.tolist(), p.tolist(), n.tolist(), strict=True):
        pos = [k for k in range(len(labels)) if labels[k] == labels[x] and k != x]
        neg = [k for k in range(len(labels)) if labels[k] != labels[x]]
        assert d(emb, x, y) == pytest.approx(max(d(emb, x, k) for k in pos), abs=1e-5)
        assert d(emb, x, z) == pytest.approx(min(d(emb, x, k) for k in neg), abs=1e-5)


def test_batch_all_finds_every_violating_triple():
    emb, labels = batch(3)
    a, p, n = triplet.batch_all_triplets(emb, labels, 0.2)
    got = set(zip(a.tolist(), p.tolist(), n.tolist(), strict=True))

    def violates(i, j, k):
        valid = labels[i] == labels[j] and labels[k] != labels[i]
        return valid and d(emb, i, j) - d(emb, i, k) + 0.2 > 1e-6

    triples = itertools.permutations(range(len(labels)), 3)
    want = {(i, j, k) for i, j, k in triples if violates(i, j, k)}
    assert want <= got and all(d(emb, i, j) - d(emb, i, k) + 0.2 > -1e-5 for i, j, k in got)


def test_loss_is_the_mean_hinge_and_reports_stats():
    emb, labels = batch(5)
    a, p, n = triplet.semihard_triplets(emb, labels, 0.2)
    loss, st = triplet.triplet_loss(emb, a, p, n, 0.2)
    trips = zip(a.tolist(), p.tolist(), n.tolist(), strict=True)
    brute = sum(max(0.0, d(emb, x, y) - d(emb, x, z) + 0.2) for x, y, z in trips) / len(a)
    assert float(loss) == pytest.approx(brute, abs=1e-5)
    assert 0 <= st["active"] <= 1 and st["triplets"] == len(a)


def test_collapse_is_detected():
    same = torch.nn.functional.normalize(torch.ones(10, 8), dim=1)
    assert triplet.collapsed(same)
    assert not triplet.collapsed(batch(1)[0])


def test_distances_to_a_reference_set_and_their_gradient():
    emb, _ = batch(8)
    ref, _ = batch(9, n=10)
    want = torch.tensor([[d_two(e, r) for r in ref] for e in emb])
    assert torch.allclose(triplet.sq_dists(emb, ref), want, atol=1e-5)
    # a batch against itself: one norm per row, so a loss on the distances (distillation)
    # gets exactly the gradient the single-norm formula gives, as training always had
    w = torch.rand(len(emb), len(emb), generator=torch.Generator().manual_seed(1))
    x1, x2 = emb.clone().requires_grad_(True), emb.clone().requires_grad_(True)
    (w * triplet.sq_dists(x1)).sum().backward()
    sq = (x2 * x2).sum(1)
    (w * (sq[:, None] + sq[None, :] - 2.0 * x2 @ x2.T).clamp_min(0.0)).sum().backward()
    assert torch.equal(x1.grad, x2.grad)


def d_two(x, y) -> float:
    return float(((x - y) ** 2).sum())
