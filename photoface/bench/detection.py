"""Detection benchmark: recall by face width and ms per photo, per detector and decode size.

    python -m photoface.bench.detection ../shared/data/groups [--upscale 4] [--sizes 640,1024,1600]

The folder holds photos and a `boxes.tsv` (file x y w h, original pixels). A labelled face is
found when a detection overlaps it with IoU >= 0.4 (each detection counts once). With
--upscale N every photo is first enlarged N times and saved as a JPEG, standing in for a large
camera original, so the decode size the app uses for big photos can be chosen by measurement.
"""

from __future__ import annotations

import argparse
import csv
import logging
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from photoface.core import imaging
from photoface.core.detect import Detector, make_detector

log = logging.getLogger(__name__)

BUCKETS = [("<20", 0, 20), ("20-40", 20, 40), (">40", 40, 1e9), (">=20", 20, 1e9)]
IOU_HIT = 0.4


def read_boxes(folder: Path) -> dict[str, np.ndarray]:
    boxes: dict[str, list[list[float]]] = defaultdict(list)
    with open(folder / "boxes.tsv", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            boxes[row["file"]].append([float(row[k]) for k in ("x", "y", "w", "h")])
    return {k: np.array(v) for k, v in boxes.items()}


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between (x, y, w, h) boxes a (n) and b (m)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2) - np.maximum(a[:, None, 0], b[:, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2) - np.maximum(a[:, None, 1], b[:, 1]), 0, None)
    inter = iw * ih
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    return inter / np.maximum(union, 1e-9)


def hits(truth: np.ndarray, found: np.ndarray) -> np.ndarray:
    """Which labelled boxes are found: greedy one-to-one matching by IoU."""
    iou = iou_matrix(truth, found)
    hit = np.zeros(len(truth), bool)
    used = np.zeros(len(found), bool)
    for t, d in sorted(np.argwhere(iou >= IOU_HIT).tolist(), key=lambda td: -iou[td[0], td[1]]):
        if not hit[t] and not used[d]:
            hit[t] = used[d] = True
    return hit


def evaluate(
    detector: Detector, photos: list[tuple[Path, np.ndarray]], max_side: int | None
) -> dict[str, object]:
    widths, found, times, n_det = [], [], [], 0
    for path, truth in photos:
        t0 = time.perf_counter()
        loaded = imaging.load_image(path, max_side)
        dets = [d.scaled(loaded.scale) for d in detector.detect(loaded.rgb)]
        times.append(time.perf_counter() - t0)
        boxes = np.array([d.box for d in dets]).reshape(-1, 4)
        n_det += len(dets)
        widths.append(truth[:, 2])
        found.append(hits(truth, boxes))
    w, f = np.concatenate(widths), np.concatenate(found)
    out: dict[str, object] = {"ms": 1000 * float(np.median(times)), "detections": n_det}
    for name, lo, hi in BUCKETS:
        m = (w >= lo) & (w < hi)
        out[name] = (int(f[m].sum()), int(m.sum()))
    return out


def prepare(folder: Path, upscale: float, tmp: Path) -> list[tuple[Path, np.ndarray]]:
    boxes = read_boxes(folder)
    photos = []
    for name, truth in sorted(boxes.items()):
        src = folder / name
        if upscale == 1:
            photos.append((src, truth))
            continue
        with Image.open(src) as im:
            big = im.convert("RGB").resize(
                (round(im.width * upscale), round(im.height * upscale)), Image.Resampling.LANCZOS
            )
        dst = tmp / (Path(name).stem + ".jpg")
        big.save(dst, quality=92)
        photos.append((dst, truth * upscale))
    return photos


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--detectors", default="yunet,blazeface")
    ap.add_argument("--sizes", default="full,1600,1024,800", help="decode long sides ('full')")
    ap.add_argument("--upscale", type=float, default=1.0)
    ap.add_argument("--repeat", type=int, default=3, help="timing runs (median reported)")
    args = ap.parse_args(argv)
    sizes = [None if s == "full" else int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        photos = prepare(args.folder, args.upscale, Path(tmp))
        print(
            f"{len(photos)} photos, upscale x{args.upscale:g}; recall = found/labelled "
            f"(IoU >= {IOU_HIT}); ms = median per photo incl. decode"
        )
        head = f"{'detector':10s} {'decode':>6s} " + " ".join(f"{b[0]:>13s}" for b in BUCKETS)
        print(head + f" {'ms':>7s} {'dets':>5s}")
        best: dict[str, list[tuple[int | None, float]]] = defaultdict(list)
        for name in args.detectors.split(","):
            det = make_detector(name)
            for size in sizes:
                runs = [evaluate(det, photos, size) for _ in range(max(1, args.repeat))]
                r = runs[0]
                ms = float(np.median([x["ms"] for x in runs]))
                cells = []
                for b in BUCKETS:
                    k, n = r[b[0]]
                    cells.append(f"{k:4d}/{n:<4d}{100 * k / max(n, 1):3.0f}%")
                label = "full" if size is None else str(size)
                recalls = " ".join(f"{c:>13s}" for c in cells)
                print(f"{name:10s} {label:>6s} {recalls} {ms:7.1f} {r['detections']:5d}")
                k, n = r[">=20"]
                best[name].append((size, k / max(n, 1)))
            if hasattr(det, "close"):
                det.close()
        for name, rows in best.items():
            top = max(r for _, r in rows)
            ok = [s for s, r in rows if r >= top - 0.01 and s is not None]
            if ok:
                print(
                    f"{name}: smallest decode size within 1 point of its best >=20 px recall: "
                    f"{min(ok)} px"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
