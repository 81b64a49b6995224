"""Identity-balanced batches: P people x K faces, plus random extra faces as negatives.

FaceNet took ~40 faces per identity in batches of ~1,800. Our data has 2-5 photos for most
identities (3,963 of 9,212 have two or more), so K = 4 and P = 24: 96 faces with positives, and
32 random faces (any identity, single-photo ones included) as extra negatives: 128 a batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SamplerConfig:
    people: int = 24
    per_person: int = 4
    extra: int = 32


class PKSampler:
    def __init__(self, labels: np.ndarray, cfg: SamplerConfig, seed: int) -> None:
        self.labels = np.asarray(labels)
        self.cfg = cfg
        self.rng = np.random.default_rng(seed)
        order = np.argsort(self.labels, kind="stable")
        ids, starts, counts = np.unique(self.labels[order], return_index=True, return_counts=True)
        self.groups = {
            int(i): order[s : s + c] for i, s, c in zip(ids, starts, counts, strict=True)
        }
        self.multi = np.array([i for i, g in self.groups.items() if len(g) >= 2])
        if len(self.multi) < cfg.people:
            raise ValueError(f"need {cfg.people} identities with 2+ faces, have {len(self.multi)}")

    def batch(self) -> np.ndarray:
        cfg = self.cfg
        people = self.rng.choice(self.multi, cfg.people, replace=False)
        idx = []
        for p in people:
            group = self.groups[int(p)]
            idx.append(self.rng.choice(group, min(cfg.per_person, len(group)), replace=False))
        chosen = np.concatenate(idx)
        extra = self.rng.choice(len(self.labels), cfg.extra, replace=False)
        return np.concatenate([chosen, extra])

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            yield self.batch()
