"""Scan benchmark: photos/s and faces/s end to end, CPU use, the ratio to the decode floor, the
split between stages, peak memory.

    python -m photoface.bench.scan FOLDER [--limit 500] [--large 40] [--repeat 3] [--workers N]

Copies up to --limit photos from FOLDER (recursively) into a temporary folder, then runs the
app's own `scan` into a fresh library, --repeat times (median reported), with --workers worker
processes (default: one per core; 1: the one-process path). CPU use is the CPU time of this
process and its (joined) workers over the wall time, per core. The decode floor is one process
that only reads and decodes the same files (JPEG draft mode to about --max-side, what no scan
can skip); the scan's time over it is the ratio printed. A second pass times each stage on the
same files with the same functions, in one process: decode (the floor's draft decode),
resize+turn, detect, align (+quality and JPEG of the stored crop), embed, store; and compares
the detector input shrunk by OpenCV and by Pillow (time, and the faces found by each). --large
N also makes N 12-megapixel JPEGs (4000x3000, enlarged from the photos) to measure camera-sized
files. A rescan of the unchanged folder is timed too (seconds per 1,000 photos).
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from photoface.core import imaging
from photoface.core.detect import Detector, make_detector
from photoface.core.embed import Embedder, load_default_embedder
from photoface.core.imaging import DEFAULT_MAX_SIDE
from photoface.core.pipeline import ScanOptions, align_faces, embed_crops, list_photos
from photoface.jobs import drain, scan
from photoface.jobs.scan import face_record
from photoface.library import Library, PhotoRecord


def copy_photos(src: Path, dst: Path, limit: int) -> list[Path]:
    files = list_photos(src)[:limit]
    out = []
    for i, f in enumerate(files):
        target = dst / f"{i:05d}{f.suffix.lower()}"
        shutil.copy(f, target)
        out.append(target)
    return out


def make_large(photos: list[Path], dst: Path, n: int) -> list[Path]:
    out = []
    for i, f in enumerate(photos[:n]):
        with Image.open(f) as im:
            big = im.convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
        target = dst / f"large_{i:04d}.jpg"
        big.save(target, quality=90)
        out.append(target)
    return out


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_seconds() -> float:
    """CPU time of this process and of its children that have been waited for (the workers,
    joined when a scan ends)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def end_to_end(
    folder: Path,
    embedder: Embedder | None,
    repeat: int,
    max_side: int = DEFAULT_MAX_SIDE,
    workers: int = 1,
) -> dict[str, float]:
    runs = []
    detector = make_detector("yunet")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "b.sqlite3") as lib:
            opts = ScanOptions(max_side=max_side, workers=workers, parallel_from=1)
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            last = drain(scan(lib, folder, detector, embedder, options=opts))
            wall, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
            t0 = time.perf_counter()
            again = drain(scan(lib, folder, detector, embedder, options=opts))
            rescan = time.perf_counter() - t0
            assert again.unchanged == again.total
            runs.append((last.elapsed, last.total, last.faces, rescan, cpu / wall))
    el = float(np.median([r[0] for r in runs]))
    total, faces = runs[0][1], runs[0][2]
    return {
        "photos": total,
        "faces": faces,
        "seconds": el,
        "photos_s": total / el,
        "faces_s": faces / el,
        "rescan_s_per_1000": float(np.median([r[3] for r in runs])) / max(total, 1) * 1000,
        "cores_used": float(np.median([r[4] for r in runs])),
    }


def draft_decode(data: bytes, max_side: int) -> Image.Image:
    """The least a scan must do to a photo: decode it, JPEG in draft mode (DCT scaling) to the
    smallest size at least about `max_side` long."""
    with Image.open(io.BytesIO(data)) as im:
        w, h = im.size
        if im.format == "JPEG" and max(w, h) > max_side:
            s = max_side / max(w, h)
            im.draft("RGB", (max(1, int(w * s)), max(1, int(h * s))))
        im.load()
        return im


def decode_floor(files: list[Path], max_side: int, repeat: int) -> float:
    """Seconds for one process to read and decode `files` (median of `repeat`)."""
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for f in files:
            draft_decode(f.read_bytes(), max_side)
        runs.append(time.perf_counter() - t0)
    return float(np.median(runs))


def resizers(files: list[Path], detector: Detector, max_side: int) -> dict[str, float]:
    """The detector input shrunk by OpenCV (the app) and by Pillow (before): ms per photo of
    each, faces found by each, and Pillow's faces that OpenCV's input finds too (IoU > 0.5)."""
    out = dict.fromkeys(("opencv_ms", "pillow_ms", "opencv_faces", "pillow_faces", "kept"), 0.0)
    for f in files:
        im = draft_decode(f.read_bytes(), max_side)
        rgb = np.asarray(im.convert("RGB"))
        if max(im.size) <= max_side:
            continue
        s = max_side / max(im.size)
        size = (max(1, round(im.width * s)), max(1, round(im.height * s)))
        t0 = time.perf_counter()
        a = imaging.shrink(rgb, size)
        t1 = time.perf_counter()
        b = np.asarray(im.convert("RGB").resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0))
        t2 = time.perf_counter()
        out["opencv_ms"] += 1000 * (t1 - t0) / len(files)
        out["pillow_ms"] += 1000 * (t2 - t1) / len(files)
        da, db = detector.detect(a), detector.detect(b)
        out["opencv_faces"] += len(da)
        out["pillow_faces"] += len(db)
        out["kept"] += sum(1 for x in db if any(_iou(x.box, y.box) > 0.5 for y in da))
    return out


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1e-9)


STAGES = ("decode", "resize", "detect", "align", "embed", "store")


def stages(
    files: list[Path], embedder: Embedder | None, max_side: int = DEFAULT_MAX_SIDE
) -> dict[str, float]:
    detector = make_detector("yunet")
    t = dict.fromkeys(STAGES, 0.0)
    n_faces = 0
    with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "s.sqlite3") as lib:
        for i, f in enumerate(files):
            t0 = time.perf_counter()
            data = imaging.read_file(f)
            if not imaging.is_raw_path(f):
                draft_decode(data, max_side)  # the decode alone, what decode_image repeats
            t_floor = time.perf_counter()
            loaded = imaging.decode_image(data, max_side, is_raw=imaging.is_raw_path(f))
            t1 = time.perf_counter()
            t["decode"] += t_floor - t0
            t0 = t_floor + (t_floor - t0)  # decode_image less its decode: resize and turn
            dets = detector.detect(loaded.rgb)
            t2 = time.perf_counter()
            found = align_faces(loaded, dets)
            records = [face_record(f) for f in found]
            t3 = time.perf_counter()
            if found and embedder is not None:
                embed_crops(embedder, [f.model_crop for f in found])
            t4 = time.perf_counter()
            digest = imaging.content_hash(data)
            photo = PhotoRecord(digest, str(f), len(data), i, *loaded.original_size, "y")
            lib.add_photo(photo, records)
            t5 = time.perf_counter()
            steps = (max(t1 - t0, 0.0), t2 - t1, t3 - t2, t4 - t3, t5 - t4)
            for k, dt in zip(STAGES[1:], steps, strict=True):
                t[k] += dt
            n_faces += len(dets)
    t["faces"] = n_faces
    return t


def report(
    name: str,
    files: list[Path],
    folder: Path,
    embedder: Embedder | None,
    repeat: int,
    max_side: int = DEFAULT_MAX_SIDE,
    workers: int = 1,
) -> None:
    e2e = end_to_end(folder, embedder, repeat, max_side, workers)
    floor = decode_floor(files, max_side, repeat)
    st = stages(files, embedder, max_side)
    total = sum(st[k] for k in STAGES)
    print(
        f"{name}: {e2e['photos']} photos, {e2e['faces']} faces in {e2e['seconds']:.2f}s -> "
        f"{e2e['photos_s']:.1f} photos/s, {e2e['faces_s']:.1f} faces/s (median of {repeat}, "
        f"{workers} worker(s)); unchanged rescan {e2e['rescan_s_per_1000']:.2f}s per 1,000 photos"
    )
    n = cores()
    print(
        f"  CPU: {e2e['cores_used']:.2f} of {n} cores used ({100 * e2e['cores_used'] / n:.0f}%); "
        f"decode floor (one process, draft decode) {floor:.2f}s = {len(files) / floor:.1f} "
        f"photos/s; scan / floor = {e2e['seconds'] / floor:.2f}x"
    )
    parts = ", ".join(
        f"{k} {1000 * st[k] / len(files):.1f} ms/photo ({100 * st[k] / total:.0f}%)" for k in STAGES
    )
    print(f"  split (one process): {parts}")
    if st["faces"] and embedder is not None:
        print(f"  embed: {1000 * st['embed'] / st['faces']:.2f} ms per face")


def report_resizers(files: list[Path], max_side: int) -> None:
    r = resizers(files, make_detector("yunet", threads=1), max_side)
    print(
        f"  resize to {max_side} px: OpenCV {r['opencv_ms']:.1f} ms/photo, Pillow "
        f"{r['pillow_ms']:.1f} ms/photo; faces found: OpenCV {r['opencv_faces']:.0f}, Pillow "
        f"{r['pillow_faces']:.0f}, Pillow's also found on OpenCV's input {r['kept']:.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--large", type=int, default=0, help="also N 12 MP JPEGs made from them")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-model", action="store_true", help="detect and store only")
    ap.add_argument(
        "--workers", type=int, default=cores(), help="scan worker processes (default: cores)"
    )
    ap.add_argument(
        "--max-side",
        type=int,
        default=DEFAULT_MAX_SIDE,
        help="decode size of large photos (the app's setting)",
    )
    args = ap.parse_args(argv)
    embedder = None if args.no_model else load_default_embedder()
    if embedder is not None:
        print(f"model: {embedder.info.model_id}")
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "photos"
        small.mkdir()
        files = copy_photos(args.folder, small, args.limit)
        report(f"{args.folder}", files, small, embedder, args.repeat, args.max_side, args.workers)
        if args.large:
            large = Path(tmp) / "large"
            large.mkdir()
            big = make_large(files, large, args.large)
            title = f"12 MP JPEGs (decoded to {args.max_side} px)"
            report(title, big, large, embedder, args.repeat, args.max_side, args.workers)
            report_resizers(big, args.max_side)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
