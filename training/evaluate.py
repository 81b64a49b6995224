"""LFW verification: accuracy +- std, VAL@FAR=1e-3, AUC, ROC curve; any model of our contract.

    python -m training.evaluate [MODEL.onnx | CHECKPOINT.pt] [--folds 5] [--roc roc.png]
    python -m training.evaluate --teacher dlib|sface|both   (a teacher's cached vectors)

Protocol (../shared/data/README.md): View-2 pairs of folds 0-4 (the identities we never train
on), each fold scored at the threshold that is best on the other four. Modes: "aligned" (our
detector + alignment, the app's crops) and "centre" (a fixed centre crop of the deep-funneled
image, as the paper also reports); each also with int8-quantised embeddings, as the app stores
them, scored twice: at thresholds re-picked on the int8 distances ("int8") and at the float
ones ("int8@float": what the app does, a threshold calibrated on float vectors applied to stored
int8 ones). With no argument the bundled model in resources/models is scored. --teacher scores
a teacher on the same faces and landmarks (`python -m training.teacher --set lfw_eval` caches
its vectors; unit length, squared L2, as the students are scored).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.data import default_cache_dir, default_data_dir, lfw_pairs

if TYPE_CHECKING:
    from torch import nn

FAR_TARGET = 1e-3


@dataclass(frozen=True)
class Verification:
    accuracy: float
    std: float
    val: float  # true accept rate at FAR = 1e-3
    far: float
    auc: float
    threshold: float  # best on all evaluated folds together (what export calibrates)
    fold_thresholds: tuple[float, ...] = ()  # the one each fold was scored at

    def line(self) -> str:
        return (
            f"accuracy {100 * self.accuracy:.2f}% +- {100 * self.std:.2f}, "
            f"VAL@FAR={FAR_TARGET:g} {100 * self.val:.1f}%, AUC {self.auc:.4f}, "
            f"threshold {self.threshold:.3f}"
        )


def best_threshold(d: np.ndarray, same: np.ndarray) -> float:
    """The squared-L2 threshold (same <=> d <= t) with the best accuracy on these pairs."""
    cand = np.unique(np.concatenate([d, [0.0, 4.0]]))
    mids = (cand[:-1] + cand[1:]) / 2
    acc = [((d <= t) == same).mean() for t in mids]
    return float(mids[int(np.argmax(acc))])


def verify(
    d: np.ndarray, same: np.ndarray, folds: np.ndarray, at: tuple[float, ...] = ()
) -> Verification:
    """Each fold scored at the threshold best on the others, or at the given ones (`at`, one
    per fold: another embedding's, so that only the distances differ)."""
    accs, chosen = [], []
    for i, f in enumerate(np.unique(folds)):
        train, test = folds != f, folds == f
        t = at[i] if at else best_threshold(d[train], same[train])
        chosen.append(float(t))
        accs.append(((d[test] <= t) == same[test]).mean())
    diff = np.sort(d[~same])
    k = int(np.floor(FAR_TARGET * len(diff)))
    t_far = diff[k] - 1e-9 if k < len(diff) else 4.0  # accept at most k different pairs
    if k == 0:
        t_far = diff[0] - 1e-9
    val = float((d[same] <= t_far).mean())
    far = float((diff <= t_far).mean())
    from sklearn.metrics import roc_auc_score

    auc = float(roc_auc_score(same, -d))
    return Verification(
        accuracy=float(np.mean(accs)),
        std=float(np.std(accs)),
        val=val,
        far=far,
        auc=auc,
        threshold=best_threshold(d, same),
        fold_thresholds=tuple(chosen),
    )


def quantised(emb: np.ndarray) -> np.ndarray:
    from photoface.core.embed import dequantize, quantize

    return dequantize(quantize(emb))


def pair_distances(emb: dict[str, np.ndarray], pairs: list) -> np.ndarray:
    return np.array([float(((emb[p.a] - emb[p.b]) ** 2).sum()) for p in pairs])


def centre_crops(names: list[str], lfw_root: Path, box: int = 110, size: int = 96) -> np.ndarray:
    from PIL import Image

    out = np.zeros((len(names), size, size, 3), np.uint8)
    for i, n in enumerate(names):
        with Image.open(lfw_root / n) as im:
            w, h = im.size
            x0, y0 = (w - box) // 2, (h - box) // 2 + 5  # deep-funneled faces sit a little low
            square = im.convert("RGB").crop((x0, y0, x0 + box, y0 + box))
            out[i] = np.asarray(square.resize((size, size), Image.Resampling.BILINEAR))
    return out


def onnx_embedder(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    from photoface.core.embed import OnnxEmbedder

    e = OnnxEmbedder(path, batch_size=256)
    return e.embed


def torch_embedder(model: nn.Module, flip: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    import torch

    from training.augment import to_tensor

    def embed(crops: np.ndarray) -> np.ndarray:
        model.eval()
        out = []
        with torch.no_grad():
            for s in range(0, len(crops), 256):
                x = to_tensor(crops[s : s + 256])
                e = model(x)
                if flip:
                    e = torch.nn.functional.normalize(e + model(torch.flip(x, dims=[3])), dim=1)
                out.append(e.float().numpy())
        return np.concatenate(out)

    return embed


def evaluate(
    embed: Callable[[np.ndarray], np.ndarray],
    cache: Path,
    data: Path,
    modes: tuple[str, ...] = ("aligned",),
    n_folds: int = 5,
) -> dict[str, Verification]:
    from training.augment import centre

    names = json.loads((cache / "lfw_eval_names.json").read_text())
    pairs = [p for p in lfw_pairs(data / "lfw") if p.fold < n_folds]
    if not {x for p in pairs for x in (p.a, p.b)} <= set(names):
        raise SystemExit(
            f"the cache holds crops of fewer folds than {n_folds}: run "
            f"python -m training.prepare --lfw-folds {n_folds} first"
        )
    same = np.array([p.same for p in pairs])
    folds = np.array([p.fold for p in pairs])
    results = {}
    for mode in modes:
        if mode == "aligned":
            crops = centre(np.load(cache / "lfw_eval_crops.npy", mmap_mode="r"))
        else:
            crops = centre_crops(names, data / "lfw" / "lfw-deepfunneled")
        emb = embed(np.ascontiguousarray(crops))
        d = {
            tag: pair_distances(dict(zip(names, e, strict=True)), pairs)
            for tag, e in (("", emb), (" int8", quantised(emb)))
        }
        for tag, dist in d.items():
            results[mode + tag] = verify(dist, same, folds)
        # What the app does: int8 vectors compared at thresholds calibrated on float ones. The
        # line above re-picks thresholds on the int8 distances, and one pair crossing moves
        # that pick; this one measures the rounding alone.
        float_thresholds = results[mode].fold_thresholds
        results[mode + " int8@float"] = verify(d[" int8"], same, folds, float_thresholds)
    return results


def evaluate_mixed(
    embed_old: Callable[[np.ndarray], np.ndarray],
    embed_new: Callable[[np.ndarray], np.ndarray],
    cache: Path,
    data: Path,
    n_folds: int = 5,
) -> Verification:
    """Harmonic compatibility: each pair's first photo embedded by the old model, the second
    by the new one (as in a library embedded by v1 to which v2 adds photos); aligned crops."""
    from training.augment import centre

    names = json.loads((cache / "lfw_eval_names.json").read_text())
    pairs = [p for p in lfw_pairs(data / "lfw") if p.fold < n_folds]
    crops = np.ascontiguousarray(centre(np.load(cache / "lfw_eval_crops.npy", mmap_mode="r")))
    old = dict(zip(names, embed_old(crops), strict=True))
    new = dict(zip(names, embed_new(crops), strict=True))
    d = np.array([float(((old[p.a] - new[p.b]) ** 2).sum()) for p in pairs])
    same = np.array([p.same for p in pairs])
    return verify(d, same, np.array([p.fold for p in pairs]))


def evaluate_teacher(name: str, cache: Path, data: Path, n_folds: int = 5) -> Verification:
    """A teacher's cached vectors of the LFW evaluation images, scored like a model's."""
    from training.teacher import teacher_file, unit

    path = teacher_file(cache, name, "lfw_eval")
    if not path.exists():
        raise SystemExit(
            f"no {path.name} in {cache}: run python -m training.teacher --set "
            f"lfw_eval --teacher {name} first"
        )
    names = json.loads((cache / "lfw_eval_names.json").read_text())
    pairs = [p for p in lfw_pairs(data / "lfw") if p.fold < n_folds]
    emb = dict(zip(names, unit(np.load(path)), strict=True))
    d = pair_distances(emb, pairs)
    return verify(d, np.array([p.same for p in pairs]), np.array([p.fold for p in pairs]))


def roc_png(
    embed: Callable[[np.ndarray], np.ndarray], cache: Path, data: Path, out: Path, n_folds: int = 5
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    from training.augment import centre

    names = json.loads((cache / "lfw_eval_names.json").read_text())
    pairs = [p for p in lfw_pairs(data / "lfw") if p.fold < n_folds]
    crops = centre(np.load(cache / "lfw_eval_crops.npy", mmap_mode="r"))
    emb = dict(zip(names, embed(np.ascontiguousarray(crops)), strict=True))
    fpr, tpr, _ = roc_curve([p.same for p in pairs], -pair_distances(emb, pairs))
    plt.figure(figsize=(4, 4))
    plt.semilogx(np.maximum(fpr, 1e-4), tpr)
    plt.xlabel("false accept rate")
    plt.ylabel("true accept rate")
    plt.title(f"LFW View-2 folds 0-{n_folds - 1}, aligned")
    plt.grid(True, which="both", alpha=0.3)
    plt.tight_layout()
    plt.savefig(out, dpi=100)


def load_any(
    model: str | None, flip: bool = False
) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    if model is None:
        from photoface import paths
        from photoface.core.embed import find_model

        found = find_model(paths.bundled_models_dir())
        if found is None:
            raise SystemExit("no model in resources/models; give a model or checkpoint")
        model = str(found)
    if model.endswith(".onnx"):
        if flip:
            raise SystemExit("--flip scores checkpoints; export --flip puts it in an ONNX model")
        return onnx_embedder(Path(model)), model
    from training.checkpoint import load_checkpoint

    net, _ = load_checkpoint(Path(model))
    return torch_embedder(net, flip=flip), model + (" (flip-averaged)" if flip else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("model", nargs="?", help="an ONNX model or a training checkpoint")
    ap.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    ap.add_argument("--data", type=Path, default=default_data_dir())
    ap.add_argument("--roc", type=Path, help="write the ROC curve here (PNG)")
    ap.add_argument("--json", type=Path, help="write the figures here")
    ap.add_argument(
        "--folds",
        type=int,
        default=5,
        help="5: folds 0-4 (our protocol); 10: standard, for models that saw no LFW",
    )
    ap.add_argument("--mixed-with", help="an older model: also score old-vs-new pairs (harmonic)")
    ap.add_argument("--flip", action="store_true", help="a checkpoint's face + mirror, averaged")
    ap.add_argument(
        "--teacher",
        choices=("dlib", "sface", "both"),
        help="score a teacher's cached vectors instead of a model",
    )
    args = ap.parse_args(argv)
    if args.teacher:
        res = evaluate_teacher(args.teacher, args.cache_dir, args.data, args.folds)
        print(
            f"teacher {args.teacher} on LFW View-2 folds 0-{args.folds - 1} (threshold from "
            f"the other {args.folds - 1} folds):"
        )
        print(f"  {'aligned':20s} {res.line()}")
        if args.json:
            args.json.write_text(json.dumps({f"teacher {args.teacher}": res.__dict__}, indent=1))
        return 0
    embed, name = load_any(args.model, args.flip)
    res = evaluate(
        embed, args.cache_dir, args.data, modes=("aligned", "centre"), n_folds=args.folds
    )
    if args.mixed_with:
        old, _ = load_any(args.mixed_with)
        res["mixed old-new"] = evaluate_mixed(old, embed, args.cache_dir, args.data, args.folds)
    print(
        f"{name} on LFW View-2 folds 0-{args.folds - 1} "
        f"(threshold from the other {args.folds - 1} folds):"
    )
    for mode, v in res.items():
        print(f"  {mode:20s} {v.line()}")
    if args.roc:
        roc_png(embed, args.cache_dir, args.data, args.roc, args.folds)
    if args.json:
        args.json.write_text(json.dumps({k: v.__dict__ for k, v in res.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
