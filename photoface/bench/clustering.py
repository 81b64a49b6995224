"""Clustering benchmark: seconds and peak memory for a full recluster and an incremental update.

    python -m photoface.bench.clustering --sizes 1000,10000,100000 [--source LIBRARY]

Each size runs in a fresh process (peak RSS is that process's). Faces come from a library's real
embeddings (--source, jittered copies to reach the size) or, without one, from synthetic people:
unit vectors around random centres, people of Zipf-like sizes, 1-4 faces per photo. The run
builds a library file, times `jobs.recluster` (everything) and then `jobs.update` after
adding 1% new faces (the path a scan takes).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from photoface.core.align import encode_jpeg
from photoface.core.cluster import ClusterParams
from photoface.core.embed import ModelInfo, normalize, quantize
from photoface.library import Library

INFO = ModelInfo("bench-v1", 96, (0.0,) * 3, (1.0,) * 3, 128, 1.0)


def synthetic(n: int, seed: int = 0, spread: float = 0.55) -> tuple[np.ndarray, np.ndarray]:
    """n unit vectors of ~n/15 people with Zipf-like sizes, in random order; (x, person)."""
    rng = np.random.default_rng(seed)
    people = max(2, n // 15)
    sizes = rng.zipf(1.6, people * 4)
    sizes = sizes[sizes < n // 5][:people]
    person = np.repeat(np.arange(len(sizes)), sizes)[:n]
    if len(person) < n:
        person = np.concatenate([person, rng.integers(0, len(sizes), n - len(person))])
    centres = normalize(rng.standard_normal((len(sizes), 128)))
    person = person[rng.permutation(n)]
    x = centres[person] + spread * rng.standard_normal((n, 128)) / np.sqrt(128)
    return normalize(x), person


def from_library(path: Path, n: int, seed: int = 0) -> np.ndarray:
    with Library(path, create=False) as lib:
        base = lib.embeddings()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(base), n)
    x = base[pick].astype(np.float32) / 256 + 0.05 * rng.standard_normal((n, base.shape[1]))
    return normalize(x)


def bulk_fill(
    lib: Library, x: np.ndarray, start_photo: int = 0, person: np.ndarray | None = None
) -> None:
    """Insert faces fast (one transaction), 1-4 faces per photo; given `person`, never one
    person twice in a photo (as in real photos)."""
    rng = np.random.default_rng(start_photo)
    crop = encode_jpeg(np.full((8, 8, 3), 128, np.uint8))
    codes = quantize(x)
    lm = np.zeros((5, 2), np.float32).tobytes()
    with lib.transaction() as c:
        i, photo = 0, start_photo
        while i < len(x):
            k = int(rng.integers(1, 5))
            if person is not None:
                seen = {int(person[i])}
                for j in range(i + 1, min(i + k, len(x))):
                    if int(person[j]) in seen:
                        k = j - i
                        break
                    seen.add(int(person[j]))
            cur = c.execute(
                "INSERT INTO photos(hash, path, size, mtime_ns, width, height, detector, "
                "scanned_at) VALUES (?, ?, 1, 1, 640, 480, 'bench', 0)",
                (f"h{photo}", f"/p/{photo}.jpg"),
            )
            pid = cur.lastrowid
            rows = [
                (pid, lm, crop, codes[j].tobytes(), INFO.model_id)
                for j in range(i, min(i + k, len(x)))
            ]
            c.executemany(
                "INSERT INTO faces(photo_id, x, y, w, h, landmarks, score, quality, crop, "
                "embedding, model_id) VALUES (?, 0, 0, 50, 50, ?, 0.9, 1.0, ?, ?, ?)",
                rows,
            )
            i += k
            photo += 1


def run_one(
    n: int, source: Path | None, threshold: float, k: int = 20, keep: Path | None = None
) -> dict[str, float]:
    from photoface.jobs import recluster, update

    x, person = (from_library(source, n), None) if source else synthetic(n)
    n_new = max(1, n // 100)
    params = ClusterParams(threshold=threshold, min_size=3, k=k)
    with tempfile.TemporaryDirectory() as tmp:
        with Library(Path(tmp) / "bench.sqlite3") as lib:
            old, new = slice(0, n - n_new), slice(n - n_new, n)
            bulk_fill(lib, x[old], person=None if person is None else person[old])
            t0 = time.perf_counter()
            full = recluster(lib, INFO, params)
            t_full = time.perf_counter() - t0
            rss_full = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            new_person = None if person is None else person[new]
            bulk_fill(lib, x[new], start_photo=10**8, person=new_person)
            t0 = time.perf_counter()
            update(lib, INFO, params)
            t_inc = time.perf_counter() - t0
            if keep is not None:  # e.g. for the window benchmark's --library
                lib.query(f"VACUUM INTO '{keep}'")
    return {
        "faces": n,
        "people": full.people,
        "unsorted": full.unsorted,
        "full_s": t_full,
        "incremental_s": t_inc,
        "new_faces": n_new,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_full_mb": rss_full,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--source", type=Path, help="a library whose real embeddings to jitter")
    ap.add_argument("--threshold", type=float, default=1.0)
    ap.add_argument("--k", type=int, default=ClusterParams(1.0).k, help="graph neighbours")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size (median reported)")
    ap.add_argument("--keep", type=Path, help="save the (last) size's library to this new file")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child process: one size
    args = ap.parse_args(argv)
    if args.keep is not None and (args.keep.exists() or "'" in str(args.keep)):
        ap.error(f"--keep {args.keep}: give a new file (no quote in its name)")
    if args.one:
        print(json.dumps(run_one(args.one, args.source, args.threshold, args.k, args.keep)))
        return 0
    print(
        f"{'faces':>8s} {'people':>7s} {'unsorted':>8s} {'full s':>8s} {'+1% s':>7s} "
        f"{'peak MB':>8s}"
    )
    for n in (int(s) for s in args.sizes.split(",")):
        runs = []
        for _ in range(args.repeat):
            cmd = [sys.executable, "-m", "photoface.bench.clustering", "--one", str(n)]
            cmd += ["--threshold", str(args.threshold), "--k", str(args.k)]
            if args.source:
                cmd += ["--source", str(args.source)]
            if args.keep:
                args.keep.unlink(missing_ok=True)  # a later size or run replaces it
                cmd += ["--keep", str(args.keep)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
        med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
        print(
            f"{n:8d} {med['people']:7.0f} {med['unsorted']:8.0f} {med['full_s']:8.2f} "
            f"{med['incremental_s']:7.2f} {med['peak_rss_mb']:8.0f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
