"""Aligned training crops: photoface's own detector and aligner over the allowed datasets.

    python -m training.prepare [--data ../shared/data] [--extra-data ../facedata]
                               [--cache-dir cache] [--workers 2]

For every photo the data README allows for training (and, separately, every LFW image of the
evaluation pairs) the face nearest the image centre is found with YuNet and aligned with
`photoface.core.align` onto a canvas PAD pixels wider than the 96 x 96 model crop (room for
augmentation). Photos without a face are counted and reported. Work is saved in shards, so an
interrupted run resumes; the result is `crops.npy` (uint8, N x 112 x 112 x 3) + `manifest.tsv`,
with each photo's box and 5 landmarks (`boxes.npy`, `landmarks.npy`, in the photo's own pixels)
for the teachers. --extra-data (default $PHOTOFACE_EXTRA_DATA or ../facedata) holds the two
extra sources of `training.data`; a missing one is skipped with a message.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from training.data import (
    CELEB_DIR,
    Item,
    default_cache_dir,
    default_data_dir,
    default_extra_dir,
    lfw_pairs,
    training_items,
)
from training.options import parse_config

log = logging.getLogger(__name__)

PAD = 8  # canvas = 96 + 2 * PAD
SHARD = 2000
SMALL = 160  # photos no larger than this (pre-aligned faces) are also tried enlarged


@dataclass
class PrepareConfig:
    data: str = str(default_data_dir())
    extra_data: str = (
        "auto"  # facedata/ beside the data's shared/ (see default_extra_dir); "": none
    )
    cache_dir: str = str(default_cache_dir())
    workers: int = 2
    limit: int = 0  # only the first N photos (tests, dry runs)
    lfw_folds: int = 5  # crop the people of View-2 folds 0..N-1 (10: the standard protocol)
    lfw_only: bool = False  # only the LFW evaluation images (for scoring before training data)


_detector = None


def _init_worker() -> None:
    global _detector
    from photoface.core.detect import make_detector

    _detector = make_detector("yunet", threads=1)


def crop_one(path: str) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, str]:
    """(crop or None, box, landmarks, note) for the face nearest the centre of one photo."""
    from photoface.core import align, imaging
    from photoface.errors import ImageError

    try:
        loaded = imaging.load_image(path, max_side=None)
    except ImageError as e:
        return None, np.zeros(4, np.float32), np.zeros((5, 2), np.float32), f"unreadable: {e}"
    dets = _detector.detect(loaded.rgb)
    if not dets and max(loaded.rgb.shape[:2]) <= SMALL:
        dets = _detect_enlarged(loaded.rgb)
    if not dets:
        return None, np.zeros(4, np.float32), np.zeros((5, 2), np.float32), "no face"
    h, w = loaded.rgb.shape[:2]
    centre = np.array([w / 2, h / 2])
    best = min(dets, key=lambda d: np.hypot(*(_box_centre(d.box) - centre)))
    crop = align.align_face(loaded.rgb, best.landmarks, pad=PAD)
    return crop, np.array(best.box, np.float32), best.landmarks.astype(np.float32), ""


def source_of(item: Item) -> str:
    """The source a photo came from. A celebrity who is an LFW training person takes the LFW
    identity (one person, one label), but the photo still counts for its own source."""
    if CELEB_DIR.name in item.path.parts:
        return "celeb"
    return item.identity.split("/")[0]


def _box_centre(box: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([box[0] + box[2] / 2, box[1] + box[3] / 2])


def _detect_enlarged(rgb: np.ndarray) -> list:
    """A face that fills a small photo (a pre-aligned crop): found on the photo doubled and
    framed by its own edge pixels, given back in the photo's own coordinates."""
    pad = rgb.shape[0] // 2
    big = np.pad(np.repeat(np.repeat(rgb, 2, 0), 2, 1), ((pad, pad), (pad, pad), (0, 0)), "edge")
    out = []
    for d in _detector.detect(big):
        box = ((np.asarray(d.box, float) - [pad, pad, 0, 0]) / 2).tolist()
        out.append(replace(d, box=tuple(box), landmarks=(d.landmarks - pad) / 2))
    return out


def run_set(name: str, paths: list[str], out: Path, workers: int) -> np.ndarray:
    """Crop `paths` into out/name_crops.npy; returns the ok mask. Resumes from shards."""
    shard_dir = out / f"{name}_shards"
    shard_dir.mkdir(parents=True, exist_ok=True)
    listing = shard_dir / "paths.txt"
    if listing.exists() and listing.read_text() != "\n".join(paths):
        raise SystemExit(
            f"{shard_dir} holds shards of another list of photos (other data or "
            "options): remove it, or use another --cache-dir"
        )
    listing.write_text("\n".join(paths))
    t0, done = time.monotonic(), 0
    with Pool(workers, initializer=_init_worker) as pool:
        for s in range(0, len(paths), SHARD):
            f = shard_dir / f"{s // SHARD:04d}.npz"
            chunk = paths[s : s + SHARD]
            if not f.exists():
                res = pool.map(crop_one, chunk, chunksize=16)
                size = 96 + 2 * PAD
                blank = np.zeros((size, size, 3), np.uint8)
                crops = np.stack([r[0] if r[0] is not None else blank for r in res])
                tmp = f.with_suffix(f".tmp{os.getpid()}.npz")  # one file per run
                np.savez(
                    tmp,
                    crops=crops,
                    ok=np.array([r[0] is not None for r in res]),
                    boxes=np.stack([r[1] for r in res]),
                    landmarks=np.stack([r[2] for r in res]),
                    notes=np.array([r[3] for r in res]),
                )
                tmp.replace(f)
                done += len(chunk)
            rate = done / max(time.monotonic() - t0, 1e-6)
            left = (len(paths) - s - len(chunk)) / rate if rate else 0
            msg = f"{min(s + SHARD, len(paths))}/{len(paths)} photos, {rate:.0f}/s"
            print(f"[{name}] {msg}, ETA {left / 60:.1f} min", file=sys.stderr, flush=True)
    shards = [np.load(shard_dir / f"{i:04d}.npz") for i in range(-(-len(paths) // SHARD))]
    ok = np.concatenate([z["ok"] for z in shards])
    np.save(out / f"{name}_crops.npy", np.concatenate([z["crops"] for z in shards]))
    np.save(out / f"{name}_boxes.npy", np.concatenate([z["boxes"] for z in shards]))
    np.save(out / f"{name}_landmarks.npy", np.concatenate([z["landmarks"] for z in shards]))
    notes = np.concatenate([z["notes"] for z in shards])
    missing = [(p, n) for p, n, k in zip(paths, notes, ok, strict=True) if not k]
    print(
        f"[{name}] {int(ok.sum())}/{len(paths)} photos gave a face; {len(missing)} did not",
        file=sys.stderr,
    )
    for p, n in missing[:20]:
        print(f"  {n}: {p}", file=sys.stderr)
    return ok


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(PrepareConfig, argv, __doc__)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data, out = Path(cfg.data), Path(cfg.cache_dir)
    out.mkdir(parents=True, exist_ok=True)
    auto = cfg.extra_data == "auto"
    extra = default_extra_dir(data) if auto else Path(cfg.extra_data) if cfg.extra_data else None
    if extra is not None and not extra.is_dir():
        print(f"no extra face data in {extra}: prepared without it", file=sys.stderr)
        extra = None
    items = training_items(data, extra)
    if cfg.limit:
        items = items[: cfg.limit]
    if not cfg.lfw_only:
        ok = run_set("train", [str(i.path) for i in items], out, cfg.workers)
        with open(out / "train_manifest.tsv", "w") as f:
            f.write("index\tidentity\tpath\tok\n")
            for k, (it, good) in enumerate(zip(items, ok, strict=True)):
                f.write(f"{k}\t{it.identity}\t{it.path}\t{int(good)}\n")
    pairs = [p for p in lfw_pairs(data / "lfw") if p.fold < cfg.lfw_folds]
    names = sorted({x for p in pairs for x in (p.a, p.b)})
    if cfg.limit:
        names = names[: cfg.limit]
    lfw_root = data / "lfw" / "lfw-deepfunneled"
    eok = run_set("lfw_eval", [str(lfw_root / n) for n in names], out, cfg.workers)
    (out / "lfw_eval_names.json").write_text(json.dumps(names))
    if cfg.lfw_only:
        return 0
    meta = {
        "pad": PAD,
        "train": len(items),
        "train_ok": int(ok.sum()),
        "identities": len({i.identity for i in items}),
        "sources": dict(Counter(source_of(i) for i in items)),
        "lfw_eval": len(names),
        "lfw_eval_ok": int(eok.sum()),
    }
    (out / "prepare.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
