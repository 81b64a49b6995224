"""The int8 network the app runs: an exported float graph quantized by onnxruntime.

    python -m training.export CHECKPOINT --flip --int8 ...

Static quantization in QDQ form: per-channel int8 weights, uint8 activations whose ranges are
measured on CALIB_FACES training crops (never LFW's or an album's), the pre-processing training
uses. onnxruntime fuses each DequantizeLinear -> Conv -> QuantizeLinear into an integer
convolution when it loads the file; on this project's CPU (VNNI) v5 ran 2.4-2.8x faster than
the float v4, the same network shape (README). The figures an export prints and stores are
those of the int8 file itself.

Before quantizing, the tracer's Identity nodes (a flip-averaged export runs the network twice
over the same weights, the second copy through Identities) are folded away, so each weight is
one constant the quantizer can fold. onnxruntime's own graph optimiser is not run over the file
first, so each node keeps the name the tracer gave it: the quantizer does not keep the
convolutions in call order, and `training.from_onnx` matches them to the network's modules by
those names.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

CALIB_FACES = 512
CALIB_SEED = 0


class CalibrationMissing(Exception):
    """No training crops to measure the activations' ranges on."""


def calibration_crops(cache: Path, n: int = CALIB_FACES, seed: int = CALIB_SEED) -> np.ndarray:
    """`n` training crops (uint8, N x 112 x 112 x 3, as `training.prepare` cached them), drawn
    with a fixed seed so that an export is repeatable."""
    path = cache / "train_crops.npy"
    if not path.is_file():
        raise CalibrationMissing(
            f"--int8 measures activations on training crops and {path} is missing: "
            "run python -m training.prepare first"
        )
    crops = np.load(path, mmap_mode="r")
    rng = np.random.default_rng(seed)
    idx = np.sort(rng.choice(len(crops), min(n, len(crops)), replace=False))
    return np.asarray(crops[idx])


def without_identities(src: Path, dst: Path) -> None:
    """`src` with every Identity node folded into the inputs that read it."""
    import onnx

    model = onnx.load(str(src))
    graph = model.graph
    alias = {n.output[0]: n.input[0] for n in graph.node if n.op_type == "Identity"}
    outputs = {o.name for o in graph.output}
    if alias.keys() & outputs:
        raise ValueError(f"{src}: an Identity node gives a graph output")

    def source(name: str) -> str:
        while name in alias:
            name = alias[name]
        return name

    kept = [n for n in graph.node if n.op_type != "Identity"]
    for node in kept:
        for i, name in enumerate(node.input):
            node.input[i] = source(name)
    del graph.node[:]
    graph.node.extend(kept)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def quantize(src: Path, dst: Path, batches: list[np.ndarray], input_name: str) -> None:
    """Write the int8 form of the float model `src` to `dst`; `batches` are pre-processed
    inputs (N x 3 x S x S float32) whose activations set the ranges. Metadata is kept."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter([{input_name: b} for b in batches])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._it, None)

    with tempfile.TemporaryDirectory(prefix="photoface-int8-") as tmp:
        flat, pre = Path(tmp) / "flat.onnx", Path(tmp) / "pre.onnx"
        without_identities(src, flat)
        # Shapes only: the optimiser would reorder the convolutions (see the module text).
        quant_pre_process(str(flat), str(pre), skip_optimization=True, skip_symbolic_shape=True)
        quantize_static(
            str(pre),
            str(dst),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )


def is_quantized(path: Path) -> bool:
    """Whether the file holds int8 weights (DequantizeLinear nodes)."""
    import onnx

    return any(n.op_type == "DequantizeLinear" for n in onnx.load(str(path)).graph.node)
