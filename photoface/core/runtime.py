"""One way to open an ONNX model in onnxruntime on the CPU, for the detector and the embedder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnxruntime as ort


def cpu_session(path: Path, threads: int) -> ort.InferenceSession:
    """An onnxruntime session with explicit threads. Its worker threads sleep between runs
    instead of spinning: the scan decodes the next photo on another thread meanwhile, and
    spinning workers take that thread's core (figures in CHANGELOG.md)."""
    import onnxruntime as ort  # imported on first use: it takes a while to load

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
