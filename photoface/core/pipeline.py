"""The scan: walk a folder, detect, align, embed and store faces; a generator of progress."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from photoface.core import align, imaging, quality
from photoface.core.detect import Detector
from photoface.core.embed import Embedder, quantize
from photoface.errors import ImageError, PhotofaceError
from photoface.store import FaceRecord, Library, PhotoRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanOptions:
    max_side: int = imaging.DEFAULT_MAX_SIDE  # long side photos are decoded to for detection
    batch_faces: int = 64  # faces embedded in one model call
    batch_photos: int = 16  # photos held before their faces are embedded and stored


@dataclass(frozen=True)
class ScanProgress:
    done: int
    total: int
    faces: int = 0  # faces found in this scan
    new_photos: int = 0
    unchanged: int = 0
    moved: int = 0
    errors: int = 0
    current: str = ""
    elapsed: float = 0.0
    eta: float | None = None  # seconds left, once there is a rate to go by
    finished: bool = False
    cancelled: bool = False
    error_list: tuple[tuple[str, str], ...] = field(default=(), repr=False)


def list_photos(root: Path) -> list[Path]:
    """Image files under `root`, sorted; hidden folders skipped, folder links not followed."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=_walk_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            p = Path(dirpath) / name
            if not name.startswith(".") and imaging.is_image_path(p):
                found.append(p)
    return sorted(found)


def _walk_error(e: OSError) -> None:
    log.warning("cannot list %s: %s", e.filename, e.strerror)


@dataclass
class _Pending:
    photo: PhotoRecord
    records: list[FaceRecord]
    crops: list[np.ndarray]  # model crops, uncompressed, waiting for the embedder


def _faces_of(loaded: imaging.LoadedImage, detector: Detector) -> tuple[list[FaceRecord], list]:
    records, crops = [], []
    for det in detector.detect(loaded.rgb):
        stored = align.stored_crop(loaded.rgb, det.landmarks)
        model_crop = align.model_crop_from_stored(stored)
        orig = det.scaled(loaded.scale)
        q = quality.face_quality(orig.box, orig.landmarks, orig.score, model_crop)
        records.append(
            FaceRecord(
                box=orig.box, landmarks=orig.landmarks, score=orig.score, quality=q,
                crop_jpeg=align.encode_jpeg(stored), embedding=None, model_id=None,
            )
        )  # fmt: skip
        crops.append(model_crop)
    return records, crops


def scan(
    library: Library,
    root: Path,
    detector: Detector,
    embedder: Embedder | None,
    cancel: threading.Event | None = None,
    options: ScanOptions = ScanOptions(),
) -> Iterator[ScanProgress]:
    """Scan `root` into `library`, yielding progress after every photo.

    Unchanged files (same path, size and mtime) are skipped without reading them; a known photo
    at a new path only has its path updated. Each photo is stored in its own transaction, so a
    killed scan resumes where it stopped. With no embedder, faces are stored without vectors.
    """
    root = Path(root)
    if not root.is_dir():
        raise PhotofaceError(f"{root} is not a folder that can be scanned")
    files = list_photos(root)
    known = library.known_files()
    t0 = time.monotonic()
    prog = ScanProgress(done=0, total=len(files))
    errors: list[tuple[str, str]] = []
    pending: list[_Pending] = []
    pending_hashes: set[str] = set()
    worked = 0  # photos that needed real work, for the ETA

    def flush() -> None:
        crops = [c for p in pending for c in p.crops]
        if crops and embedder is not None:
            codes = quantize(embedder.embed(np.stack(crops)))
            model_id = embedder.info.model_id
            k = 0
            for p in pending:
                n = len(p.records)
                p.records = [replace(r, embedding=codes[k + i], model_id=model_id)
                             for i, r in enumerate(p.records)]  # fmt: skip
                k += n
        for p in pending:
            library.add_photo(p.photo, p.records)
        pending.clear()
        pending_hashes.clear()

    for path in files:
        if cancel is not None and cancel.is_set():
            flush()
            yield replace(prog, elapsed=time.monotonic() - t0, cancelled=True, finished=True,
                          error_list=tuple(errors))  # fmt: skip
            return
        key = os.path.abspath(path)
        size = mtime = None
        try:
            st = path.stat()
            size, mtime = st.st_size, st.st_mtime_ns
            if known.get(key) == (size, mtime):
                prog = replace(prog, done=prog.done + 1, unchanged=prog.unchanged + 1, current=key)
                continue
            worked += 1
            data = imaging.read_file(path)
            digest = imaging.content_hash(data)
            existing = library.photo_by_hash(digest)
            if existing is not None or digest in pending_hashes:
                if existing is not None and existing.path != key:
                    library.relocate_photo(existing.id, key, size, mtime)
                prog = replace(prog, done=prog.done + 1, moved=prog.moved + 1, current=key)
            else:
                loaded = imaging.decode_image(data, options.max_side)
                records, crops = _faces_of(loaded, detector)
                w, h = loaded.original_size
                photo = PhotoRecord(digest, key, size, mtime, w, h, detector.name)
                pending.append(_Pending(photo, records, crops))
                pending_hashes.add(digest)
                prog = replace(prog, done=prog.done + 1, faces=prog.faces + len(records),
                               new_photos=prog.new_photos + 1, current=key)  # fmt: skip
        except (ImageError, OSError) as e:
            reason = str(e) if isinstance(e, ImageError) else f"cannot read: {e.strerror or e}"
            library.record_error(key, size, mtime, reason)
            errors.append((key, reason))
            prog = replace(prog, done=prog.done + 1, errors=prog.errors + 1, current=key)
        if sum(len(p.crops) for p in pending) >= options.batch_faces or (
            len(pending) >= options.batch_photos
        ):
            flush()
        elapsed = time.monotonic() - t0
        left = prog.total - prog.done
        eta = elapsed / worked * left if worked else None
        prog = replace(prog, elapsed=elapsed, eta=eta)
        yield prog
    flush()
    yield replace(prog, elapsed=time.monotonic() - t0, eta=0.0, finished=True,
                  error_list=tuple(errors))  # fmt: skip
