"""The dlib teacher: its 128-D descriptor of every training photo, computed once and cached.

    python -m training.teacher [--cache-dir cache] [--workers 2]

dlib's ResNet (face_recognition_models) sees each photo with its own 5-point shape predictor run
inside photoface's YuNet box (from `training.prepare`). ~85 ms a face a core; saved in shards,
so an interrupted run resumes. Output: `teacher.npy` (float32, N x 128; zeros where no face).
Only training/ depends on dlib; the app never does.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, fields
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from training.data import default_cache_dir

SHARD = 1000


@dataclass
class TeacherConfig:
    cache_dir: str = str(default_cache_dir())
    workers: int = 2


_models = None


def _init() -> None:
    global _models
    import warnings

    import dlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition_models as frm

    _models = (
        dlib.shape_predictor(frm.pose_predictor_five_point_model_location()),
        dlib.face_recognition_model_v1(frm.face_recognition_model_location()),
    )


def describe(args: tuple[str, np.ndarray]) -> np.ndarray:
    import dlib

    from photoface.core import imaging

    path, box = args
    rgb = imaging.load_image(path, max_side=None).rgb
    x, y, w, h = (float(v) for v in box)
    rect = dlib.rectangle(int(x), int(y), int(x + w), int(y + h))
    shape = _models[0](rgb, rect)
    return np.array(_models[1].compute_face_descriptor(rgb, shape), np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    for f in fields(TeacherConfig):
        ap.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    cfg = TeacherConfig(**vars(ap.parse_args(argv)))
    cache = Path(cfg.cache_dir)
    rows = [ln.split("\t") for ln in (cache / "train_manifest.tsv").read_text().splitlines()[1:]]
    boxes = np.load(cache / "train_boxes.npy")
    todo = [(k, r[2]) for k, r in enumerate(rows) if r[3] == "1"]
    shard_dir = cache / "teacher_shards"
    shard_dir.mkdir(exist_ok=True)
    t0, done = time.monotonic(), 0
    with Pool(cfg.workers, initializer=_init) as pool:
        for s in range(0, len(todo), SHARD):
            f = shard_dir / f"{s // SHARD:04d}.npy"
            if f.exists():
                continue
            chunk = todo[s : s + SHARD]
            vecs = pool.map(describe, [(p, boxes[k]) for k, p in chunk], chunksize=8)
            np.save(shard_dir / "tmp.npy", np.stack(vecs))
            (shard_dir / "tmp.npy").replace(f)
            done += len(chunk)
            rate = done / (time.monotonic() - t0)
            left = (len(todo) - s - len(chunk)) / rate
            print(f"[teacher] {s + len(chunk)}/{len(todo)} faces, {rate:.1f}/s, "
                  f"ETA {left / 60:.1f} min", file=sys.stderr, flush=True)  # fmt: skip
    out = np.zeros((len(rows), 128), np.float32)
    vecs = np.concatenate([np.load(shard_dir / f"{i:04d}.npy")
                           for i in range(-(-len(todo) // SHARD))])  # fmt: skip
    out[[k for k, _ in todo]] = vecs
    np.save(cache / "teacher.npy", out)
    print(f"[teacher] wrote {cache / 'teacher.npy'}: {len(todo)} faces", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
