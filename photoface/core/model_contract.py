"""The embedding model contract: tensor names, crop size and the metadata a model file carries.

One place for what `training.export` writes, what `photoface.core.embed` reads and what the test
fakes build: an ONNX graph with one float32 input [N, 3, S, S] named INPUT_NAME and an [N, D]
output named OUTPUT_NAME (unit vectors), and ONNX `metadata_props` entries `photoface.<field>`
for the fields of `ModelInfo`. The app never imports training or torch; training imports this.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from photoface.errors import PhotofaceError

log = logging.getLogger(__name__)

INPUT_NAME = "input"
OUTPUT_NAME = "embedding"
# The side of the aligned face crop the pipeline makes (photoface.core.align) and a model takes.
CROP_SIZE = 96
META_PREFIX = "photoface."


def meta_key(name: str) -> str:
    """The metadata_props key of a ModelInfo field: `threshold` -> `photoface.threshold`."""
    return META_PREFIX + name


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about itself in its ONNX metadata_props."""

    model_id: str
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    embedding_size: int
    threshold: float  # verification: same person <=> D <= threshold (calibrated on LFW pairs)
    compatible_with: tuple[str, ...] = field(default_factory=tuple)
    # Grouping faces into people by average linkage wants its own, stricter distance (tuned on
    # albums, see photoface.bench.albums); models without one group at `threshold`.
    cluster_threshold: float | None = None
    # The graph embeds a face and its mirror image and averages them: twice the time per face,
    # and `training.from_onnx` must rebuild the network the same way to read its weights back.
    flip_averaged: bool = False

    @property
    def grouping_threshold(self) -> float:
        return self.cluster_threshold if self.cluster_threshold is not None else self.threshold

    @property
    def comparable_ids(self) -> tuple[str, ...]:
        """The models whose vectors this one's can be compared with: itself, then the older
        models it was trained to be compatible with (their vectors need no re-embedding)."""
        return (self.model_id, *self.compatible_with)

    def describe(self) -> str:
        """One line for `photoface info`: the id, and how the model embeds when it matters."""
        if self.flip_averaged:
            return f"{self.model_id}, flip-averaged (each face embedded with its mirror image)"
        return self.model_id

    def to_metadata(self) -> dict[str, str]:
        """The metadata_props entries, keys with their `photoface.` prefix, values as strings."""
        values = {
            "model_id": self.model_id,
            "input_size": str(self.input_size),
            "mean": json.dumps([float(v) for v in self.mean]),
            "std": json.dumps([float(v) for v in self.std]),
            "embedding_size": str(self.embedding_size),
            "threshold": _number(self.threshold),
            "compatible_with": json.dumps(list(self.compatible_with)),
            "flip_averaged": "1" if self.flip_averaged else "0",
        }
        if self.cluster_threshold is not None:
            values["cluster_threshold"] = _number(self.cluster_threshold)
        return {meta_key(k): v for k, v in values.items()}

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str], source: str = "model") -> ModelInfo:
        """Read what `to_metadata` wrote (and what every earlier export wrote: fields added
        since are optional); a message naming `source` when a field is missing or malformed."""

        def get(name: str) -> str:
            try:
                return meta[meta_key(name)]
            except KeyError:
                raise PhotofaceError(f"{source} lacks metadata '{meta_key(name)}'") from None

        cluster = meta.get(meta_key("cluster_threshold"))
        try:
            model_id, input_size = get("model_id"), int(get("input_size"))
            mean, std = _triple(get("mean")), _triple(get("std"))
            compatible = json.loads(meta.get(meta_key("compatible_with"), "[]"))
            if not isinstance(compatible, list) or not all(isinstance(c, str) for c in compatible):
                raise ValueError(f"compatible_with is not a list of model ids: {compatible!r}")
            return cls(
                model_id=model_id,
                input_size=input_size,
                mean=mean,
                std=std,
                embedding_size=int(get("embedding_size")),
                threshold=float(get("threshold")),
                compatible_with=tuple(compatible),
                cluster_threshold=None if cluster is None else float(cluster),
                flip_averaged=is_flip_averaged(meta),
            )
        except (ValueError, TypeError) as e:
            raise PhotofaceError(f"{source} has malformed photoface metadata: {e}") from e

    def differences(self, other: ModelInfo) -> list[str]:
        """`field: A != B` for each field where the two differ (empty when they agree)."""
        return [
            f"{f.name}: {getattr(self, f.name)!r} != {getattr(other, f.name)!r}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(other, f.name)
        ]


def is_flip_averaged(meta: Mapping[str, str]) -> bool:
    """The `flip_averaged` flag of a model's metadata (absent in exports that predate it: no)."""
    value = meta.get(meta_key("flip_averaged"), "0")
    if value not in ("0", "1"):
        raise ValueError(f"flip_averaged is {value!r}, not '0' or '1'")
    return value == "1"


def _triple(text: str) -> tuple[float, float, float]:
    values = json.loads(text)
    if not isinstance(values, list) or len(values) != 3:
        raise ValueError(f"expected three numbers (one per colour channel), got {text!r}")
    a, b, c = (float(v) for v in values)
    return a, b, c


def _number(value: float) -> str:
    """A threshold as text: four decimals as exports have always written it ("0.8000") when
    that reads back as the same float, else the exact repr, so a round trip loses nothing."""
    short = f"{value:.4f}"
    return short if float(short) == value else repr(float(value))
