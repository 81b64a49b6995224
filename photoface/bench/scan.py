"""Scan benchmark: photos/s and faces/s end to end, the split between stages, peak memory.

    python -m photoface.bench.scan FOLDER [--limit 500] [--large 40] [--repeat 3]

Copies up to --limit photos from FOLDER (recursively) into a temporary folder, then runs the
app's own `scan` into a fresh library, --repeat times (median reported). A second pass times
each stage on the same files with the same functions: read+decode, detect, align (+quality and
JPEG of the stored crop), embed, store. --large N also makes N 12-megapixel JPEGs (4000x3000,
enlarged from the photos) to measure decode cost on camera-sized files. A rescan of the
unchanged folder is timed too (seconds per 1,000 photos).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from photoface.core import imaging
from photoface.core.detect import make_detector
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


def end_to_end(
    folder: Path, embedder: Embedder | None, repeat: int, max_side: int = DEFAULT_MAX_SIDE
) -> dict[str, float]:
    runs = []
    detector = make_detector("yunet")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "b.sqlite3") as lib:
            opts = ScanOptions(max_side=max_side)
            last = drain(scan(lib, folder, detector, embedder, options=opts))
            t0 = time.perf_counter()
            again = drain(scan(lib, folder, detector, embedder))
            rescan = time.perf_counter() - t0
            assert again.unchanged == again.total
            runs.append((last.elapsed, last.total, last.faces, rescan))
    el = float(np.median([r[0] for r in runs]))
    total, faces = runs[0][1], runs[0][2]
    return {
        "photos": total,
        "faces": faces,
        "seconds": el,
        "photos_s": total / el,
        "faces_s": faces / el,
        "rescan_s_per_1000": float(np.median([r[3] for r in runs])) / max(total, 1) * 1000,
    }


def stages(
    files: list[Path], embedder: Embedder | None, max_side: int = DEFAULT_MAX_SIDE
) -> dict[str, float]:
    detector = make_detector("yunet")
    t = dict.fromkeys(("decode", "detect", "align", "embed", "store"), 0.0)
    n_faces = 0
    with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "s.sqlite3") as lib:
        for i, f in enumerate(files):
            t0 = time.perf_counter()
            data = imaging.read_file(f)
            loaded = imaging.decode_image(data, max_side, is_raw=imaging.is_raw_path(f))
            t1 = time.perf_counter()
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
            for k, dt in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4), strict=True):
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
) -> None:
    e2e = end_to_end(folder, embedder, repeat, max_side)
    st = stages(files, embedder, max_side)
    total = sum(st[k] for k in ("decode", "detect", "align", "embed", "store"))
    print(
        f"{name}: {e2e['photos']} photos, {e2e['faces']} faces in {e2e['seconds']:.2f}s -> "
        f"{e2e['photos_s']:.1f} photos/s, {e2e['faces_s']:.1f} faces/s (median of {repeat}); "
        f"unchanged rescan {e2e['rescan_s_per_1000']:.2f}s per 1,000 photos"
    )
    parts = ", ".join(
        f"{k} {1000 * st[k] / len(files):.1f} ms/photo ({100 * st[k] / total:.0f}%)"
        for k in ("decode", "detect", "align", "embed", "store")
    )
    print(f"  split: {parts}")
    if st["faces"] and embedder is not None:
        print(f"  embed: {1000 * st['embed'] / st['faces']:.2f} ms per face")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--limit", type=int, default=500)
    ap.add_argument("--large", type=int, default=0, help="also N 12 MP JPEGs made from them")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-model", action="store_true", help="detect and store only")
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
        report(f"{args.folder}", files, small, embedder, args.repeat, args.max_side)
        if args.large:
            large = Path(tmp) / "large"
            large.mkdir()
            big = make_large(files, large, args.large)
            title = f"12 MP JPEGs (decoded to {args.max_side} px)"
            report(title, big, large, embedder, args.repeat, args.max_side)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
