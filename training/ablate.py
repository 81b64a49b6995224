"""Ablation: one change at a time on the same data, seed and number of images; a row each.

    python -m training.ablate [--steps 1200] [--only B,C] [--table]

The budget is steps (batches of 128), not minutes, so that other work on the machine cannot
tilt the comparison; each row's minutes are printed beside it (a faster network is worth more
steps in the same time).

Each row makes one change to its base row (the first row is the recipe of the first bundled
model). Runs go to <cache>/runs/ablate-<row>/ and resume like any training run; a finished row
is not run again. --table prints the table from the finished runs only. The results are read
from each run's checkpoint (last.pt), which holds its last LFW evaluation.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from training.data import default_cache_dir

V1_MODEL = "photoface-pf-nn4s-v1.onnx"  # the first bundled model
V1_DIR = Path(__file__).resolve().parent / "models"

# (row, what changes, base row, the change as training arguments)
ROWS: list[tuple[str, str, str, list[str]]] = [
    ("A", "v1 recipe: Inception, triplet + centred-teacher distillation", "", []),
    ("P", "A without the teacher: the paper's recipe, triplet loss only", "A", ["--distill", "0"]),
    ("B", "A + ResNet basic blocks (1.4x the images per second)", "A", ["--arch", "resnet"]),
    ("C", "B + teacher target: its raw distances only", "B", ["--teacher-target", "distance"]),
    ("D", "B + teacher target: centred cosine + raw distances", "B", ["--teacher-target", "both"]),
    ("E", "B + CosFace margin head (weight 0.1)", "B", ["--cosface", "0.1"]),
    ("F", "B + album augmentation (small, dark, JPEG faces)", "B", ["--aug", "album"]),
    ("G", "B + harmonic with v1 (v1's vectors in the triplets)", "B", ["--harmonic", "{v1}"]),
    ("H", "A + harmonic with v1 (the Inception net)", "A", ["--harmonic", "{v1}"]),
    ("I", "H + starting from v1's weights (v2's recipe)", "H", ["--init", "{v1}"]),
]


def v1_model() -> Path:
    """The first bundled model, kept beside the training code for harmonic training."""
    path = V1_DIR / V1_MODEL
    if not path.exists():
        raise SystemExit(f"{path} is missing: restore it from git")
    return path


def row_args(upto: str, steps: int) -> list[str]:
    """The training arguments of row `upto`: every change up to it, evaluated at the end."""
    rows = {key: (base, extra) for key, _, base, extra in ROWS}
    if upto not in rows:
        raise SystemExit(f"no ablation row {upto!r}")
    changes: list[str] = []
    while upto:
        base, extra = rows[upto]
        changes = [str(v1_model()) if a == "{v1}" else a for a in extra] + changes
        upto = base
    return ["--steps", str(steps), "--eval-every", str(steps), *changes]


def last_result(run_dir: Path) -> dict | None:
    """A finished row's figures (percent, as the table prints them): its checkpoint's last LFW
    evaluation; None before there is one."""
    path = run_dir / "last.pt"
    if not path.exists():
        return None
    from training.checkpoint import last_evaluation, read

    ev = last_evaluation(read(path))
    if ev is None:
        return None
    pct = {k: None if ev.get(k) is None else 100 * ev[k] for k in ("accuracy", "std", "val")}
    return {
        "step": ev["step"],
        "minutes": ev["minutes"],
        "images": ev["images"],
        **pct,
        "auc": ev["auc"],
    }


def table(cache: Path) -> str:
    lines = [
        "| row | change | LFW accuracy | VAL@FAR=1e-3 | AUC | images seen | minutes |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, what, _, _ in ROWS:
        r = last_result(cache / "runs" / f"ablate-{key}")
        if r:
            spread = "" if r["std"] is None else f" ± {r['std']:.2f}"  # older checkpoints: none
            lines.append(
                f"| {key} | {what} | {r['accuracy']:.2f}%{spread} | "
                f"{r['val']:.1f}% | {r['auc']:.4f} | {r['images']:,} | "
                f"{r['minutes']:.1f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=1200, help="batches of 128 per row")
    ap.add_argument("--only", default="", help="comma-separated rows (default: all)")
    ap.add_argument("--cache-dir", type=Path, default=default_cache_dir())
    ap.add_argument("--table", action="store_true", help="print the table of finished rows")
    args = ap.parse_args(argv)
    if not args.table:
        from training import train

        wanted = [r for r in args.only.split(",") if r] or [k for k, _, _, _ in ROWS]
        for key in wanted:
            if last_result(args.cache_dir / "runs" / f"ablate-{key}") is not None:
                continue
            run = ["--name", f"ablate-{key}", "--cache-dir", str(args.cache_dir)]
            train.main([*row_args(key, args.steps), *run])
    print(table(args.cache_dir))
    results = {k: last_result(args.cache_dir / "runs" / f"ablate-{k}") for k, _, _, _ in ROWS}
    (args.cache_dir / "ablation.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
