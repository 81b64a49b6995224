"""Train the embedding network: FaceNet's triplet loss with online semi-hard mining, plus
(optionally) distillation from the cached dlib teacher, a CosFace margin head, and harmonic
mining against an older model (the terms: training/objective.py). One loop, read top to bottom.

    python -m training.train [--preset small] [--name run] [--steps N] [--distill 1.0] ...
    python -m training.train --minutes 60 ...   (a time budget: the schedule spans 60 minutes)
    torchrun --nproc-per-node 2 -m training.train ...   (DistributedDataParallel, gloo on CPU)

Checkpoints (model, optimizer, config, step; training/checkpoint.py) go to
<cache>/runs/<name>/last.pt every --ckpt-every steps; running the same command again resumes.
Each LFW evaluation (every --eval-every steps) also keeps a copy, step<N>.pt; the checkpoint
records the latest evaluation ("last_eval") and the most accurate so far ("best", whose weights
are its step<N>.pt). Logs: step, loss, lr, images/s, active-triplet fraction, mean d(a,p) and
d(a,n), ETA; the LFW figures at each evaluation.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from training import checkpoint
from training.augment import AugmentConfig, augment, centre, to_tensor
from training.checkpoint import Progress, load_checkpoint
from training.data import default_cache_dir, default_data_dir
from training.evaluate import evaluate, torch_embedder
from training.from_onnx import load_onnx_weights
from training.losses import CosFace, teacher_scale
from training.model import ModelConfig, build, count_macs, count_params
from training.objective import Objective
from training.options import parse_config
from training.sampler import PKSampler, SamplerConfig
from training.teacher import CHOICES as TEACHERS
from training.teacher import teacher_file
from training.triplet import collapsed

__all__ = ["TrainConfig", "load_checkpoint", "lr_at", "main"]


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
            raise SystemExit(
                f"no {teacher_name} teacher cache in {cache}: run python -m "
                f"training.teacher --teacher {teacher_name} first, or train "
                "without it (--distill 0)"
            )
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


def make_objective(cfg: TrainConfig, data: Data, cache: Path, head: CosFace | None) -> Objective:
    raw = data.raw_teacher
    return Objective(
        margin=cfg.margin,
        miner=cfg.miner,
        teacher=data.teacher,
        raw_teacher=raw,
        teacher_scale=teacher_scale(torch.from_numpy(raw)) if raw is not None else 1.0,
        teacher_target=cfg.teacher_target,
        distill=cfg.distill,
        distill_pairs=cfg.distill_pairs,
        head=head,
        cosface=cfg.cosface,
        old=old_embeddings(cache, cfg.harmonic, data.crops) if cfg.harmonic else None,
        harmonic_cross=cfg.harmonic_cross,
    )


class RunLog:
    """Rank 0's messages, to stderr and the run's log.txt; other ranks say nothing."""

    def __init__(self, path: Path, speaks: bool) -> None:
        self.file: TextIO | None = open(path, "a") if speaks else None  # noqa: SIM115

    def __call__(self, msg: str) -> None:
        if self.file is not None:
            print(msg, file=sys.stderr, flush=True)
            self.file.write(msg + "\n")
            self.file.flush()


class Clock:
    """Training minutes: the earlier sessions' plus this one's, evaluation excluded."""

    def __init__(self, before: float, world: int) -> None:
        self.before, self.world = before, world
        self.start, self.excluded = time.monotonic(), 0.0

    def minutes(self, synced: bool = False) -> float:
        """`synced`: rank 0's figure on every process (a collective call: every process must
        make it), so that all stop at the same step of a time budget."""
        mins = self.before + (time.monotonic() - self.start - self.excluded) / 60
        if synced and self.world > 1:
            t = torch.tensor([mins])
            torch.distributed.broadcast(t, 0)
            mins = float(t[0])
        return mins

    @contextmanager
    def paused(self) -> Iterator[None]:
        t = time.monotonic()
        try:
            yield
        finally:
            self.excluded += time.monotonic() - t


class Meter:
    """Per-step stats averaged between two log lines, and the images per second."""

    def __init__(self, seen: int) -> None:
        self.rows: list[dict] = []
        self.t, self.seen = time.monotonic(), seen

    def add(self, stats: dict) -> None:
        self.rows.append(stats)

    def report(self, seen: int) -> tuple[dict[str, float], float]:
        now = time.monotonic()
        ips = (seen - self.seen) / (now - self.t)
        means = {k: float(np.mean([s.get(k, 0.0) for s in self.rows])) for k in self.rows[0]}
        self.rows, self.t, self.seen = [], now, seen
        return means, ips


def progress_line(
    step: int, cfg: TrainConfig, m: dict[str, float], lr: float, ips: float, eta_minutes: float
) -> str:
    extras = "".join(
        f" {k} {m[k]:.4f}" for k in ("distill", "cross", "cosface", "cls_acc") if k in m
    )
    return (
        f"step {step}/{cfg.steps} loss {m['loss']:.4f} lr {lr:.2e} img/s {ips:.0f} "
        f"active {m['active']:.2f} d_ap {m['d_ap']:.3f} d_an {m['d_an']:.3f}{extras} "
        f"ETA {eta_minutes:.1f} min"
    )


def initialise(
    model: nn.Module, cfg: TrainConfig, data: Data, rng: np.random.Generator, log: RunLog
) -> None:
    """--init: another run's checkpoint or an exported model's weights (a new schedule)."""
    if cfg.init.endswith(".onnx"):
        calib = to_tensor(centre(data.crops[np.sort(rng.choice(len(data.crops), 256, False))]))
        diff = load_onnx_weights(model, Path(cfg.init), calib.contiguous())
        log(f"initialised from the exported model {cfg.init} (eval output within {diff:.1e})")
    elif cfg.init:
        init, _ = load_checkpoint(Path(cfg.init))
        model.load_state_dict(init.state_dict())
        log(f"initialised from {cfg.init}")


def evaluate_lfw(
    model: nn.Module, cfg: TrainConfig, run: Progress, minutes: float, log: RunLog
) -> dict:
    """LFW (aligned) now: logged, and returned as the checkpoint's record of it."""
    res = evaluate(torch_embedder(model), Path(cfg.cache_dir), Path(cfg.data))["aligned"]
    log(f"LFW step {run.step} ({minutes:.1f} min, {run.seen} images): {res.line()}")
    return {
        "step": run.step,
        "minutes": minutes,
        "images": run.seen,
        "accuracy": res.accuracy,
        "std": res.std,
        "val": res.val,
        "auc": res.auc,
    }


def main(argv: list[str] | None = None) -> int:
    # -- config ------------------------------------------------------------------------------------
    cfg = parse_config(TrainConfig, argv, __doc__)
    cfg.apply_preset()
    if cfg.teacher not in TEACHERS:
        print(
            f"photoface: error: --teacher {cfg.teacher!r}: one of {', '.join(TEACHERS)}",
            file=sys.stderr,
        )
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
    ckpt = run_dir / "last.pt"
    log = RunLog(run_dir / "log.txt", speaks=rank == 0)

    # -- data --------------------------------------------------------------------------------------
    if cfg.preset and cfg.distill > 0 and not teacher_file(cache, cfg.teacher).exists():
        log("no teacher cache (python -m training.teacher): this smoke run trains triplets only")
        cfg.distill = 0.0
    data = load_data(cache, need_teacher=cfg.distill > 0, teacher_name=cfg.teacher)

    # -- model and objective -----------------------------------------------------------------------
    model = build(ModelConfig(width=cfg.width, arch=cfg.arch)).to(memory_format=torch.channels_last)
    log(f"config {json.dumps(asdict(cfg))}")
    if cfg.bf16 and not torch.backends.cpu.get_cpu_capability().startswith("AVX512"):
        # Measured 2026-12-02 on an AVX2-only EPYC: a forward+backward pass ran ~8x slower
        # under bf16 autocast than in fp32 (bf16 has no native kernels there).
        log("WARNING: --bf16 on a CPU without AVX-512 is several times slower: try --bf16 0")
    taught = f", teacher {cfg.teacher}" if data.teacher is not None else ""
    log(
        f"model: {cfg.arch}, {count_params(model) / 1e6:.2f}M parameters, "
        f"{count_macs(model) / 1e6:.0f}M multiply-adds; data: {len(data.labels)} faces of "
        f"{len(data.identities)} people{taught}; world {world}"
    )
    head = CosFace(len(data.identities)) if cfg.cosface > 0 else None
    objective = make_objective(cfg, data, cache, head)

    # -- optimiser and schedule (lr_at, set each step) ---------------------------------------------
    params = list(model.parameters()) + (list(head.parameters()) if head else [])
    opt = make_optimizer(params, cfg)

    # -- resume, or start (from --init's weights, or fresh) ----------------------------------------
    run = checkpoint.resume(ckpt, model, opt, head)
    if run is not None:
        rng = np.random.default_rng(cfg.seed + 1000 * rank + run.step)
        log(f"resumed from {ckpt} at step {run.step}")
    else:
        run = Progress()
        initialise(model, cfg, data, rng, log)
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    sampler = PKSampler(
        data.labels,
        SamplerConfig(cfg.people, cfg.per_person, cfg.extra),
        seed=int(rng.integers(1 << 31)),
    )
    aug = AugmentConfig.named(cfg.aug)
    meter, clock = Meter(run.seen), Clock(run.minutes, world)

    # -- the loop ----------------------------------------------------------------------------------
    mins = clock.minutes(synced=True)
    while run.step < cfg.steps and not (cfg.minutes > 0 and mins >= cfg.minutes):
        idx = np.sort(sampler.batch())
        x = augment(data.crops[idx], rng, aug)
        labels = torch.from_numpy(data.labels[idx])
        lr = lr_at(run.step, cfg, mins)
        for g in opt.param_groups:
            g["lr"] = lr
        net.train()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=cfg.bf16):
            emb = net(x)
        emb = F.normalize(emb.float(), dim=1)
        loss, stats = objective.loss(emb, idx, labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        run.step += 1
        run.seen += len(idx) * world
        meter.add(stats)
        if run.step % cfg.log_every == 0 or run.step == cfg.steps:
            m, ips = meter.report(run.seen)
            if cfg.minutes > 0:
                eta = cfg.minutes - mins
            else:
                eta = (cfg.steps - run.step) * len(idx) * world / max(ips, 1e-6) / 60
            log(progress_line(run.step, cfg, m, lr, ips, eta))
            if collapsed(emb) or (m["active"] > 0.99 and abs(m["loss"] - cfg.margin) < 1e-3):
                log("WARNING: embeddings are collapsing (all alike, loss stuck at the margin)")
        mins = clock.minutes(synced=True)
        done = run.step == cfg.steps or (cfg.minutes > 0 and mins >= cfg.minutes)
        evaluate_now = cfg.eval_every and (run.step % cfg.eval_every == 0 or done)

        # -- evaluation (rank 0; its time is not training time) ------------------------------------
        if rank == 0 and evaluate_now:
            with clock.paused():
                record = evaluate_lfw(model, cfg, run, clock.minutes(), log)
            if run.record(record):
                log(f"best so far: step {run.step} (its weights: step{run.step}.pt)")

        # -- checkpoint ----------------------------------------------------------------------------
        if rank == 0 and (run.step % cfg.ckpt_every == 0 or done or evaluate_now):
            run.minutes = clock.minutes()
            checkpoint.save(ckpt, model, opt, cfg, run, head)
            if evaluate_now:
                checkpoint.snapshot(run_dir, run.step)

    # -- done: what to do with it ------------------------------------------------------------------
    if world > 1:
        # Both ranks leave together: a rank that tears gloo down while the other is still
        # writing the checkpoint could die at exit ("terminate called without an active
        # exception", SIGABRT) after a finished run.
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    log(f"done: {run.step} steps, {run.seen} images; checkpoint {ckpt}")
    log(f"export it: python -m training.export {ckpt} --model-id <id> [--no-install]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
