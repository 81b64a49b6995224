"""FaceNet's triplet loss and online mining, as pure functions on a batch (index tensors out).

Distances are squared L2, as in the paper. A triplet (a, p, n) has labels[a] == labels[p] !=
labels[n]. Semi-hard: d(a,p) < d(a,n) < d(a,p) + margin; we take every anchor-positive pair with
the closest negative farther than the positive, or, when no negative is farther, the farthest
negative (TensorFlow's `triplet_semihard_loss` rule).
"""

from __future__ import annotations

import torch


def sq_dists(emb: torch.Tensor) -> torch.Tensor:
    sq = (emb * emb).sum(1)
    return (sq[:, None] + sq[None, :] - 2.0 * emb @ emb.T).clamp_min(0.0)


def _pairs(labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    a, p = torch.nonzero(same & ~eye, as_tuple=True)
    return a, p, same


def semihard_triplets(emb: torch.Tensor, labels: torch.Tensor, margin: float
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """All anchor-positive pairs, each with its semi-hard negative. `margin` is kept for the
    signature's sake: the rule picks the closest farther negative whatever the margin."""
    del margin
    d = sq_dists(emb.detach())
    a, p, same = _pairs(labels)
    if a.numel() == 0:
        e = torch.zeros(0, dtype=torch.long, device=emb.device)
        return e, e, e
    n, keep = semihard_negatives(d[a, p], d[a], ~same[a])
    return a[keep], p[keep], n[keep]


def semihard_negatives(d_ap: torch.Tensor, d_an: torch.Tensor, neg: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """For each anchor-positive row: the column of the closest negative farther than the
    positive (else the farthest negative), and whether the row has a negative at all."""
    outside = neg & (d_an > d_ap[:, None])
    n_out = torch.where(outside, d_an, torch.full_like(d_an, float("inf"))).argmin(1)
    n_in = torch.where(neg, d_an, torch.full_like(d_an, -float("inf"))).argmax(1)
    return torch.where(outside.any(1), n_out, n_in), neg.any(1)


def batch_hard_triplets(emb: torch.Tensor, labels: torch.Tensor
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """Each anchor with its farthest positive and closest negative (Hermans et al.)."""
    d = sq_dists(emb.detach())
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
    pos = same & ~eye
    neg = ~same
    ok = pos.any(1) & neg.any(1)
    a = torch.nonzero(ok, as_tuple=True)[0]
    p = torch.where(pos, d, torch.full_like(d, -1.0)).argmax(1)[a]
    n = torch.where(neg, d, torch.full_like(d, float("inf"))).argmin(1)[a]
    return a, p, n


def batch_all_triplets(emb: torch.Tensor, labels: torch.Tensor, margin: float
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:  # fmt: skip
    """Every valid triplet that still violates the margin."""
    d = sq_dists(emb.detach())
    a, p, same = _pairs(labels)
    viol = (~same[a]) & (d[a, p][:, None] - d[a] + margin > 0)
    t, n = torch.nonzero(viol, as_tuple=True)
    return a[t], p[t], n


def triplet_loss(emb: torch.Tensor, a: torch.Tensor, p: torch.Tensor, n: torch.Tensor,
                 margin: float) -> tuple[torch.Tensor, dict[str, float]]:  # fmt: skip
    """Mean hinge over the triplets, and stats: active fraction, mean d(a,p), d(a,n)."""
    if a.numel() == 0:
        zero = emb.sum() * 0.0
        return zero, {"active": 0.0, "d_ap": 0.0, "d_an": 0.0, "triplets": 0}
    d_ap = ((emb[a] - emb[p]) ** 2).sum(1)
    d_an = ((emb[a] - emb[n]) ** 2).sum(1)
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
