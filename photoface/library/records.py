"""What the library stores and hands out: the pipeline's records, the domain types, and paths
as stored."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class FaceRecord:
    """A face as the pipeline hands it to the library."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray  # (5, 2) original pixels
    score: float
    quality: float
    crop_jpeg: bytes
    embedding: np.ndarray | None  # int8 (D,) or None when no model was available
    model_id: str | None
    manual: bool = False  # drawn by the user around a face the detector missed


@dataclass(frozen=True)
class PhotoRecord:
    """A photo as the pipeline hands it to the library."""

    hash: str
    path: str
    size: int
    mtime_ns: int
    width: int
    height: int
    detector: str


@dataclass(frozen=True)
class Person:
    id: int
    name: str | None
    hidden: bool
    face_count: int
    cover_face_id: int | None

    @property
    def label(self) -> str:
        return self.name or "Unnamed"


@dataclass(frozen=True)
class Face:
    id: int
    photo_id: int
    path: str
    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float
    quality: float
    person_id: int | None
    locked: bool
    model_id: str | None
    manual: bool = False  # drawn by the user


@dataclass(frozen=True)
class Photo:
    """One content. `path` is the first recorded path that holds the file now (else the first
    recorded one); `missing` says none does: deleted, on an unplugged drive, or retired."""

    id: int
    hash: str
    path: str
    width: int
    height: int
    missing: bool = False
    paths: tuple[str, ...] = ()  # every recorded path, those present at the last scan first


@dataclass(frozen=True)
class ClusterInput:
    """Everything clustering needs, as arrays aligned by row."""

    face_ids: np.ndarray  # int64 (n,)
    photo_ids: np.ndarray  # int64 (n,)
    embeddings: np.ndarray  # int8 (n, D)
    person_ids: np.ndarray  # int64 (n,), NO_PERSON (core.grouping) for none
    locked: np.ndarray  # bool (n,)
    quality: np.ndarray  # float32 (n,)
    rejections: list[tuple[int, int]]  # (face_id, person_id)
    named: set[int]  # people the user named
    apart: list[tuple[int, int]] = field(default_factory=list)  # people said not the same


def to_db(path: str) -> str:
    """A path as stored: itself, or (a name that is not UTF-8) NUL + the hex of its bytes."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return "\x00" + os.fsencode(path).hex()


def from_db(stored: str) -> str:
    """The path `to_db` stored."""
    return os.fsdecode(bytes.fromhex(stored[1:])) if stored.startswith("\x00") else stored
