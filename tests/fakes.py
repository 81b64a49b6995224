"""Test doubles and generated data: a tiny ONNX embedding model, fake embedders, photos."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from photoface.core.embed import ModelInfo, normalize
from photoface.core.model_contract import CROP_SIZE, INPUT_NAME, OUTPUT_NAME, meta_key

TINY = ModelInfo(
    model_id="tiny-test-v1",
    input_size=CROP_SIZE,
    mean=(127.5, 127.5, 127.5),
    std=(128.0, 128.0, 128.0),
    embedding_size=128,
    threshold=0.9,
)


def add_metadata(model, info: ModelInfo, extra: dict[str, str] | None = None) -> None:
    """Write `info` into an onnx ModelProto's metadata_props as export does; `extra`: entries by
    field name, as text, written over them (a malformed or unknown value on purpose)."""
    meta = info.to_metadata() | {meta_key(k): v for k, v in (extra or {}).items()}
    for k, v in meta.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v


def build_tiny_model(
    path: Path,
    model_id: str = "tiny-test-v1",
    seed: int = 0,
    compatible_with: tuple[str, ...] = (),
    extra: dict[str, str] | None = None,
) -> Path:
    """A real ONNX file following the model contract: 8x8 average pooling, a fixed random
    projection to 128-D, L2 normalisation in the graph, photoface metadata."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    cells = CROP_SIZE // 8
    w = rng.standard_normal((3 * cells * cells, 128)).astype(np.float32)
    crops = ["N", 3, CROP_SIZE, CROP_SIZE]
    graph = helper.make_graph(
        [
            helper.make_node(
                "AveragePool", [INPUT_NAME], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]
            ),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "w"], ["raw"]),
            helper.make_node("LpNormalization", ["raw"], [OUTPUT_NAME], axis=1, p=2),
        ],
        "tiny",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, crops)],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", 128])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    add_metadata(model, replace(TINY, model_id=model_id, compatible_with=compatible_with), extra)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


class FakeEmbedder:
    """Embeds a crop by hashing its coarse look: deterministic, no model file."""

    def __init__(
        self,
        model_id: str = "fake-v1",
        threshold: float = 0.9,
        compatible_with: tuple[str, ...] = (),
    ) -> None:
        self.info = replace(
            TINY, model_id=model_id, threshold=threshold, compatible_with=compatible_with
        )
        self._w = np.random.default_rng(1).standard_normal((3 * 12 * 12, 128)).astype(np.float32)
        self.calls = 0

    def embed(self, crops: np.ndarray) -> np.ndarray:
        self.calls += 1
        x = crops.astype(np.float32).reshape(len(crops), 12, 8, 12, 8, 3).mean((2, 4))
        return normalize((x.reshape(len(crops), -1) - 127.5) @ self._w)


def astronaut() -> np.ndarray:
    """A public-domain photo with one clear face (NASA), shipped by scikit-image."""
    from skimage import data

    return data.astronaut()


def people_embeddings(
    n_people: int, per_person: int, dim: int = 128, spread: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors around n_people random centres; returns (x, true labels)."""
    rng = np.random.default_rng(seed)
    centres = normalize(rng.standard_normal((n_people, dim)))
    labels = np.repeat(np.arange(n_people), per_person)
    x = centres[labels] + spread * rng.standard_normal((len(labels), dim)) / np.sqrt(dim)
    return normalize(x).astype(np.float32), labels


def fill_library(
    library,
    x: np.ndarray,
    photo_of: np.ndarray,
    model_id: str = "fake-v1",
    quality: np.ndarray | None = None,
) -> list[int]:
    """Add faces with embeddings `x` to `library`, face i in photo `photo_of[i]`; face ids."""
    from photoface.core import align
    from photoface.core.embed import quantize
    from photoface.library import FaceRecord, PhotoRecord

    crop = align.encode_jpeg(np.full((144, 144, 3), 128, np.uint8))
    codes = quantize(x)
    ids: list[int] = []
    for ph in np.unique(photo_of):
        rows = np.nonzero(photo_of == ph)[0]
        faces = [
            FaceRecord(
                box=(10.0 * k, 10.0, 50.0, 60.0),
                landmarks=np.zeros((5, 2), np.float32),
                score=0.9,
                quality=1.0 if quality is None else float(quality[i]),
                crop_jpeg=crop,
                embedding=codes[i],
                model_id=model_id,
            )
            for k, i in enumerate(rows)
        ]
        photo = PhotoRecord(f"hash{ph}", f"/photos/{ph}.jpg", 1, 1, 640, 480, "fake")
        library.add_photo(photo, faces)
    got = library.query("SELECT id FROM faces ORDER BY id")
    ids = [r[0] for r in got]
    return ids
