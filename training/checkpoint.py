"""Training checkpoints: what a run saves, how it resumes, and the model rebuilt from the file.

A checkpoint is one dict (torch.save): "model" (state_dict), "optimizer" (its state_dict),
"config" (the TrainConfig as a dict), "model_config" (the ModelConfig, so that the model is
rebuilt from the file alone), "step", "seen" (images trained on, all processes), "minutes"
(training time, evaluation excluded), "head" (the CosFace head's state_dict, when trained), and
the LFW results: "last_eval" (the latest evaluation) and "best" (the most accurate one so far).
Each record holds step, minutes, images, accuracy, std, val, auc (fractions, not percent).
last.pt holds the latest weights; step<N>.pt the weights at each evaluation, so the best
record's weights are step<best["step"]>.pt. Checkpoints written before "last_eval" existed
held the latest evaluation under "best" (and no std, minutes or images in it); they are read
as such.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from training.model import ModelConfig, build

log = logging.getLogger(__name__)


@dataclass
class Progress:
    """Where a run stands: what it resumes from."""

    step: int = 0
    seen: int = 0
    minutes: float = 0.0
    last_eval: dict = field(default_factory=dict)
    best: dict = field(default_factory=dict)

    def record(self, evaluation: dict) -> bool:
        """Note an evaluation; whether it is the most accurate so far."""
        self.last_eval = evaluation
        better = not self.best or evaluation["accuracy"] > self.best["accuracy"]
        if better:
            self.best = evaluation
        return better


def read(path: Path) -> dict[str, Any]:
    return torch.load(path, map_location="cpu", weights_only=False)


def progress_of(ck: dict[str, Any]) -> Progress:
    """A checkpoint's progress, also from the layout without "last_eval"."""
    best = ck.get("best", {})
    return Progress(
        ck["step"], ck.get("seen", 0), ck.get("minutes", 0.0), ck.get("last_eval", best), best
    )


def last_evaluation(ck: dict[str, Any]) -> dict | None:
    """The latest LFW evaluation of a checkpoint (None if it has none), with step, minutes and
    images filled in from the checkpoint itself for the older layout."""
    p = progress_of(ck)
    if not p.last_eval:
        return None
    return {"minutes": p.minutes, "images": p.seen, "std": None, **p.last_eval}


def save(
    path: Path,
    model: nn.Module,
    opt: torch.optim.Optimizer,
    config: Any,
    progress: Progress,
    head: nn.Module | None = None,
) -> None:
    """Write a checkpoint (whole or not at all: a temporary file renamed over `path`)."""
    ck = {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "config": asdict(config),
        "model_config": asdict(model.cfg),
        "step": progress.step,
        "seen": progress.seen,
        "best": progress.best,
        "last_eval": progress.last_eval,
        "minutes": progress.minutes,
    }
    if head is not None:
        ck["head"] = head.state_dict()
    tmp = path.with_suffix(".tmp")
    torch.save(ck, tmp)
    tmp.replace(path)


def snapshot(run_dir: Path, step: int) -> Path:
    """Keep a copy of last.pt at an evaluation (last.pt moves on)."""
    kept = run_dir / f"step{step}.pt"
    shutil.copy(run_dir / "last.pt", kept)
    return kept


def resume(
    path: Path, model: nn.Module, opt: torch.optim.Optimizer, head: nn.Module | None = None
) -> Progress | None:
    """Load a run's state into the model, optimizer and head; None if there is no checkpoint."""
    if not path.exists():
        return None
    ck = read(path)
    model.load_state_dict(ck["model"])
    if head is not None:
        head.load_state_dict(ck["head"])
    opt.load_state_dict(ck["optimizer"])
    return progress_of(ck)


def load_checkpoint(path: Path) -> tuple[nn.Module, dict[str, Any]]:
    """The model rebuilt from the checkpoint alone (its config travels with it), in eval mode."""
    ck = read(path)
    model = build(ModelConfig(**ck["model_config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck
