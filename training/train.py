"""Train the embedding network: FaceNet's triplet loss with online semi-hard mining, plus
(optionally) distillation from the cached dlib teacher. One loop, read top to bottom.

    python -m training.train [--preset small] [--name run] [--steps N] [--distill 1.0] ...
    torchrun --nproc-per-node 2 -m training.train ...   (DistributedDataParallel, gloo on CPU)

Checkpoints (model, optimizer, config, step) go to <cache>/runs/<name>/last.pt every
--ckpt-every steps; running the same command again resumes. Logs: step, loss, lr, images/s,
active-triplet fraction, mean d(a,p) and d(a,n), ETA; LFW accuracy every --eval-every steps.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from training.augment import AugmentConfig, augment
from training.data import default_cache_dir, default_data_dir
from training.model import FaceNet, ModelConfig, count_macs, count_params
from training.sampler import PKSampler, SamplerConfig
from training.triplet import (
    batch_all_triplets,
    batch_hard_triplets,
    collapsed,
    semihard_triplets,
    triplet_loss,
)


@dataclass
class TrainConfig:
    name: str = "main"
    preset: str = ""  # "small": a few steps on a narrow net (tests, smoke runs)
    cache_dir: str = str(default_cache_dir())
    data: str = str(default_data_dir())
    steps: int = 6000
    optimizer: str = "adam"  # "adagrad" is the paper's (lr 0.05)
    lr: float = 1e-3
    weight_decay: float = 5e-4
    warmup: int = 300
    margin: float = 0.2
    miner: str = "semihard"  # or "batchhard", "batchall"
    distill: float = 1.0  # weight of the teacher terms; 0 = the paper's recipe, triplets only
    distill_pairs: float = 4.0  # weight of matching the teacher's in-batch similarities
    people: int = 24
    per_person: int = 4
    extra: int = 32
    width: float = 1.0
    seed: int = 0
    threads: int = 2
    bf16: bool = True
    ckpt_every: int = 250
    eval_every: int = 1000
    log_every: int = 25
    init: str = ""  # start from this checkpoint's weights (a new schedule)

    def apply_preset(self) -> None:
        if self.preset == "small":
            self.steps, self.warmup, self.width = min(self.steps, 40), 5, 0.25
            self.people, self.per_person, self.extra = 6, 2, 4
            self.ckpt_every, self.eval_every, self.log_every = 20, 0, 10
        elif self.preset:
            raise SystemExit(f"unknown preset {self.preset!r}")


@dataclass
class Data:
    crops: np.ndarray  # uint8 N x 112 x 112 x 3
    labels: np.ndarray  # int identity index
    teacher: np.ndarray | None  # centred, unit teacher vectors (N x 128) or None
    identities: list[str] = field(default_factory=list)


def load_data(cache: Path, need_teacher: bool) -> Data:
    rows = [ln.split("\t") for ln in (cache / "train_manifest.tsv").read_text().splitlines()[1:]]
    ok = np.array([r[3] == "1" for r in rows])
    idents = sorted({r[1] for r, k in zip(rows, ok, strict=True) if k})
    index = {n: i for i, n in enumerate(idents)}
    labels = np.array([index[r[1]] for r, k in zip(rows, ok, strict=True) if k])
    crops = np.load(cache / "train_crops.npy", mmap_mode="r")[ok]
    teacher = None
    if need_teacher:
        raw = np.load(cache / "teacher.npy")[ok]
        # dlib's raw vectors share a large common part (cosine ~0.83 between any two faces):
        # centre them, or the cosine target barely trains (TRAINING-FACTS.md).
        cen = raw - raw.mean(0)
        teacher = (cen / np.linalg.norm(cen, axis=1, keepdims=True)).astype(np.float32)
    return Data(np.ascontiguousarray(crops), labels, teacher, idents)


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    frac = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def make_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)


def save_checkpoint(path: Path, model: nn.Module, opt: torch.optim.Optimizer, cfg: TrainConfig,
                    step: int, extra: dict) -> None:  # fmt: skip
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "config": asdict(cfg), "model_config": asdict(model.cfg), "step": step,
                **extra}, tmp)  # fmt: skip
    tmp.replace(path)


def load_checkpoint(path: Path) -> tuple[FaceNet, dict]:
    """The model rebuilt from the checkpoint alone (its config travels with it)."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = FaceNet(ModelConfig(**ck["model_config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def mine(cfg: TrainConfig, emb: torch.Tensor, labels: torch.Tensor):
    if cfg.miner == "batchhard":
        return batch_hard_triplets(emb, labels)
    if cfg.miner == "batchall":
        return batch_all_triplets(emb, labels, cfg.margin)
    return semihard_triplets(emb, labels, cfg.margin)


def distill_loss(emb: torch.Tensor, target: torch.Tensor, w_pairs: float) -> torch.Tensor:
    """Cosine to the centred teacher, plus matching its similarities within the batch."""
    cos = 1.0 - (emb * target).sum(1).mean()
    pairs = F.mse_loss(emb @ emb.T, target @ target.T)
    return cos + w_pairs * pairs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    for f in fields(TrainConfig):
        kind = type(f.default)
        if kind is bool:
            ap.add_argument("--" + f.name.replace("_", "-"), type=lambda v: v.lower() in
                            ("1", "true", "yes"), default=f.default)  # fmt: skip
        else:
            ap.add_argument("--" + f.name.replace("_", "-"), type=kind, default=f.default)
    cfg = TrainConfig(**vars(ap.parse_args(argv)))
    cfg.apply_preset()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if world > 1:
        torch.distributed.init_process_group("gloo")
    torch.set_num_threads(max(1, cfg.threads // world))
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed + 1000 * rank)
    cache = Path(cfg.cache_dir)
    run_dir = cache / "runs" / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    log_file = open(run_dir / "log.txt", "a") if rank == 0 else None

    def log(msg: str) -> None:
        if rank == 0:
            print(msg, file=sys.stderr, flush=True)
            log_file.write(msg + "\n")
            log_file.flush()

    data = load_data(cache, need_teacher=cfg.distill > 0)
    model = FaceNet(ModelConfig(width=cfg.width)).to(memory_format=torch.channels_last)
    log(f"config {json.dumps(asdict(cfg))}")
    log(f"model: {count_params(model) / 1e6:.2f}M parameters, {count_macs(model) / 1e6:.0f}M "
        f"multiply-adds; data: {len(data.labels)} faces of {len(data.identities)} people"
        f"{', teacher on' if data.teacher is not None else ''}; world {world}")  # fmt: skip
    opt = make_optimizer(model, cfg)
    step, seen, best, minutes_before = 0, 0, {}, 0.0
    ckpt = run_dir / "last.pt"
    if ckpt.exists():
        ck = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        step, seen, best = ck["step"], ck.get("seen", 0), ck.get("best", {})
        minutes_before = ck.get("minutes", 0.0)
        rng = np.random.default_rng(cfg.seed + 1000 * rank + step)
        log(f"resumed from {ckpt} at step {step}")
    elif cfg.init:
        init, _ = load_checkpoint(Path(cfg.init))
        model.load_state_dict(init.state_dict())
        log(f"initialised from {cfg.init}")
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    sampler = PKSampler(data.labels, SamplerConfig(cfg.people, cfg.per_person, cfg.extra),
                        seed=int(rng.integers(1 << 31)))  # fmt: skip
    aug = AugmentConfig()
    t_start, t_last, n_last = time.monotonic(), time.monotonic(), 0
    stats_acc: list[dict] = []
    while step < cfg.steps:
        idx = np.sort(sampler.batch())
        x = augment(data.crops[idx], rng, aug)
        labels = torch.from_numpy(data.labels[idx])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg)
        net.train()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            emb = net(x)
        emb = F.normalize(emb.float(), dim=1)
        a, p, n = mine(cfg, emb, labels)
        loss, st = triplet_loss(emb, a, p, n, cfg.margin)
        if data.teacher is not None and cfg.distill > 0:
            target = torch.from_numpy(data.teacher[idx])
            dl = distill_loss(emb, target, cfg.distill_pairs)
            loss = loss + cfg.distill * dl
            st["distill"] = float(dl.detach())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        seen += len(idx) * world
        st["loss"] = float(loss.detach())
        stats_acc.append(st)
        if step % cfg.log_every == 0 or step == cfg.steps:
            now = time.monotonic()
            ips = (seen - n_last) / (now - t_last)
            t_last, n_last = now, seen
            m = {k: np.mean([s.get(k, 0.0) for s in stats_acc]) for k in stats_acc[0]}
            stats_acc = []
            eta = (cfg.steps - step) * len(idx) * world / max(ips, 1e-6)
            log(f"step {step}/{cfg.steps} loss {m['loss']:.4f} lr {lr_at(step, cfg):.2e} "
                f"img/s {ips:.0f} active {m['active']:.2f} d_ap {m['d_ap']:.3f} "
                f"d_an {m['d_an']:.3f}" + (f" distill {m['distill']:.4f}" if 'distill' in m
                                           else "") + f" ETA {eta / 60:.1f} min")  # fmt: skip
            if collapsed(emb) or (m["active"] > 0.99 and abs(m["loss"] - cfg.margin) < 1e-3):
                log("WARNING: embeddings are collapsing (all alike, loss stuck at the margin)")
        if rank == 0 and cfg.eval_every and (step % cfg.eval_every == 0 or step == cfg.steps):
            from training.evaluate import evaluate, torch_embedder

            res = evaluate(torch_embedder(model), cache, Path(cfg.data))["aligned"]
            mins = minutes_before + (time.monotonic() - t_start) / 60
            log(f"LFW step {step} ({mins:.1f} min, {seen} images): "
                f"{res.line()}")  # fmt: skip
            best = {"step": step, "accuracy": res.accuracy, "val": res.val, "auc": res.auc}
        if rank == 0 and (step % cfg.ckpt_every == 0 or step == cfg.steps):
            mins = minutes_before + (time.monotonic() - t_start) / 60
            extra = {"seen": seen, "best": best, "minutes": mins}
            save_checkpoint(ckpt, model, opt, cfg, step, extra)
    if world > 1:
        torch.distributed.destroy_process_group()
    log(f"done: {step} steps, {seen} images; checkpoint {ckpt}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
