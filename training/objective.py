"""The training objective: triplets (with harmonic mining against an older model), teacher
distillation and a CosFace head, composed into one loss with its stats."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from training.losses import CosFace, centred_distill, distance_distill
from training.triplet import (
    Triplets,
    batch_all_triplets,
    batch_hard_triplets,
    semihard_triplets,
    triplet_loss,
)

log = logging.getLogger(__name__)


@dataclass
class Objective:
    """What one batch is scored by. Arrays are per training face (indexed by a batch's `idx`);
    weights of 0 (or a missing array or head) turn a term off."""

    margin: float = 0.2
    miner: str = "semihard"  # or "batchhard", "batchall"
    # the teacher: its centred unit vectors and its own ones (N x 128, or 256 for "both")
    teacher: np.ndarray | None = None
    raw_teacher: np.ndarray | None = None
    teacher_scale: float = 1.0  # puts the raw teacher's squared distances on the unit sphere's
    teacher_target: str = "centred"  # "centred", "distance" or "both" (TrainConfig says more)
    distill: float = 0.0
    distill_pairs: float = 4.0
    head: CosFace | None = None
    cosface: float = 0.0
    old: np.ndarray | None = None  # an older model's vectors: harmonic mining when given
    harmonic_cross: float = 0.0

    def mine(self, emb: torch.Tensor, labels: torch.Tensor) -> Triplets:
        if self.miner == "batchhard":
            return batch_hard_triplets(emb, labels)
        if self.miner == "batchall":
            return batch_all_triplets(emb, labels, self.margin)
        return semihard_triplets(emb, labels, self.margin)

    def loss(
        self, emb: torch.Tensor, idx: np.ndarray, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """The batch's loss (unit `emb` of training faces `idx`) and its stats: the triplet
        ones (active, d_ap, d_an, triplets), then each term that is on (cross, distill,
        cosface, cls_acc) and the total (loss)."""
        if self.old is not None:
            loss, stats = self.harmonic(emb, torch.from_numpy(self.old[idx]), labels)
        else:
            loss, stats = triplet_loss(emb, *self.mine(emb, labels), self.margin)
        if self.teacher is not None and self.distill > 0:
            dl = self.distillation(emb, idx)
            loss = loss + self.distill * dl
            stats["distill"] = float(dl.detach())
        if self.head is not None:
            cl, stats["cls_acc"] = self.head(emb, labels)
            loss = loss + self.cosface * cl
            stats["cosface"] = float(cl.detach())
        stats["loss"] = float(loss.detach())
        return loss, stats

    def harmonic(
        self, emb: torch.Tensor, old: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """FaceNet's harmonic embedding (appendix): each new vector an anchor, its positives
        and semi-hard negative from both models' vectors, so that new vectors learn to sit where
        the old model put the same people; plus, weighted by `harmonic_cross`, triplets of
        mixed pairs only (positive and negative among the old vectors: the pairs a library
        holding both models' vectors compares, which the new model's own nearer vectors would
        otherwise win)."""
        old = old.detach()
        both, both_labels = torch.cat([emb, old]), torch.cat([labels, labels])
        a, p, n = semihard_triplets(emb, labels, self.margin, both, both_labels, own=True)
        # The batch is `both`'s first rows (own=True), so `both` serves the anchors too: one
        # path back to `emb`, whose gradient then sums as it did before the reference set.
        loss, stats = triplet_loss(both, a, p, n, self.margin)
        if self.harmonic_cross > 0:
            a, p, n = semihard_triplets(emb, labels, self.margin, old, labels)
            # Scored over a fresh [new; old] (anchors its first rows, the old vectors after
            # them) rather than as triplet_loss(emb, ..., ref=old): the same value, and the
            # gradient then reaches `emb` by the same path as before objective.py, so that
            # the terms add up in the same order, bit for bit (a resumed run trains on alike).
            k = len(emb)
            cross, _ = triplet_loss(torch.cat([emb, old]), a, p + k, n + k, self.margin)
            loss = loss + self.harmonic_cross * cross
            stats["cross"] = float(cross.detach())
        return loss, stats

    def distillation(self, emb: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
        assert self.teacher is not None and self.raw_teacher is not None
        raw, cen = torch.from_numpy(self.raw_teacher[idx]), torch.from_numpy(self.teacher[idx])
        if self.teacher_target == "distance":
            return distance_distill(emb, raw, self.teacher_scale)
        if self.teacher_target == "both":
            return centred_distill(emb, cen, 0.0) + distance_distill(emb, raw, self.teacher_scale)
        return centred_distill(emb, cen, self.distill_pairs)
