"""Find people: the people and faces of the library nearest each face of a photo it has not
seen (shared by `photoface find` and the window's search), and the photos several people share.

The photo is only read: it is never added to the library nor written to. Its faces go through
the scan's own steps (decode, detect, align, embed, int8 as stored), so a distance here is the
one a scan would have measured, and "within" says the grouping would have put the face in that
person (core.nearest explains the person distance).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoface.core import imaging, nearest
from photoface.core.detect import Detector
from photoface.core.embed import Embedder, ModelInfo, dequantize
from photoface.core.pipeline import embed_crops, find_faces
from photoface.errors import ImageError, PhotofaceError
from photoface.library import Library, Photo

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 5  # people and faces shown per face


@dataclass(frozen=True)
class PersonMatch:
    person_id: int
    name: str | None
    hidden: bool
    face_count: int
    distance: float  # average linkage: the mean distance to the person's faces
    within: bool  # distance <= the grouping threshold

    @property
    def label(self) -> str:
        return self.name or f"Person {self.person_id}"


@dataclass(frozen=True)
class FaceMatch:
    face_id: int
    photo_id: int
    path: str
    person_id: int | None  # None: unsorted
    distance: float
    within: bool


@dataclass(frozen=True)
class FaceFound:
    """One face of the photo searched with, and what is nearest it."""

    box: tuple[float, float, float, float]  # x, y, w, h in the photo's own (upright) pixels
    quality: float
    people: tuple[PersonMatch, ...]  # closest first
    faces: tuple[FaceMatch, ...]  # closest first


@dataclass(frozen=True)
class FindResult:
    path: str
    model_id: str
    threshold: float
    faces: tuple[FaceFound, ...]  # empty: no face in the photo
    known_photo_id: int | None  # the same content is in the library (its faces match at ~0)


@dataclass(frozen=True)
class Gallery:
    """The library's faces the model can compare with, as arrays, and its people's centroids."""

    face_ids: np.ndarray  # int64 (n,)
    person_ids: np.ndarray  # int64 (n,), nearest's NO_PERSON for none
    x: np.ndarray  # float32 (n, D), unit
    people: nearest.Centroids


def load_gallery(library: Library, info: ModelInfo) -> Gallery:
    """The stored vectors of `info`'s model (and those it is compatible with). Raises
    PhotofaceError when there is nothing to compare with."""
    ci = library.cluster_input(info.comparable_ids)
    if len(ci.face_ids) == 0:
        stale = len(library.faces_to_embed(info.comparable_ids))
        if stale:
            raise PhotofaceError(
                f"the library's {stale} faces were not embedded by the model {info.model_id}: "
                "run `photoface recluster` (or open the window) to update them first"
            )
        raise PhotofaceError("the library has no faces to compare with: scan a folder first")
    x = dequantize(ci.embeddings)
    return Gallery(ci.face_ids, ci.person_ids, x, nearest.centroids(x, ci.person_ids))


def match(
    library: Library, gallery: Gallery, codes: np.ndarray, threshold: float, limit: int
) -> list[tuple[tuple[PersonMatch, ...], tuple[FaceMatch, ...]]]:
    """For each int8 vector of `codes` (m, D), as stored: the `limit` nearest people and faces."""
    if len(codes) == 0:
        return []
    q = dequantize(codes)
    p_idx, p_dist = nearest.top_k(nearest.distances(q, gallery.people.means), limit)
    f_idx, f_dist = nearest.top_k(nearest.distances(q, gallery.x), limit)
    out = []
    for i in range(len(q)):
        people = []
        for j, d in zip(p_idx[i].tolist(), p_dist[i].tolist(), strict=True):
            p = library.person(int(gallery.people.person_ids[j]))
            people.append(PersonMatch(p.id, p.name, p.hidden, p.face_count, d, d <= threshold))
        faces = []
        for j, d in zip(f_idx[i].tolist(), f_dist[i].tolist(), strict=True):
            f = library.face(int(gallery.face_ids[j]))
            faces.append(FaceMatch(f.id, f.photo_id, f.path, f.person_id, d, d <= threshold))
        out.append((tuple(people), tuple(faces)))
    return out


def find_people(
    library: Library,
    path: Path,
    detector: Detector,
    embedder: Embedder,
    threshold: float,
    limit: int = DEFAULT_LIMIT,
    max_side: int = imaging.DEFAULT_MAX_SIDE,
) -> FindResult:
    """The faces of the photo at `path` and, for each, the nearest people and faces of the
    library. Raises ImageError (with the path) for a file that is not a readable photo, and
    PhotofaceError when the library has nothing to compare with."""
    gallery = load_gallery(library, embedder.info)  # first: a library with nothing says so
    try:
        data = imaging.read_file(path)
        loaded = imaging.decode_image(data, max_side, is_raw=imaging.is_raw_path(path))
    except ImageError as e:
        raise ImageError(f"{path}: {e}") from e
    known = library.photo_by_hash(imaging.content_hash(data))
    found = find_faces(loaded, detector)
    codes = embed_crops(embedder, [f.model_crop for f in found]) if found else np.zeros((0, 0))
    matches = match(library, gallery, codes, threshold, limit)
    faces = tuple(
        FaceFound(_box(f.box), float(f.quality), people, near)
        for f, (people, near) in zip(found, matches, strict=True)
    )
    model_id = embedder.info.model_id
    return FindResult(str(path), model_id, threshold, faces, known.id if known else None)


def _box(box: Sequence[float]) -> tuple[float, float, float, float]:
    x, y, w, h = (float(v) for v in box)
    return x, y, w, h


def photos_together(
    library: Library, person_ids: Sequence[int], only: bool, quality_floor: float
) -> list[Photo]:
    """The photos in which every one of these people appears (see Library.photos_together)."""
    return library.photos_together(person_ids, only, quality_floor)
