"""Face embeddings: an onnxruntime model read by its metadata, behind a small protocol."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

# ModelInfo lives with the rest of the contract; callers may keep importing it from here.
from photoface.core.model_contract import CROP_SIZE, OUTPUT_NAME, ModelInfo
from photoface.errors import ModelMissingError, PhotofaceError

if TYPE_CHECKING:
    import onnxruntime as ort

log = logging.getLogger(__name__)

MODEL_GLOB = "photoface-*.onnx"
# int8 at rest: components of a 128-D unit vector rarely pass +-0.5, so 1/256 steps keep them
# well resolved; the rare clipped component is absorbed by re-normalising.
QUANT_SCALE = 256.0


class Embedder(Protocol):
    info: ModelInfo

    def embed(self, crops: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 aligned crops -> (N, D) float32 unit vectors."""
        ...


def preprocess(crops: np.ndarray, info: ModelInfo) -> np.ndarray:
    """uint8 NHWC crops to the float32 NCHW tensor the model expects."""
    x = np.asarray(crops, dtype=np.float32)
    if x.ndim != 4 or x.shape[1:] != (info.input_size, info.input_size, 3):
        n = info.input_size
        raise ValueError(f"crops must be (N, {n}, {n}, 3), got {x.shape}")
    x = (x - np.asarray(info.mean, np.float32)) / np.asarray(info.std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


class OnnxEmbedder:
    """Our embedding network in onnxruntime with explicit thread settings."""

    def __init__(self, path: Path, threads: int = 2, batch_size: int = 64) -> None:
        from photoface.core.runtime import cpu_session

        if not Path(path).is_file():
            raise ModelMissingError(f"embedding model not found: {path}")
        try:
            self._session = cpu_session(Path(path), threads)
        except Exception as e:  # onnxruntime raises its own untyped errors
            raise PhotofaceError(f"cannot load embedding model {path}: {e}") from e
        meta = self._session.get_modelmeta().custom_metadata_map
        self.info = ModelInfo.from_metadata(meta, source=str(path))
        self.path = Path(path)
        self.batch_size = batch_size
        self._input = _check_contract(self._session, self.info, self.path)

    def embed(self, crops: np.ndarray) -> np.ndarray:
        if len(crops) == 0:
            return np.zeros((0, self.info.embedding_size), np.float32)
        out = []
        for i in range(0, len(crops), self.batch_size):
            x = preprocess(crops[i : i + self.batch_size], self.info)
            try:
                y = self._session.run([OUTPUT_NAME], {self._input: x})[0]
            except Exception as e:  # onnxruntime raises its own untyped errors
                raise PhotofaceError(f"the embedding model {self.path} failed: {e}") from e
            if y.shape != (len(x), self.info.embedding_size):
                raise PhotofaceError(
                    f"the embedding model {self.path} gave vectors of shape {y.shape}, not "
                    f"({len(x)}, {self.info.embedding_size}) as its metadata says"
                )
            out.append(y)
        return normalize(np.concatenate(out).astype(np.float32))


def _check_contract(session: ort.InferenceSession, info: ModelInfo, path: Path) -> str:
    """The name of the model's input, once its inputs and outputs are seen to follow the model
    contract (float32 [N,3,S,S] in, [N,D] `embedding` out, S and D as its metadata says): a
    model that does not fails here with a message, not in the middle of a scan."""

    def wrong(what: str) -> PhotofaceError:
        return PhotofaceError(
            f"the embedding model {path} does not follow the model contract: {what}"
        )

    if info.input_size != CROP_SIZE:
        raise wrong(
            f"its metadata says input_size {info.input_size}, but the app's face crops are "
            f"{CROP_SIZE} x {CROP_SIZE}"
        )
    # Any name for the one input (exports call it INPUT_NAME); the output is found by its name.
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise wrong(f"it has {len(inputs)} inputs, not one")
    s = info.input_size
    if not _shape_fits(inputs[0].shape, [None, 3, s, s]) or inputs[0].type != "tensor(float)":
        raise wrong(
            f"its input is {inputs[0].type} {_shape_text(inputs[0].shape)}, not float "
            f"[N, 3, {s}, {s}] (input_size {s} in its metadata)"
        )
    outputs = {o.name: o for o in session.get_outputs()}
    if OUTPUT_NAME not in outputs:
        names = ", ".join(repr(n) for n in outputs) or "none"
        raise wrong(f"it has no output named {OUTPUT_NAME!r} (its outputs: {names})")
    out = outputs[OUTPUT_NAME]
    if not _shape_fits(out.shape, [None, info.embedding_size]):
        raise wrong(
            f"its output is {_shape_text(out.shape)}, not [N, {info.embedding_size}] "
            f"(embedding_size {info.embedding_size} in its metadata)"
        )
    return str(inputs[0].name)


def _shape_fits(shape: list[object] | None, want: list[int | None]) -> bool:
    """A declared shape (ints for fixed sizes, names or None for free ones) against `want`
    (None: any size)."""
    if shape is None:
        return True  # the model does not say; a wrong one still fails on its first batch
    if len(shape) != len(want):
        return False
    return all(
        w is None or not isinstance(d, int) or d == w for d, w in zip(shape, want, strict=True)
    )


def _shape_text(shape: list[object] | None) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape or []) + "]"


def normalize(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return (v / np.maximum(n, 1e-12)).astype(np.float32)


def quantize(v: np.ndarray) -> np.ndarray:
    """Unit float vectors (N, D) to int8 codes (N, D): D bytes per face at rest."""
    return np.clip(np.rint(np.asarray(v) * QUANT_SCALE), -127, 127).astype(np.int8)


def dequantize(q: np.ndarray) -> np.ndarray:
    """normalize(q / QUANT_SCALE), the same floats, divided in place: at a million faces a
    fresh 512 MB array costs up to a second of page faults here."""
    v = np.array(q, dtype=np.float32)
    v /= QUANT_SCALE
    v /= np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)
    return v


def find_model(models_dir: Path) -> Path | None:
    """The bundled embedding model: the newest by version when several are present (v10 comes
    after v9, which a sort by name would not give)."""
    found = sorted(Path(models_dir).glob(MODEL_GLOB), key=_version_key)
    return found[-1] if found else None


def _version_key(path: Path) -> tuple:
    """`photoface-pf-nn4s-v10.onnx` -> ('photoface-pf-nn', 4, 's-v', 10, '.onnx'): numbers
    compared as numbers."""
    parts = re.split(r"(\d+)", path.name)
    return tuple(int(p) if p.isdigit() else p for p in parts)


NO_MODEL_HELP = (
    "No face-embedding model is installed, so faces cannot be grouped into people. "
    "Train and install one with `pip install -e '.[train]'` then "
    "`python -m training.prepare && python -m training.train && python -m training.export` "
    "(see README, Training), or set PHOTOFACE_MODEL to an ONNX file that follows the "
    "model contract."
)


def load_default_embedder(threads: int = 2) -> OnnxEmbedder:
    """The model in PHOTOFACE_MODEL, else the bundled one; a clear error when there is none."""
    import os

    from photoface import paths

    override = os.environ.get("PHOTOFACE_MODEL")
    if override:
        # Asked for by name: a missing file is a mistake to report, not "no model installed".
        path = Path(override).expanduser()
        if not path.exists():
            raise PhotofaceError(f"PHOTOFACE_MODEL is set to {override}, which does not exist")
        if not path.is_file():
            raise PhotofaceError(f"PHOTOFACE_MODEL is set to {override}, which is not a file")
        return OnnxEmbedder(path, threads=threads)
    found = find_model(paths.bundled_models_dir())
    if found is None:
        raise ModelMissingError(NO_MODEL_HELP)
    return OnnxEmbedder(found, threads=threads)
