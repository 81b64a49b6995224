"""Add a face the user drew on a photo: found in the box, aligned, embedded with the library's
model as a scanned face is, placed in the nearest person (or unsorted), as one undoable edit."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from photoface.core import grouping, imaging
from photoface.core.cluster import ClusterParams
from photoface.core.detect import Detector
from photoface.core.drawn import drawn_face
from photoface.core.embed import Embedder, ModelInfo
from photoface.core.pipeline import embed_crops
from photoface.errors import PhotofaceError
from photoface.jobs.scan import face_record
from photoface.library import ClusterInput, Library

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrawnFace:
    face_id: int
    person_id: int | None  # None: unsorted
    detected: bool  # the detector gave its landmarks (False: the default layout in the box)


def add_drawn_face(
    library: Library,
    photo_id: int,
    box: tuple[float, float, float, float],
    detector: Detector,
    embedder: Embedder | None,
    params: ClusterParams | None,
    max_side: int = imaging.DEFAULT_MAX_SIDE,
) -> DrawnFace:
    """Add the face in `box` (x, y, w, h in the pixels of the original, upright) of a photo of
    the library. The file is read again and must still be the content that was scanned. With
    no model (or no `params`) the face is stored without a vector, unsorted."""
    photo = library.photo(photo_id)
    if photo.missing:
        raise PhotofaceError(f"{photo.path} is not there any more; a face cannot be added to it")
    data = imaging.read_file(photo.path)
    if imaging.content_hash(data) != photo.hash:
        raise PhotofaceError(
            f"{photo.path} has changed since it was scanned; scan its folder again first"
        )
    loaded = imaging.decode_image(data, max_side, is_raw=imaging.is_raw_path(photo.path))
    face, detected = drawn_face(loaded, box, detector)
    record = face_record(face)
    person = None
    if embedder is not None:
        code = embed_crops(embedder, [face.model_crop])[0]
        record = replace(record, embedding=code, model_id=embedder.info.model_id)
        if params is not None:
            person = nearest_person(library, photo_id, code, record.quality, embedder.info, params)
    face_id = library.edits.add_face(photo_id, record, person)
    return DrawnFace(face_id, person, detected)


def nearest_person(
    library: Library,
    photo_id: int,
    code: np.ndarray,
    quality: float,
    info: ModelInfo,
    params: ClusterParams,
) -> int | None:
    """The person a new face of this photo joins by the scan's grouping rule (the nearest
    person within the threshold, none with a face in this photo); None: unsorted."""
    ci = library.cluster_input(info.comparable_ids)
    keep = ci.person_ids != grouping.NO_PERSON
    sub = ClusterInput(
        face_ids=np.append(ci.face_ids[keep], -1),
        photo_ids=np.append(ci.photo_ids[keep], photo_id),
        embeddings=np.vstack([ci.embeddings[keep].reshape(-1, len(code)), code[None, :]]),
        person_ids=np.append(ci.person_ids[keep], grouping.NO_PERSON),
        locked=np.append(ci.locked[keep], False),
        quality=np.append(ci.quality[keep], np.float32(quality)),
        rejections=[],
        named=ci.named,
    )
    labels = grouping.update_labels(sub, params)
    if labels.new[-1] or labels.person[-1] == grouping.NO_PERSON:
        return None
    return int(labels.person[-1])
