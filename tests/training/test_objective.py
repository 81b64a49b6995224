"""The training objective: its stats, its gradients, and the miners' reference set giving what
concatenating old and new vectors (and offsetting indices) gave before."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from training import triplet  # noqa: E402
from training.losses import CosFace  # noqa: E402
from training.objective import Objective  # noqa: E402

N, DIM = 12, 128


def unit(n: int, d: int = DIM, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)


def arrays(seed: int) -> np.ndarray:
    return unit(3 * N, seed=seed).numpy()  # per training face; a batch takes rows `idx`


IDX = np.array([0, 2, 3, 5, 7, 8, 11, 13, 20, 21, 30, 33])
LABELS = torch.arange(N) % 3


def full() -> Objective:
    torch.manual_seed(0)
    raw = arrays(1) + 3.0
    return Objective(
        teacher=arrays(2),
        raw_teacher=raw,
        teacher_scale=0.5,
        distill=1.0,
        head=CosFace(3),
        cosface=0.1,
        old=arrays(3),
        harmonic_cross=0.5,
    )


@pytest.mark.parametrize(
    "objective,keys",
    [
        (Objective(), set()),
        (Objective(teacher=arrays(2), raw_teacher=arrays(1), distill=1.0), {"distill"}),
        (Objective(teacher=arrays(2), raw_teacher=arrays(1), distill=0.0), set()),
        (Objective(head=CosFace(3), cosface=0.1), {"cosface", "cls_acc"}),
        (Objective(old=arrays(3)), set()),
        (Objective(old=arrays(3), harmonic_cross=0.5), {"cross"}),
    ],
)
def test_stats_name_each_term_that_is_on(objective, keys):
    _, stats = objective.loss(unit(N), IDX, LABELS)
    assert set(stats) == {"active", "d_ap", "d_an", "triplets", "loss"} | keys
    assert all(isinstance(v, (int, float)) for v in stats.values())


@pytest.mark.parametrize("target", ["centred", "distance", "both"])
@pytest.mark.parametrize("miner", ["semihard", "batchhard", "batchall"])
def test_every_term_sends_gradient_to_the_network_and_the_head(target, miner):
    obj = full()
    obj.teacher_target, obj.miner, obj.old = target, miner, None
    x = unit(N, seed=9).requires_grad_(True)
    loss, stats = obj.loss(torch.nn.functional.normalize(x, dim=1), IDX, LABELS)
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert obj.head.weight.grad is not None and obj.head.weight.grad.abs().sum() > 0
    assert stats["loss"] == pytest.approx(float(loss.detach()))


def test_the_loss_is_the_weighted_sum_of_its_terms():
    from training.losses import centred_distill

    obj = full()
    emb = unit(N, seed=4)
    loss, st = obj.loss(emb, IDX, LABELS)
    cen = torch.from_numpy(obj.teacher[IDX])
    cos, _ = obj.head(emb, LABELS)
    harmonic, _ = obj.harmonic(emb, torch.from_numpy(obj.old[IDX]), LABELS)
    want = harmonic + centred_distill(emb, cen, obj.distill_pairs) + 0.1 * cos
    assert float(loss.detach()) == pytest.approx(float(want.detach()), rel=1e-6)
    assert st["distill"] > 0 and st["cross"] > 0 and st["cosface"] > 0


def old_harmonic_triplets(emb, old, labels, margin):
    """What training did before the miners took a reference set: mine over [new; old] and keep
    the new anchors (the concatenate-and-offset way, kept here to compare with)."""
    both = torch.cat([emb, old.detach()])
    a, p, n = triplet.semihard_triplets(both, torch.cat([labels, labels]), margin)
    keep = a < len(emb)
    return both, a[keep], p[keep], n[keep]


def old_cross_triplets(emb, old, labels):
    both = torch.cat([emb, old.detach()])
    k = len(emb)
    d = triplet.sq_dists(both.detach())[:k, k:]
    same = labels[:, None] == labels[None, :]
    a, p = torch.nonzero(same, as_tuple=True)
    n, keep = triplet.semihard_negatives(d[a, p], d[a], ~same[a])
    return both, a[keep], p[keep] + k, n[keep] + k


@pytest.mark.parametrize("seed", range(3))
def test_a_reference_set_mines_what_concatenating_and_offsetting_did(seed):
    new, old = unit(N, d=16, seed=10 + seed), unit(N, d=16, seed=20 + seed)
    labels = torch.arange(N) % 3
    # harmonic: positives and negatives from both models, the anchor not its own positive
    both, a0, p0, n0 = old_harmonic_triplets(new, old, labels, 0.2)
    ref, ref_labels = torch.cat([new, old]), torch.cat([labels, labels])
    a, p, n = triplet.semihard_triplets(new, labels, 0.2, ref, ref_labels, own=True)
    assert torch.equal(a, a0) and torch.equal(p, p0) and torch.equal(n, n0)
    assert (p >= N).any() and (n >= N).any() and (p < N).any()
    before, _ = triplet.triplet_loss(both, a0, p0, n0, 0.2)
    after, _ = triplet.triplet_loss(new, a, p, n, 0.2, ref)
    assert float(after) == pytest.approx(float(before), abs=1e-6)
    # mixed pairs: positives and negatives among the old vectors only (its own old one too)
    both, a0, p0, n0 = old_cross_triplets(new, old, labels)
    a, p, n = triplet.semihard_triplets(new, labels, 0.2, old, labels)
    assert torch.equal(a, a0) and torch.equal(p + N, p0) and torch.equal(n + N, n0)
    assert len(a) == N * 4  # every new vector with each of the 4 old ones of its person
    before, _ = triplet.triplet_loss(both, a0, p0, n0, 0.2)
    after, _ = triplet.triplet_loss(new, a, p, n, 0.2, old)
    assert float(after) == pytest.approx(float(before), abs=1e-6)


def test_harmonic_terms_move_only_the_new_model():
    obj = Objective(old=arrays(3), harmonic_cross=0.5)
    x = unit(N, seed=6).requires_grad_(True)
    old = torch.from_numpy(obj.old[IDX]).requires_grad_(True)
    loss, _ = obj.harmonic(x, old, LABELS)
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert old.grad is None


def test_batch_hard_and_batch_all_take_a_reference_set_too():
    new, old = unit(N, d=16, seed=30), unit(N, d=16, seed=31)
    labels = torch.arange(N) % 3
    d = ((new[:, None] - old[None]) ** 2).sum(-1)
    a, p, n = triplet.batch_hard_triplets(new, labels, old, labels)
    assert torch.equal(a, torch.arange(N))
    for i, j, k in zip(a.tolist(), p.tolist(), n.tolist(), strict=True):
        pos = [m for m in range(N) if labels[m] == labels[i]]  # its own old vector included
        neg = [m for m in range(N) if labels[m] != labels[i]]
        assert d[i, j] == max(d[i, m] for m in pos) and d[i, k] == min(d[i, m] for m in neg)
    a, p, n = triplet.batch_all_triplets(new, labels, 0.2, old, labels)
    want = {
        (i, j, k)
        for i in range(N)
        for j in range(N)
        for k in range(N)
        if labels[i] == labels[j] != labels[k] and d[i, j] - d[i, k] + 0.2 > 0
    }
    assert set(zip(a.tolist(), p.tolist(), n.tolist(), strict=True)) == want


def test_the_gradient_is_exactly_what_the_loop_composed_before():
    """Bit for bit, so that a run resumed with this code trains on as it would have."""
    from training.losses import distance_distill

    obj = full()
    obj.teacher_target = "distance"
    x = unit(N, seed=12)
    x1, x2 = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    loss, _ = obj.loss(torch.nn.functional.normalize(x1, dim=1), IDX, LABELS)
    loss.backward()
    emb = torch.nn.functional.normalize(x2, dim=1)  # the loop before objective.py:
    old = torch.from_numpy(obj.old[IDX])
    both, a, p, n = old_harmonic_triplets(emb, old, LABELS, 0.2)
    before, _ = triplet.triplet_loss(both, a, p, n, 0.2)
    both, a, p, n = old_cross_triplets(emb, old, LABELS)
    cross, _ = triplet.triplet_loss(both, a, p, n, 0.2)
    before = before + 0.5 * cross
    raw = torch.from_numpy(obj.raw_teacher[IDX])
    before = before + 1.0 * distance_distill(emb, raw, obj.teacher_scale)
    cos, _ = obj.head(emb, LABELS)
    before = before + 0.1 * cos
    before.backward()
    assert torch.equal(loss.detach(), before.detach()) and torch.equal(x1.grad, x2.grad)
