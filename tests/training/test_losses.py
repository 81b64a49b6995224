"""The loss terms beside the triplet loss: teacher targets, CosFace, harmonic mining (the
miners with an older model's vectors as their reference set)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from training import losses, triplet  # noqa: E402


def unit(n: int, d: int = 8, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(n, d, generator=g), dim=1)


def test_distance_distill_is_zero_on_the_teachers_own_geometry_and_grows_off_it():
    raw = 0.3 * torch.randn(16, 8, generator=torch.Generator().manual_seed(1)) + 2.0
    scale = 0.25
    emb = torch.sqrt(torch.tensor(scale)) * raw  # squared distances exactly scale * teacher's
    assert float(losses.distance_distill(emb, raw, scale)) == pytest.approx(0.0, abs=1e-6)
    assert float(losses.distance_distill(unit(16), raw, scale)) > 0.01


def test_teacher_scale_puts_random_pairs_at_two():
    raw = 5.0 * torch.randn(500, 16, generator=torch.Generator().manual_seed(2))
    s = losses.teacher_scale(raw)
    i, j = torch.arange(0, 250), torch.arange(250, 500)
    assert float((s * ((raw[i] - raw[j]) ** 2).sum(1)).mean()) == pytest.approx(2.0, rel=0.1)


def test_cosface_learns_separable_classes():
    torch.manual_seed(0)
    head = losses.CosFace(4, dim=8)
    emb = unit(40, seed=3)
    labels = torch.arange(40) % 4
    emb = torch.nn.functional.normalize(emb + 2 * torch.eye(8)[labels], dim=1)
    opt = torch.optim.SGD(head.parameters(), lr=0.5)
    first, _ = head(emb, labels)
    for _ in range(50):
        loss, acc = head(emb, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * float(first.detach()) and acc == 1.0


def harmonic(new, old, labels):
    """The harmonic triplets as training mines them: anchors new, the rest from both models."""
    ref, ref_labels = torch.cat([new, old.detach()]), torch.cat([labels, labels])
    return ref, *triplet.semihard_triplets(new, labels, 0.2, ref, ref_labels, own=True)


def test_harmonic_triplets_anchor_on_new_and_mine_over_both():
    new, old = unit(12, seed=4), unit(12, seed=5)
    labels = torch.arange(12) % 3
    both, a, p, n = harmonic(new, old, labels)
    assert (a < 12).all() and len(a) > 0
    assert (p >= 12).any() and (n >= 12).any()  # old vectors serve as positives and negatives
    assert not (p == a).any()  # an anchor is never its own positive
    lab2 = torch.cat([labels, labels])
    assert (labels[a] == lab2[p]).all() and (labels[a] != lab2[n]).all()
    # exactly the semi-hard choice over the union, restricted to new anchors
    ea, ep, en = triplet.semihard_triplets(both, lab2, 0.2)
    keep = ea < 12
    assert torch.equal(a, ea[keep]) and torch.equal(p, ep[keep]) and torch.equal(n, en[keep])


def test_harmonic_loss_moves_only_the_new_model():
    new = unit(12, seed=6).requires_grad_(True)
    old = unit(12, seed=7).requires_grad_(True)
    both, a, p, n = harmonic(new, old, torch.arange(12) % 3)
    loss, _ = triplet.triplet_loss(new, a, p, n, 0.2, both)
    loss.backward()
    assert new.grad is not None and new.grad.abs().sum() > 0
    assert old.grad is None


def test_lr_schedule_spans_the_steps_or_the_time_budget():
    from training.train import TrainConfig, lr_at

    by_steps = TrainConfig(steps=1000, warmup=100, lr=1.0)
    assert lr_at(0, by_steps) == pytest.approx(0.01)  # warm-up
    assert lr_at(100, by_steps) == pytest.approx(1.0)
    assert lr_at(550, by_steps) == pytest.approx(0.51, abs=0.01)  # half way down the cosine
    assert lr_at(1000, by_steps) == pytest.approx(0.02)
    by_time = TrainConfig(steps=10**6, minutes=60.0, warmup=100, lr=1.0)
    assert lr_at(5000, by_time, minutes=30.0) == pytest.approx(0.51, abs=0.01)
    assert lr_at(5000, by_time, minutes=60.0) == pytest.approx(0.02)
    assert lr_at(5000, by_time, minutes=0.0) == pytest.approx(1.0)


def test_cross_triplets_are_the_semihard_choice_among_mixed_pairs_only():
    new, old = unit(12, seed=8), unit(12, seed=9)
    labels = torch.arange(12) % 3
    a, p, n = triplet.semihard_triplets(new, labels, 0.2, old, labels)  # old: the reference
    assert len(a) == 12 * 4  # every new vector with each of the 4 old ones of its person
    d = ((new[:, None] - old[None]) ** 2).sum(-1)
    for i, j, k in zip(a.tolist(), p.tolist(), n.tolist(), strict=True):
        assert labels[i] == labels[j] and labels[i] != labels[k]
        negs = [m for m in range(12) if labels[m] != labels[i]]
        farther = [m for m in negs if d[i, m] > d[i, j]]
        want = min(farther, key=lambda m: d[i, m]) if farther else max(negs, key=lambda m: d[i, m])
        assert k == want


def test_cross_loss_pulls_new_vectors_onto_the_old_ones_of_their_person():
    old = unit(12, seed=10)
    labels = torch.arange(12) % 3
    new = unit(12, seed=11).requires_grad_(True)
    opt = torch.optim.SGD([new], lr=0.5)
    first = None
    for _ in range(100):
        emb = torch.nn.functional.normalize(new, dim=1)
        a, p, n = triplet.semihard_triplets(emb, labels, 0.2, old, labels)
        loss, _ = triplet.triplet_loss(emb, a, p, n, 0.2, old)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first
