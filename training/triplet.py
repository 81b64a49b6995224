"""FaceNet's triplet loss and online mining, as pure functions on a batch (index tensors out).

Distances are squared L2, as in the paper. A triplet (a, p, n) has labels[a] == labels[p] !=
labels[n]. Semi-hard: d(a,p) < d(a,n) < d(a,p) + margin; we take every anchor-positive pair with
the closest negative farther than the positive, or, when no negative is farther, the farthest
negative (TensorFlow's `triplet_semihard_loss` rule).

Every miner takes an optional reference set: the vectors positives and negatives come from
(another model's vectors of the same faces, for harmonic training). Anchors index `emb`; `p` and
`n` index `ref`. Without one the batch is its own reference and an anchor is never its own
positive; `own=True` says the same of a reference whose first rows are the batch itself.
"""

from __future__ import annotations

import torch

Triplets = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def sq_dists(emb: torch.Tensor, ref: torch.Tensor | None = None) -> torch.Tensor:
    """Squared L2 distances, rows of `emb` x rows of `ref` (default: `emb` itself)."""
    sq = (emb * emb).sum(1)
    if ref is None:  # one norm node: the gradient of a loss on these sums as it always did
        ref, sq_ref = emb, sq
    else:
        sq_ref = (ref * ref).sum(1)
    return (sq[:, None] + sq_ref[None, :] - 2.0 * emb @ ref.T).clamp_min(0.0)


def candidates(
    emb: torch.Tensor,
    labels: torch.Tensor,
    ref: torch.Tensor | None = None,
    ref_labels: torch.Tensor | None = None,
    own: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Distances anchor x reference (no gradient) and the masks of positives and negatives."""
    if ref is None:
        d = sq_dists(emb.detach())
        ref, ref_labels, own = emb, labels, True
    elif ref_labels is None:
        raise ValueError("a reference set needs its labels")
    else:
        d = sq_dists(emb.detach(), ref.detach())
    same = labels[:, None] == ref_labels[None, :]
    pos = same.clone()
    if own:  # the anchor's own vector is no positive
        k = len(emb)
        pos[:, :k] &= ~torch.eye(k, dtype=torch.bool, device=emb.device)
    return d, pos, ~same


def semihard_triplets(
    emb: torch.Tensor,
    labels: torch.Tensor,
    margin: float,
    ref: torch.Tensor | None = None,
    ref_labels: torch.Tensor | None = None,
    own: bool = False,
) -> Triplets:
    """All anchor-positive pairs, each with its semi-hard negative. `margin` is kept for the
    signature's sake: the rule picks the closest farther negative whatever the margin."""
    del margin
    d, pos, neg = candidates(emb, labels, ref, ref_labels, own)
    a, p = torch.nonzero(pos, as_tuple=True)
    if a.numel() == 0:
        e = torch.zeros(0, dtype=torch.long, device=emb.device)
        return e, e, e
    n, keep = semihard_negatives(d[a, p], d[a], neg[a])
    return a[keep], p[keep], n[keep]


def semihard_negatives(
    d_ap: torch.Tensor, d_an: torch.Tensor, neg: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """For each anchor-positive row: the column of the closest negative farther than the
    positive (else the farthest negative), and whether the row has a negative at all."""
    outside = neg & (d_an > d_ap[:, None])
    n_out = torch.where(outside, d_an, torch.full_like(d_an, float("inf"))).argmin(1)
    n_in = torch.where(neg, d_an, torch.full_like(d_an, -float("inf"))).argmax(1)
    return torch.where(outside.any(1), n_out, n_in), neg.any(1)


def batch_hard_triplets(
    emb: torch.Tensor,
    labels: torch.Tensor,
    ref: torch.Tensor | None = None,
    ref_labels: torch.Tensor | None = None,
    own: bool = False,
) -> Triplets:
    """Each anchor with its farthest positive and closest negative (Hermans et al.)."""
    d, pos, neg = candidates(emb, labels, ref, ref_labels, own)
    ok = pos.any(1) & neg.any(1)
    a = torch.nonzero(ok, as_tuple=True)[0]
    p = torch.where(pos, d, torch.full_like(d, -1.0)).argmax(1)[a]
    n = torch.where(neg, d, torch.full_like(d, float("inf"))).argmin(1)[a]
    return a, p, n


def batch_all_triplets(
    emb: torch.Tensor,
    labels: torch.Tensor,
    margin: float,
    ref: torch.Tensor | None = None,
    ref_labels: torch.Tensor | None = None,
    own: bool = False,
) -> Triplets:
    """Every valid triplet that still violates the margin."""
    d, pos, neg = candidates(emb, labels, ref, ref_labels, own)
    a, p = torch.nonzero(pos, as_tuple=True)
    viol = neg[a] & (d[a, p][:, None] - d[a] + margin > 0)
    t, n = torch.nonzero(viol, as_tuple=True)
    return a[t], p[t], n


def triplet_loss(
    emb: torch.Tensor,
    a: torch.Tensor,
    p: torch.Tensor,
    n: torch.Tensor,
    margin: float,
    ref: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean hinge over the triplets (anchors in `emb`, the rest in `ref`, default `emb`), and
    stats: active fraction, mean d(a,p), d(a,n)."""
    if a.numel() == 0:
        zero = emb.sum() * 0.0
        return zero, {"active": 0.0, "d_ap": 0.0, "d_an": 0.0, "triplets": 0}
    ref = emb if ref is None else ref
    d_ap = ((emb[a] - ref[p]) ** 2).sum(1)
    d_an = ((emb[a] - ref[n]) ** 2).sum(1)
    hinge = torch.relu(d_ap - d_an + margin)
    stats = {
        "active": float((hinge > 0).float().mean()),
        "d_ap": float(d_ap.detach().mean()),
        "d_an": float(d_an.detach().mean()),
        "triplets": int(a.numel()),
    }
    return hinge.mean(), stats


def collapsed(emb: torch.Tensor, eps: float = 1e-3) -> bool:
    """All embeddings (nearly) alike: the failure the paper warns of with hard negatives."""
    return bool(sq_dists(emb.detach()).mean() < eps)
