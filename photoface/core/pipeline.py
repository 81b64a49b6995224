"""The scan's pure steps: list a folder, read and decode ahead, find and embed faces."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import numpy as np

from photoface import fileio
from photoface.core import align, imaging, quality
from photoface.core.detect import Detection, Detector
from photoface.core.embed import Embedder, quantize
from photoface.errors import ImageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanOptions:
    max_side: int = imaging.DEFAULT_MAX_SIDE  # long side photos are decoded to for detection
    # Found faces are held until batch_faces of them (or batch_photos photos) are waiting, then
    # embedded together (in model calls of up to OnnxEmbedder.batch_size, 64) and stored.
    batch_faces: int = 64
    batch_photos: int = 16
    read_ahead: int = 3  # photos read and decoded ahead on a second thread (one worker)
    # Worker processes that each read, decode, detect, align and embed (1: all in this process,
    # with the read-ahead thread). Fewer photos to read than parallel_from: one process, since
    # starting the workers (importing onnxruntime, loading the models) takes about a second.
    workers: int = 1
    parallel_from: int = 16
    max_file_bytes: int = fileio.MAX_READ_BYTES  # larger files are recorded as errors, unread


def list_photos(root: Path) -> list[Path]:
    """Image files under `root`, sorted; hidden folders skipped, folder links not followed."""
    # Sorted as Paths sort (part by part), on strings: a Path per file to filter and compare
    # costs most of an unchanged rescan of a big library.
    found: list[tuple[list[str], str, str]] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=_walk_error):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        parts = os.path.normcase(dirpath).split(os.sep)
        for name in filenames:
            ext = os.path.splitext(name)[1].lower()
            if not name.startswith(".") and ext in imaging.IMAGE_EXTENSIONS:
                found.append(([*parts, os.path.normcase(name)], dirpath, name))
    found.sort(key=lambda f: f[0])
    return [Path(dirpath, name) for _, dirpath, name in found]


def _walk_error(e: OSError) -> None:
    log.warning("cannot list %s: %s", e.filename, e.strerror)


@dataclass(frozen=True)
class FoundFace:
    """A face found in a decoded photo, in original pixels, with its crops."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray  # (5, 2) original pixels
    score: float
    quality: float
    crop_jpeg: bytes  # the stored crop (re-embedding starts from it)
    model_crop: np.ndarray  # what the embedder takes, uncompressed


def find_faces(loaded: imaging.LoadedImage, detector: Detector) -> list[FoundFace]:
    """Detect and align the faces of a decoded photo; boxes scaled back to the original."""
    return align_faces(loaded, detector.detect(loaded.rgb))


def align_faces(loaded: imaging.LoadedImage, detections: Sequence[Detection]) -> list[FoundFace]:
    """The crops, quality and original-pixel box of each detection in a decoded photo."""
    faces = []
    for det in detections:
        stored = align.stored_crop(loaded.rgb, det.landmarks)
        model_crop = align.model_crop_from_stored(stored)
        orig = det.scaled(loaded.scale)
        q = quality.face_quality(orig.box, orig.landmarks, orig.score, model_crop)
        jpeg = align.encode_jpeg(stored)
        faces.append(FoundFace(orig.box, orig.landmarks, orig.score, q, jpeg, model_crop))
    return faces


def embed_crops(embedder: Embedder, crops: Sequence[np.ndarray]) -> np.ndarray:
    """int8 vectors (n, D) of model crops, as they are stored."""
    return quantize(embedder.embed(np.stack(crops)))


def embed_stored_crops(embedder: Embedder, jpegs: Sequence[bytes]) -> np.ndarray:
    """int8 vectors of stored crops (JPEG): how faces are re-embedded without re-detecting."""
    crops = [align.model_crop_from_stored(align.decode_jpeg(c)) for c in jpegs]
    return embed_crops(embedder, crops)


@dataclass
class FileRead:
    """A file after the read-ahead thread: what it is, and its decoded pixels if new."""

    key: str
    size: int | None = None
    mtime: int | None = None
    kind: str = "new"  # "unchanged" | "known" (content already in the library) | "new" | "error"
    digest: str = ""
    loaded: imaging.LoadedImage | None = None
    reason: str = ""


def read_file(
    path: Path,
    known_files: dict[str, tuple[int, int]],
    known_hashes: set[str],
    options: ScanOptions,
) -> FileRead:
    """Stat, read, hash and decode one file, given the (size, mtime) of the files and the
    hashes of the contents already known; never raises for a bad file."""
    item = stat_file(path, known_files)
    if item.kind != "new":
        return item
    try:
        data = imaging.read_file(path, options.max_file_bytes)
        item.digest = imaging.content_hash(data)
        if item.digest in known_hashes:
            item.kind = "known"
            return item
        item.loaded = imaging.decode_image(data, options.max_side, is_raw=imaging.is_raw_path(path))
    except ImageError as e:
        item.kind, item.reason = "error", str(e)
    except FileNotFoundError:
        item.kind, item.reason = "error", "file not found (a broken link?)"
    except OSError as e:
        item.kind, item.reason = "error", f"cannot read: {e.strerror or e}"
    except Exception as e:  # a bug in a decoder must not stop the scan: record it, go on
        log.exception("unexpected error reading %s", path)
        item.kind, item.reason = "error", f"unexpected error: {type(e).__name__}: {e}"
    return item


def stat_file(path: Path, known_files: dict[str, tuple[int, int]]) -> FileRead:
    """A file's size and mtime, "unchanged" when the library holds it with the same ones, an
    "error" when it cannot be looked at; "new" (to be read) otherwise."""
    item = FileRead(key=os.path.abspath(path))
    try:
        st = path.stat()
    except FileNotFoundError:
        item.kind, item.reason = "error", "file not found (a broken link?)"
        return item
    except OSError as e:
        item.kind, item.reason = "error", f"cannot read: {e.strerror or e}"
        return item
    item.size, item.mtime = st.st_size, st.st_mtime_ns
    if known_files.get(item.key) == (item.size, item.mtime):
        item.kind = "unchanged"
    return item


class ReadAhead:
    """Reads the next files on a daemon thread, at most `depth` results ahead. A daemon, so a
    read that never returns (a hung network drive) cannot keep the process from exiting."""

    _END = object()

    def __init__(self, paths: list[Path], read: Callable[[Path], FileRead], depth: int) -> None:
        self._results: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(paths, read), name="photoface-read", daemon=True
        )
        self._thread.start()

    def _run(self, paths: list[Path], read: Callable[[Path], FileRead]) -> None:
        for path in paths:
            if self._stop.is_set() or not self._put(read(path)):
                return
        self._put(self._END)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._results.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def next(self) -> FileRead | None:
        """The next file's result (None: no more files); waits for it, Ctrl+C included."""
        item = self._results.get()
        return None if item is self._END else cast(FileRead, item)

    def stop(self) -> None:
        self._stop.set()


def is_gone(path: str) -> bool:
    """The file is not there but its folder is: deleted, not on a drive that is unplugged, nor
    in a folder that cannot be read just now (that says nothing about the file)."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return os.path.isdir(os.path.dirname(path))
    except OSError:
        return False
    return False
