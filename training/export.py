"""Checkpoint -> the app's ONNX model (+ model card), checked against onnxruntime, installed.

    python -m training.export [CHECKPOINT] [--model-id pf-nn4s-v1] [--no-install]

The graph follows photoface.core.model_contract: a dynamic batch axis, L2 normalisation inside,
and ONNX metadata_props (`ModelInfo.to_metadata()`) carrying every pre-processing constant, the
embedding size, the model id, the verification threshold calibrated on LFW (folds 0-4, best
accuracy) and the ids it is harmonic-compatible with. Before anything is installed the written
file is read back by the app's own loader: its metadata must read back as written, and it must
embed a crop as PyTorch does (atol 1e-4), else nothing is installed. With install (the default)
the file replaces any photoface-*.onnx in resources/models/, with a JSON model card beside it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from photoface.core.model_contract import (
    CROP_SIZE,
    INPUT_NAME,
    META_PREFIX,
    OUTPUT_NAME,
    ModelInfo,
    meta_key,
)
from training import provenance, quantize
from training.augment import MEAN, STD, to_tensor
from training.checkpoint import load_checkpoint
from training.data import default_cache_dir, default_data_dir
from training.model import count_macs, count_params

if TYPE_CHECKING:
    from photoface.core.embed import OnnxEmbedder

PARITY_ATOL = 1e-4

Embed = Callable[[np.ndarray], np.ndarray]  # uint8 crops -> unit vectors


class ExportError(Exception):
    """The written file is not what the app should get: nothing is installed."""


def to_onnx(model: torch.nn.Module, path: Path) -> None:
    model.eval()
    dummy = torch.randn(2, 3, CROP_SIZE, CROP_SIZE)
    batch_axes = {INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}}
    torch.onnx.export(
        model,
        (dummy,),
        str(path),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes=batch_axes,
        opset_version=17,
        dynamo=False,
    )


def write_metadata(path: Path, meta: Mapping[str, str]) -> None:
    """Metadata only: the graph itself is never edited after export. `meta` as
    `ModelInfo.to_metadata()` gives it (a bare field name gets the `photoface.` prefix)."""
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = (k if k.startswith(META_PREFIX) else meta_key(k)), v
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def parity(model: torch.nn.Module, path: Path, n: int = 16) -> float:
    import onnxruntime as ort

    x = torch.randn(n, 3, CROP_SIZE, CROP_SIZE)
    with torch.no_grad():
        ref = model(x).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})[0]
    return float(np.abs(ref - got).max())


def read_back(model: torch.nn.Module, path: Path, written: ModelInfo) -> float:
    """Load `path` as the app will (photoface.core.embed, onnxruntime) and check it: the same
    ModelInfo as `written`, and a crop embedded by the app as PyTorch embeds it after training's
    own pre-processing (so the metadata's mean and std are training's). Returns the largest
    difference; raises ExportError when either check fails."""
    app = check_metadata(path, written)
    crop = np.random.default_rng(0).integers(0, 256, (1, CROP_SIZE, CROP_SIZE, 3), np.uint8)
    with torch.no_grad():
        ref = model(to_tensor(crop)).float().numpy()
    err = float(np.abs(app.embed(crop) - ref).max())
    if err > PARITY_ATOL:
        raise ExportError(
            f"the app embeds a crop {err:.2e} away from PyTorch (> {PARITY_ATOL}): the "
            "pre-processing in its metadata is not training's"
        )
    return err


ARCH_NAMES = {"inception": "Inception (nn4.small2 shape)", "resnet": "ResNet (basic blocks)"}


TEACHER_NAMES = {"dlib": "dlib's ResNet", "sface": "SFace", "both": "dlib's ResNet + SFace"}


def recipe(cfg: dict) -> str:
    parts = [f"triplet loss, online {cfg.get('miner', 'semihard')} mining, margin {cfg['margin']}"]
    if cfg["distill"] > 0:
        target = cfg.get("teacher_target", "centred")
        who = TEACHER_NAMES[cfg.get("teacher", "dlib")]
        parts.append(f"distillation from {who} ({target} target, weight {cfg['distill']})")
    if cfg.get("cosface", 0) > 0:
        parts.append(f"CosFace margin head (weight {cfg['cosface']})")
    if cfg.get("harmonic"):
        cross = cfg.get("harmonic_cross", 0)
        mixed = f" (mixed-pair triplets, weight {cross})" if cross > 0 else ""
        parts.append(f"harmonic with {Path(cfg['harmonic']).name}{mixed}")
    parts.append(f"{cfg.get('aug', 'basic')} augmentation")
    return " + ".join(parts)


REPO = Path(__file__).resolve().parents[1]


def portable(value: object, root: Path = REPO) -> object:
    """A setting as a model card may show it: a path inside the checkout relative to it, any
    other absolute path by its name only (a card never records where a machine keeps things)."""
    if not isinstance(value, str) or not Path(value).is_absolute():
        return value
    path = Path(value)
    try:
        return str(path.relative_to(root))
    except ValueError:
        return path.name


def portable_arg(arg: str) -> str:
    """A command-line word with its path made portable (also in `--option=PATH`)."""
    if arg.startswith("--") and "=" in arg:
        key, value = arg.split("=", 1)
        return f"{key}={portable(value)}"
    return str(portable(arg))


def train_command(cfg: dict) -> str:
    """The command that trains this checkpoint again: every setting that is not the default."""
    from dataclasses import fields

    from training.train import TrainConfig

    skip = {"cache_dir", "data", "threads"}
    args = [
        f"--{f.name.replace('_', '-')} {portable(cfg[f.name])}"
        for f in fields(TrainConfig)
        if f.name in cfg and f.name not in skip and cfg[f.name] != f.default
    ]
    return " ".join(["python -m training.train", *args])


def mixed_figures(
    embed: Embed,
    partners: list[Path],
    others: list[Path],
    args: argparse.Namespace,
    figures: dict,
) -> set[str]:
    """Score old-vs-new LFW pairs (one face embedded by each model) into `figures`; the ids of
    `others` whose mixed pairs score at least the older model's own accuracy (compatible)."""
    from photoface.core.embed import OnnxEmbedder
    from training.evaluate import evaluate, evaluate_mixed

    ok = set()
    for path in [*partners, *others]:
        old = OnnxEmbedder(path, batch_size=256)
        mixed = evaluate_mixed(old.embed, embed, args.cache_dir, args.data)
        own = evaluate(old.embed, args.cache_dir, args.data)["aligned"]
        figures[f"mixed {old.info.model_id}-{args.model_id}"] = mixed.__dict__
        figures[f"own {old.info.model_id}"] = own.__dict__
        verdict = "compatible" if mixed.accuracy >= own.accuracy else "below its own"
        print(
            f"{old.info.model_id} against {args.model_id}: {100 * mixed.accuracy:.2f}%, "
            f"{old.info.model_id} alone {100 * own.accuracy:.2f}%: {verdict}"
        )
        if path in others and mixed.accuracy >= own.accuracy:
            ok.add(old.info.model_id)
    return ok


Checked = tuple[ModelInfo, dict[str, dict], float]


def write_checked(model: torch.nn.Module, ck: dict, args: argparse.Namespace, tmp: Path) -> Checked:
    """Export `model` to `tmp` with its metadata and check it as the app will read it: the
    ModelInfo written, the LFW figures (none with --threshold) and the largest difference from
    PyTorch. With --int8 the float graph is checked, then quantized (`training.quantize`), and
    the figures are the int8 file's own. Raises ExportError when the file is not what the app
    should get."""
    to_onnx(model, tmp)
    err = parity(model, tmp)
    if err > PARITY_ATOL:
        raise ExportError(f"onnxruntime differs from PyTorch by {err:.2e} (> {PARITY_ATOL})")
    from training.evaluate import evaluate, torch_embedder

    embed = torch_embedder(model)
    if args.int8:
        # The float file as the app reads it (the threshold still to be measured): its metadata
        # and pre-processing are checked float-exact before it is quantized.
        draft = model_info(model, args, 1.0 if args.threshold is None else args.threshold, set())
        write_metadata(tmp, draft.to_metadata())
        err = max(err, read_back(model, tmp, draft))
        embed = int8_in_place(model, tmp, args.cache_dir)
    figures: dict[str, dict] = {}
    threshold = args.threshold
    if threshold is None:
        res = evaluate(embed, args.cache_dir, args.data, modes=("aligned", "centre"))
        figures = {k: v.__dict__ for k, v in res.items()}
        threshold = res["aligned"].threshold
    compat = {c for c in args.compatible_with.split(",") if c}
    harmonic = ck["config"].get("harmonic")
    if harmonic:  # trained to be comparable with that model: say so (and measure it below)
        from photoface.core.embed import OnnxEmbedder

        compat.add(OnnxEmbedder(Path(harmonic)).info.model_id)
    if figures:  # LFW was scored (no --threshold given): old-vs-new pairs too
        partners = [Path(harmonic)] if harmonic else []
        compat |= mixed_figures(embed, partners, args.mixed_with, args, figures)
    info = model_info(model, args, threshold, compat)
    write_metadata(tmp, info.to_metadata())
    if args.int8:
        check_metadata(tmp, info)
    else:
        err = max(err, read_back(model, tmp, info))
    return info, figures, err


def model_info(
    model: torch.nn.Module, args: argparse.Namespace, threshold: float, compat: set[str]
) -> ModelInfo:
    cluster = args.cluster_threshold
    # Thresholds to four decimals, as every export has written them.
    return ModelInfo(
        model_id=args.model_id,
        input_size=CROP_SIZE,
        mean=(MEAN, MEAN, MEAN),
        std=(STD, STD, STD),
        embedding_size=model.cfg.embedding,
        threshold=round(threshold, 4),
        compatible_with=tuple(sorted(compat)),
        cluster_threshold=None if cluster is None else round(cluster, 4),
        flip_averaged=args.flip,
    )


INT8_CARD = (
    "onnxruntime static QDQ: int8 weights per output channel, uint8 activations with ranges "
    f"measured on {quantize.CALIB_FACES} training crops (training/quantize.py); the figures "
    "are the int8 file's"
)
INT8_MIN_COSINE = 0.99  # an int8 file's mean agreement with the float network on real crops


def int8_in_place(model: torch.nn.Module, path: Path, cache: Path) -> Embed:
    """Quantize the checked float file at `path` in place; returns the app's embedder of it.
    Raises ExportError when there are no crops to calibrate on, or when the int8 network
    departs from the float one on real crops."""
    from photoface.core.embed import OnnxEmbedder
    from training.augment import centre

    try:
        crops = np.ascontiguousarray(centre(quantize.calibration_crops(cache)))
    except quantize.CalibrationMissing as e:
        raise ExportError(str(e)) from None
    x = to_tensor(crops).numpy()
    batches = [x[i : i + 32] for i in range(0, len(x), 32)]
    q = path.with_name(path.name + ".int8")
    try:
        quantize.quantize(path, q, batches, INPUT_NAME)
        q.replace(path)
    finally:
        q.unlink(missing_ok=True)
    app = OnnxEmbedder(path, batch_size=256)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).float().numpy()
    cosine = float((app.embed(crops) * ref).sum(1).mean())
    if cosine < INT8_MIN_COSINE:
        raise ExportError(
            f"the int8 network departs from the float one (mean cosine {cosine:.4f} < "
            f"{INT8_MIN_COSINE} on {len(crops)} training crops)"
        )
    print(f"int8: mean cosine {cosine:.4f} with the float network on {len(crops)} training crops")
    return app.embed


def check_metadata(path: Path, written: ModelInfo) -> OnnxEmbedder:
    """The app's embedder of the file, once its metadata reads back as written (read_back
    without the float-exact embedding check, for an int8 file)."""
    from photoface.core.embed import OnnxEmbedder
    from photoface.errors import PhotofaceError

    try:
        app = OnnxEmbedder(path)
    except PhotofaceError as e:
        raise ExportError(f"the app cannot load it: {e}") from e
    wrong = written.differences(app.info)
    if wrong:
        raise ExportError(
            "its metadata reads back otherwise (written != read): " + "; ".join(wrong)
        )
    return app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("checkpoint", nargs="?", type=Path)
    ap.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--model-id", default="pf-nn4s-v1")
    ap.add_argument("--compatible-with", default="", help="comma-separated model ids")
    ap.add_argument("--threshold", type=float, help="skip LFW calibration and use this")
    ap.add_argument(
        "--cluster-threshold",
        type=float,
        help="the app's default grouping distance (tune it with "
        "python -m photoface.bench.albums LFW --split tune --grid)",
    )
    ap.add_argument("--out-dir", type=Path, help="default: resources/models (installs)")
    ap.add_argument("--no-install", action="store_true", help="only write to --out-dir/cache")
    ap.add_argument(
        "--flip", action="store_true", help="embed a face with its mirror image (twice the time)"
    )
    ap.add_argument(
        "--int8",
        action="store_true",
        help="quantize the network to int8 (training.quantize; 2.4-2.8x faster on this "
        "project's VNNI CPU); the figures are then the int8 file's",
    )
    ap.add_argument(
        "--mixed-with",
        type=Path,
        action="append",
        default=[],
        help="an older model to score old-vs-new pairs against (repeatable); it is "
        "listed as compatible when those pairs score at least its own "
        "accuracy",
    )
    args = ap.parse_args(argv)
    ckpt = args.checkpoint or args.cache_dir / "runs" / "main" / "last.pt"
    model, ck = load_checkpoint(ckpt)
    if args.flip:
        from training.model import FlipAveraged

        model = FlipAveraged(model).eval()
    from photoface import paths

    default_dir = args.cache_dir / "export" if args.no_install else paths.bundled_models_dir()
    out_dir = args.out_dir or default_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"photoface-{args.model_id}.onnx"
    tmp = out_dir / f".{onnx_path.name}.tmp"
    try:
        info, figures, err = write_checked(model, ck, args, tmp)
    except ExportError as e:
        tmp.unlink(missing_ok=True)
        raise SystemExit(f"training.export: error: {onnx_path.name} not installed: {e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if not args.no_install and args.out_dir is None:
        for old in out_dir.glob("photoface-*"):
            old.unlink()
    tmp.replace(onnx_path)
    cfg = {k: portable(v) for k, v in ck["config"].items()}
    card = {
        "model_id": args.model_id,
        "file": onnx_path.name,
        "architecture": ("int8 " if args.int8 else "")
        + ("flip-averaged " if args.flip else "")
        + f"NN4-class {ARCH_NAMES[model.cfg.arch]}, "
        f"{count_params(model) / 1e6:.2f}M parameters, "
        f"{count_macs(model) / 1e6:.0f}M multiply-adds, {CROP_SIZE}x{CROP_SIZE} RGB in, "
        f"{info.embedding_size}-D unit vector out",
        "training": {
            "data": "crops by photoface's own YuNet + alignment; LFW View-2 folds 0-4 and the "
            "in-the-wild tuning album's 60 identities never trained on",
            "sources": provenance.sources_used(args.cache_dir),
            "teachers": provenance.teachers_used(cfg.get("teacher"), cfg.get("distill", 0.0)),
            "recipe": recipe(cfg),
            "steps": ck["step"],
            "images_seen": ck.get("seen"),
            "minutes": round(ck.get("minutes", 0.0), 1),
            "config": cfg,
        },
        "threshold": info.threshold,
        "cluster_threshold": args.cluster_threshold,
        "lfw_protocol": "View-2 folds 0-4, threshold from the other 4 folds",
        "lfw": figures,
        "parity_max_abs_diff": err,
        "quantization": INT8_CARD if args.int8 else None,
        "exported": time.strftime("%Y-%m-%d"),
        "commands": {
            "prepare": "python -m training.prepare",
            "teacher": f"python -m training.teacher --teacher {cfg.get('teacher', 'dlib')}",
            "train": train_command(cfg),
            "export": "python -m training.export "
            + shlex.join(portable_arg(a) for a in (sys.argv[1:] if argv is None else argv)),
            "evaluate": "python -m training.evaluate",
        },
    }
    onnx_path.with_suffix(".json").write_text(json.dumps(card, indent=1))
    print(f"wrote {onnx_path} (threshold {info.threshold:.3f}, parity {err:.1e})")
    for k, v in figures.items():
        print(
            f"  {k:20s} accuracy {100 * v['accuracy']:.2f}% +- {100 * v['std']:.2f}, "
            f"VAL@FAR=1e-3 {100 * v['val']:.1f}%, AUC {v['auc']:.4f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
