"""Rescan benchmark: seconds for `photoface scan` of a folder whose photos are all known.

    python -m photoface.bench.rescan --photos 100000 [--keep DIR]

Builds, in a temporary folder, `--photos` hard links of one small JPEG (in folders of 1,000)
and a library that already holds each of them at its current size and mtime (rows written in
one transaction, as a first scan would have left them), then times `photoface scan FOLDER` in
a fresh process: the whole command (start, model load, listing, the unchanged check, grouping
step) as a user waits for it.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from photoface.core.align import encode_jpeg
from photoface.library import Library
from photoface.library.records import to_db

log = logging.getLogger(__name__)

PER_FOLDER = 1000
LINKS_PER_FILE = 50_000


def build(root: Path, n: int) -> tuple[Path, Path]:
    """`n` links of a few tiny JPEGs under root/photos, and root/library.sqlite3 knowing them."""
    photos = root / "photos"
    photos.mkdir()
    jpeg = encode_jpeg(np.full((16, 16, 3), 128, np.uint8))
    paths: list[Path] = []
    for i in range(n):
        folder = photos / f"{i // PER_FOLDER:04d}"
        p = folder / f"{i}.jpg"
        if i % PER_FOLDER == 0:
            folder.mkdir()
        if i % LINKS_PER_FILE == 0:  # a file system allows some 65,000 links to a file
            source = p
            source.write_bytes(jpeg)
        else:
            os.link(source, p)
        paths.append(p)
    stats = [p.stat() for p in paths]
    lib_path = root / "library.sqlite3"
    with Library(lib_path) as lib, lib.transaction() as c:
        now = time.time()
        c.executemany(
            "INSERT INTO photos(id, hash, path, size, mtime_ns, width, height, detector, "
            "scanned_at) VALUES (?, ?, ?, ?, ?, 16, 16, 'yunet', ?)",
            (
                (i + 1, f"h{i}", to_db(os.path.abspath(p)), st.st_size, st.st_mtime_ns, now)
                for i, (p, st) in enumerate(zip(paths, stats, strict=True))
            ),
        )
        c.executemany(
            "INSERT INTO photo_paths(path, photo_id, size, mtime_ns, missing, seen_at) "
            "VALUES (?, ?, ?, ?, 0, ?)",
            (
                (to_db(os.path.abspath(p)), i + 1, st.st_size, st.st_mtime_ns, now)
                for i, (p, st) in enumerate(zip(paths, stats, strict=True))
            ),
        )
    return photos, lib_path


def time_rescan(photos: Path, lib_path: Path) -> tuple[float, str]:
    """Wall seconds of `photoface scan` in a fresh process, and its last line of output."""
    cmd = [sys.executable, "-m", "photoface", "--library", str(lib_path), "scan", "-q"]
    t0 = time.perf_counter()
    out = subprocess.run([*cmd, str(photos)], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    lines = (out.stdout + out.stderr).strip().splitlines()
    return seconds, lines[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=1, help="rescans timed (each printed)")
    ap.add_argument("--keep", type=Path, help="build in this new folder and leave it there")
    args = ap.parse_args(argv)
    if args.photos < 1:
        ap.error("--photos must be at least 1")
    if args.keep is not None and args.keep.exists():
        ap.error(f"{args.keep} exists; --keep wants a new folder")
    tmp = None
    if args.keep is None:
        tmp = tempfile.TemporaryDirectory()
        root = Path(tmp.name)
    else:
        root = args.keep
        root.mkdir(parents=True)
    try:
        t0 = time.perf_counter()
        photos, lib_path = build(root, args.photos)
        print(f"built {args.photos} photos in {time.perf_counter() - t0:.1f} s", flush=True)
        for _ in range(args.repeat):
            seconds, last = time_rescan(photos, lib_path)
            print(f"unchanged rescan of {args.photos} photos: {seconds:.2f} s  ({last})")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
