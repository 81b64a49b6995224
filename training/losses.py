"""Loss terms beside the triplet loss: the teacher's (two forms) and a CosFace margin head.
Pure functions except the head; harmonic mining is the miners' reference set (objective.py)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from training.triplet import sq_dists


def centred_distill(emb: torch.Tensor, target: torch.Tensor, w_pairs: float) -> torch.Tensor:
    """Cosine to the centred, unit teacher vector, plus matching its in-batch similarities. A
    teacher of another size (dlib + SFace, 256-D) has no vector to point at: similarities only."""
    if target.shape[1] != emb.shape[1]:
        return w_pairs * F.mse_loss(emb @ emb.T, target @ target.T)
    cos = 1.0 - (emb * target).sum(1).mean()
    pairs = F.mse_loss(emb @ emb.T, target @ target.T)
    return cos + w_pairs * pairs


def distance_distill(emb: torch.Tensor, raw: torch.Tensor, scale: float) -> torch.Tensor:
    """Match the student's squared distances to the teacher's own, `scale`d into [0, 4].

    The teacher's raw vectors (not centred, not normalised) are where its 98.5% lives; the
    centred unit vectors lose some of it (TRAINING-FACTS.md). Only relative geometry is asked
    for, so the student keeps its own unit sphere."""
    target = (scale * sq_dists(raw)).clamp(max=4.0)
    off = ~torch.eye(len(emb), dtype=torch.bool, device=emb.device)
    return F.mse_loss(sq_dists(emb)[off], target[off])


def teacher_scale(raw: torch.Tensor, n: int = 4096, seed: int = 0) -> float:
    """The factor that puts the teacher's mean squared distance of random pairs at 2 (the
    distance of two orthogonal unit vectors)."""
    g = torch.Generator().manual_seed(seed)
    i = torch.randint(0, len(raw), (n,), generator=g)
    j = torch.randint(0, len(raw), (n,), generator=g)
    keep = i != j
    return float(2.0 / ((raw[i[keep]] - raw[j[keep]]) ** 2).sum(1).mean())


class CosFace(nn.Module):
    """Additive-margin softmax (Wang et al. 2018) over the training identities: cos(theta) of
    the true class minus `margin`, times `scale`. Trained beside the triplet loss, not exported."""

    def __init__(self, n_classes: int, dim: int = 128, scale: float = 30.0, margin: float = 0.35):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_classes, dim) * 0.01)
        self.scale, self.margin = scale, margin

    def forward(self, emb: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, float]:
        cos = F.normalize(emb, dim=1) @ F.normalize(self.weight, dim=1).T
        logits = self.scale * (cos - self.margin * F.one_hot(labels, cos.shape[1]))
        acc = float((cos.argmax(1) == labels).float().mean())
        return F.cross_entropy(logits, labels), acc
