"""Embedding benchmark: milliseconds per face of the bundled (or a given) model in onnxruntime.

    python -m photoface.bench.embed [MODEL.onnx] [--threads 2] [--batches 1,8,32] [--repeat 5]

Random 96 x 96 crops, the app's own OnnxEmbedder (pre-processing included); the median of
--repeat passes over 256 faces is printed for each batch size.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from photoface.core.embed import OnnxEmbedder, load_default_embedder


def ms_per_face(model: Path, threads: int, batch: int, faces: int = 256, repeat: int = 5) -> float:
    emb = OnnxEmbedder(model, threads=threads, batch_size=batch)
    size = emb.info.input_size
    crops = np.random.default_rng(0).integers(0, 256, (faces, size, size, 3), dtype=np.uint8)
    emb.embed(crops[:batch])  # warm-up: the first run allocates
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        emb.embed(crops)
        times.append((time.perf_counter() - t0) / faces * 1000)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("model", nargs="?", type=Path, help="default: the model the app uses")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--faces", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    model = args.model or load_default_embedder().path
    print(f"{model.name}, {args.threads} onnxruntime threads")
    for b in (int(v) for v in args.batches.split(",")):
        ms = ms_per_face(model, args.threads, b, args.faces, args.repeat)
        print(f"  batch {b:3d}: {ms:.2f} ms per face")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
