"""Train the embedding network: FaceNet's triplet loss with online semi-hard mining, plus
(optionally) distillation from the cached dlib teacher, a CosFace margin head, and harmonic
mining against an older model. One loop, read top to bottom.

    python -m training.train [--preset small] [--name run] [--steps N] [--distill 1.0] ...
    python -m training.train --minutes 60 ...   (a time budget: the schedule spans 60 minutes)
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

from training.augment import AugmentConfig, augment, centre, to_tensor
from training.data import default_cache_dir, default_data_dir
from training.from_onnx import load_onnx_weights
from training.losses import (
    CosFace,
    centred_distill,
    cross_triplets,
    distance_distill,
    harmonic_triplets,
    teacher_scale,
)
from training.model import ModelConfig, build, count_macs, count_params
from training.sampler import PKSampler, SamplerConfig
from training.teacher import CHOICES as TEACHERS
from training.teacher import teacher_file
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
    minutes: float = 0.0  # > 0: a time budget instead; the lr schedule spans it, steps is a cap
    arch: str = "inception"  # or "resnet"
    optimizer: str = "adam"  # "adagrad" is the paper's (lr 0.05)
    lr: float = 1e-3
    weight_decay: float = 5e-4
    warmup: int = 300
    margin: float = 0.2
    miner: str = "semihard"  # or "batchhard", "batchall"
    distill: float = 1.0  # weight of the teacher terms; 0 = the paper's recipe, triplets only
    distill_pairs: float = 4.0  # weight of matching the teacher's in-batch similarities
    teacher: str = "dlib"  # whose cached vectors (python -m training.teacher): dlib, sface, both
    # "centred": cosine to the centred teacher + its in-batch similarities (a 256-D "both"
    # target: the similarities only); "distance": its raw squared distances, rescaled; "both":
    # the cosine term + the raw distances
    teacher_target: str = "centred"
    cosface: float = 0.0  # weight of a CosFace margin head over the identities (0 = off)
    harmonic: str = ""  # an older ONNX model to stay comparable with (FaceNet's appendix)
    harmonic_cross: float = 0.0  # weight of triplets of mixed pairs only (new anchor, old p/n)
    aug: str = "basic"  # or "album"
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
    init: str = ""  # start from a checkpoint's or an exported .onnx model's weights (new schedule)

    def apply_preset(self) -> None:
        if self.preset == "small":
            self.steps, self.warmup, self.width = min(self.steps, 40), 5, 0.25
            self.minutes = 0.0
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
    raw_teacher: np.ndarray | None = None  # the teacher's own vectors


def load_data(cache: Path, need_teacher: bool, teacher_name: str = "dlib") -> Data:
    rows = [ln.split("\t") for ln in (cache / "train_manifest.tsv").read_text().splitlines()[1:]]
    ok = np.array([r[3] == "1" for r in rows])
    idents = sorted({r[1] for r, k in zip(rows, ok, strict=True) if k})
    index = {n: i for i, n in enumerate(idents)}
    labels = np.array([index[r[1]] for r, k in zip(rows, ok, strict=True) if k])
    crops = np.load(cache / "train_crops.npy", mmap_mode="r")[ok]
    teacher = raw = None
    if need_teacher:
        path = teacher_file(cache, teacher_name)
        if not path.exists():
            raise SystemExit(f"no {teacher_name} teacher cache in {cache}: run python -m "
                             f"training.teacher --teacher {teacher_name} first, or train "
                             "without it (--distill 0)")  # fmt: skip
        raw = np.load(path)[ok]
        # dlib's raw vectors share a large common part (cosine ~0.83 between any two faces):
        # centre them, or the cosine target barely trains (TRAINING-FACTS.md).
        cen = raw - raw.mean(0)
        teacher = (cen / np.linalg.norm(cen, axis=1, keepdims=True)).astype(np.float32)
    return Data(np.ascontiguousarray(crops), labels, teacher, idents, raw)


def old_embeddings(cache: Path, model: str, crops: np.ndarray) -> np.ndarray:
    """An older ONNX model's vectors of every training crop (centre, no augmentation), cached."""
    from photoface.core.embed import OnnxEmbedder

    old = OnnxEmbedder(Path(model), batch_size=256)
    path = cache / f"old_{old.info.model_id}_{len(crops)}.npy"
    if not path.exists():
        np.save(path, old.embed(np.ascontiguousarray(centre(crops))))
    return np.load(path)


def lr_at(step: int, cfg: TrainConfig, minutes: float = 0.0) -> float:
    """Warm-up, then cosine decay over the steps (or over the time budget, given `minutes`
    spent so far)."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if cfg.minutes > 0:
        frac = minutes / cfg.minutes
    else:
        frac = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(frac, 1.0))))


def make_optimizer(params: list[nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adagrad":
        return torch.optim.Adagrad(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def save_checkpoint(path: Path, model: nn.Module, opt: torch.optim.Optimizer, cfg: TrainConfig,
                    step: int, extra: dict) -> None:  # fmt: skip
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "config": asdict(cfg), "model_config": asdict(model.cfg), "step": step,
                **extra}, tmp)  # fmt: skip
    tmp.replace(path)


def snapshot(run_dir: Path, step: int) -> None:
    """Keep a copy of the checkpoint at an evaluation (last.pt moves on)."""
    import shutil

    shutil.copy(run_dir / "last.pt", run_dir / f"step{step}.pt")


def load_checkpoint(path: Path) -> tuple[nn.Module, dict]:
    """The model rebuilt from the checkpoint alone (its config travels with it)."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = build(ModelConfig(**ck["model_config"]))
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def mine(cfg: TrainConfig, emb: torch.Tensor, labels: torch.Tensor):
    if cfg.miner == "batchhard":
        return batch_hard_triplets(emb, labels)
    if cfg.miner == "batchall":
        return batch_all_triplets(emb, labels, cfg.margin)
    return semihard_triplets(emb, labels, cfg.margin)


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
    if cfg.teacher not in TEACHERS:
        print(f"photoface: error: --teacher {cfg.teacher!r}: one of {', '.join(TEACHERS)}",
              file=sys.stderr)  # fmt: skip
        return 1
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

    if cfg.preset and cfg.distill > 0 and not teacher_file(cache, cfg.teacher).exists():
        log("no teacher cache (python -m training.teacher): this smoke run trains triplets only")
        cfg.distill = 0.0
    data = load_data(cache, need_teacher=cfg.distill > 0, teacher_name=cfg.teacher)
    model = build(ModelConfig(width=cfg.width, arch=cfg.arch)).to(memory_format=torch.channels_last)
    log(f"config {json.dumps(asdict(cfg))}")
    taught = f", teacher {cfg.teacher}" if data.teacher is not None else ""
    log(f"model: {cfg.arch}, {count_params(model) / 1e6:.2f}M parameters, "
        f"{count_macs(model) / 1e6:.0f}M multiply-adds; data: {len(data.labels)} faces of "
        f"{len(data.identities)} people{taught}; "
        f"world {world}")  # fmt: skip
    head = CosFace(len(data.identities)) if cfg.cosface > 0 else None
    scale = teacher_scale(torch.from_numpy(data.raw_teacher)) if data.raw_teacher is not None else 1
    old = old_embeddings(cache, cfg.harmonic, data.crops) if cfg.harmonic else None
    params = list(model.parameters()) + (list(head.parameters()) if head else [])
    opt = make_optimizer(params, cfg)
    step, seen, best, minutes_before = 0, 0, {}, 0.0
    ckpt = run_dir / "last.pt"
    if ckpt.exists():
        ck = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(ck["model"])
        if head is not None:
            head.load_state_dict(ck["head"])
        opt.load_state_dict(ck["optimizer"])
        step, seen, best = ck["step"], ck.get("seen", 0), ck.get("best", {})
        minutes_before = ck.get("minutes", 0.0)
        rng = np.random.default_rng(cfg.seed + 1000 * rank + step)
        log(f"resumed from {ckpt} at step {step}")
    elif cfg.init.endswith(".onnx"):
        calib = to_tensor(centre(data.crops[np.sort(rng.choice(len(data.crops), 256, False))]))
        diff = load_onnx_weights(model, Path(cfg.init), calib.contiguous())
        log(f"initialised from the exported model {cfg.init} (eval output within {diff:.1e})")
    elif cfg.init:
        init, _ = load_checkpoint(Path(cfg.init))
        model.load_state_dict(init.state_dict())
        log(f"initialised from {cfg.init}")
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    sampler = PKSampler(data.labels, SamplerConfig(cfg.people, cfg.per_person, cfg.extra),
                        seed=int(rng.integers(1 << 31)))  # fmt: skip
    aug = AugmentConfig.named(cfg.aug)
    t_last, n_last, eval_seconds = time.monotonic(), seen, 0.0
    t_start = time.monotonic()
    stats_acc: list[dict] = []

    def minutes(synced: bool = False) -> float:
        """Training minutes so far (evaluation excluded); `synced`: rank 0's, on every process
        (a collective call: every process must make it)."""
        mins = minutes_before + (time.monotonic() - t_start - eval_seconds) / 60
        if synced and world > 1:
            t = torch.tensor([mins])
            torch.distributed.broadcast(t, 0)
            mins = float(t[0])
        return mins

    mins = minutes(synced=True)
    while step < cfg.steps and not (cfg.minutes > 0 and mins >= cfg.minutes):
        idx = np.sort(sampler.batch())
        x = augment(data.crops[idx], rng, aug)
        labels = torch.from_numpy(data.labels[idx])
        lr = lr_at(step, cfg, mins)
        for g in opt.param_groups:
            g["lr"] = lr
        net.train()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            emb = net(x)
        emb = F.normalize(emb.float(), dim=1)
        if old is not None:
            old_emb = torch.from_numpy(old[idx])
            both, a, p, n = harmonic_triplets(emb, old_emb, labels, cfg.margin)
            loss, st = triplet_loss(both, a, p, n, cfg.margin)
            if cfg.harmonic_cross > 0:
                both, a, p, n = cross_triplets(emb, old_emb, labels)
                cl, _ = triplet_loss(both, a, p, n, cfg.margin)
                loss = loss + cfg.harmonic_cross * cl
                st["cross"] = float(cl.detach())
        else:
            a, p, n = mine(cfg, emb, labels)
            loss, st = triplet_loss(emb, a, p, n, cfg.margin)
        if data.teacher is not None and cfg.distill > 0:
            raw, cen = torch.from_numpy(data.raw_teacher[idx]), torch.from_numpy(data.teacher[idx])
            if cfg.teacher_target == "distance":
                dl = distance_distill(emb, raw, scale)
            elif cfg.teacher_target == "both":
                dl = centred_distill(emb, cen, 0.0) + distance_distill(emb, raw, scale)
            else:
                dl = centred_distill(emb, cen, cfg.distill_pairs)
            loss = loss + cfg.distill * dl
            st["distill"] = float(dl.detach())
        if head is not None:
            cl, st["cls_acc"] = head(emb, labels)
            loss = loss + cfg.cosface * cl
            st["cosface"] = float(cl.detach())
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
            if cfg.minutes > 0:
                eta = 60 * (cfg.minutes - mins)
            else:
                eta = (cfg.steps - step) * len(idx) * world / max(ips, 1e-6)
            extras = "".join(f" {k} {m[k]:.4f}" for k in ("distill", "cross", "cosface", "cls_acc")
                             if k in m)  # fmt: skip
            log(f"step {step}/{cfg.steps} loss {m['loss']:.4f} lr {lr:.2e} "
                f"img/s {ips:.0f} active {m['active']:.2f} d_ap {m['d_ap']:.3f} "
                f"d_an {m['d_an']:.3f}{extras} ETA {eta / 60:.1f} min")  # fmt: skip
            if collapsed(emb) or (m["active"] > 0.99 and abs(m["loss"] - cfg.margin) < 1e-3):
                log("WARNING: embeddings are collapsing (all alike, loss stuck at the margin)")
        mins = minutes(synced=True)
        done = step == cfg.steps or (cfg.minutes > 0 and mins >= cfg.minutes)
        evaluate_now = cfg.eval_every and (step % cfg.eval_every == 0 or done)
        if rank == 0 and evaluate_now:
            from training.evaluate import evaluate, torch_embedder

            t_eval = time.monotonic()
            res = evaluate(torch_embedder(model), cache, Path(cfg.data))["aligned"]
            log(f"LFW step {step} ({minutes():.1f} min, {seen} images): {res.line()}")
            best = {"step": step, "accuracy": res.accuracy, "val": res.val, "auc": res.auc}
            eval_seconds += time.monotonic() - t_eval
        if rank == 0 and (step % cfg.ckpt_every == 0 or done or evaluate_now):
            extra = {"seen": seen, "best": best, "minutes": minutes()}
            if head is not None:
                extra["head"] = head.state_dict()
            save_checkpoint(ckpt, model, opt, cfg, step, extra)
            if evaluate_now:
                snapshot(run_dir, step)
    if world > 1:
        torch.distributed.destroy_process_group()
    log(f"done: {step} steps, {seen} images; checkpoint {ckpt}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
