"""The scan: walk a folder, detect, align, embed and store faces; a generator of progress."""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import cast

import numpy as np

from photoface import fileio
from photoface.core import align, imaging, quality
from photoface.core.detect import Detector
from photoface.core.embed import Embedder, quantize
from photoface.errors import ImageError, PhotofaceError
from photoface.library import FaceRecord, Library, PhotoRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanOptions:
    max_side: int = imaging.DEFAULT_MAX_SIDE  # long side photos are decoded to for detection
    batch_faces: int = 64  # faces embedded in one model call
    batch_photos: int = 16  # photos held before their faces are embedded and stored
    read_ahead: int = 3  # photos read and decoded ahead on a second thread
    max_file_bytes: int = fileio.MAX_READ_BYTES  # larger files are recorded as errors, unread


@dataclass(frozen=True)
class ScanProgress:
    done: int
    total: int
    faces: int = 0  # faces found in this scan
    new_photos: int = 0
    unchanged: int = 0
    moved: int = 0
    errors: int = 0
    missing: int = 0  # files found gone from their folder, marked missing
    retired_faces: int = 0  # faces of photos changed in place, out of people until they return
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
    displaced: int | None  # the photo its path belonged to before (content changed in place)


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


@dataclass
class _Read:
    """A file after the read-ahead thread: what it is, and its decoded pixels if new."""

    key: str
    size: int | None = None
    mtime: int | None = None
    kind: str = "new"  # "unchanged" | "known" (content already in the library) | "new" | "error"
    digest: str = ""
    loaded: imaging.LoadedImage | None = None
    reason: str = ""


def _read(
    path: Path,
    known_files: dict[str, tuple[int, int]],
    known_hashes: set[str],
    options: ScanOptions,
) -> _Read:
    """Stat, read, hash and decode one file (runs on the read-ahead thread; no library use)."""
    item = _Read(key=os.path.abspath(path))
    try:
        st = path.stat()
        item.size, item.mtime = st.st_size, st.st_mtime_ns
        if known_files.get(item.key) == (item.size, item.mtime):
            item.kind = "unchanged"
            return item
        data = imaging.read_file(path, options.max_file_bytes)
        item.digest = imaging.content_hash(data)
        if item.digest in known_hashes:
            item.kind = "known"
            return item
        item.loaded = imaging.decode_image(data, options.max_side)
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


class _ReadAhead:
    """Reads the next files on a daemon thread, at most `depth` results ahead. A daemon, so a
    read that never returns (a hung network drive) cannot keep the process from exiting."""

    _END = object()

    def __init__(self, paths: list[Path], read: Callable[[Path], _Read], depth: int) -> None:
        self._results: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(paths, read), name="photoface-read", daemon=True
        )
        self._thread.start()

    def _run(self, paths: list[Path], read: Callable[[Path], _Read]) -> None:
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

    def next(self) -> _Read | None:
        """The next file's result (None: no more files); waits for it, Ctrl+C included."""
        item = self._results.get()
        return None if item is self._END else cast(_Read, item)

    def stop(self) -> None:
        self._stop.set()


def _gone(path: str) -> bool:
    """The file is not there but its folder is: deleted, not on a drive that is unplugged, nor
    in a folder that cannot be read just now (that says nothing about the file)."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return os.path.isdir(os.path.dirname(path))
    except OSError:
        return False
    return False


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
    at another path gets that path too (a copy or a move). A path whose content changed is
    given to the new content, and the old content, left with no path, is retired (its faces
    leave people, untouched, and come back if the content does). Files gone from a folder that
    is still there are marked missing, never deleted; a folder that is gone (an unplugged
    drive) changes nothing.
    Each photo is stored in its own transaction, so a killed scan resumes where it stopped;
    interrupted (Ctrl+C, or the generator closed), the photos already decoded are stored first.
    With no embedder, faces are stored without vectors. A read-ahead thread reads and decodes
    the next photos while this one detects and embeds.
    """
    root = Path(root)
    if not root.is_dir():
        raise PhotofaceError(f"{root} is not a folder that can be scanned")
    files = list_photos(root)
    listed = {os.path.abspath(p) for p in files}
    gone = [p for p in library.present_paths_under(root) if p not in listed and _gone(p)]
    if gone:
        log.info("%d photo file(s) under %s are gone; marked missing", len(gone), root)
        library.mark_missing(gone)
    retired = library.retire_orphans()  # left by a scan killed between two steps, or schema 1
    known_files = library.known_files()
    known_hashes = library.photo_hashes()
    t0 = time.monotonic()
    prog = ScanProgress(done=0, total=len(files), missing=len(gone), retired_faces=retired)
    errors: list[tuple[str, str]] = []
    pending: list[_Pending] = []
    seen: set[str] = set()  # new contents of this scan, stored or pending
    worked = 0  # photos that needed real work, for the ETA

    def flush() -> None:
        nonlocal prog
        crops = [c for p in pending for c in p.crops]
        if crops and embedder is not None:
            codes = quantize(embedder.embed(np.stack(crops)))
            model_id = embedder.info.model_id
            k = 0
            for p in pending:
                n = len(p.records)
                p.records = [replace(r, embedding=codes[k + i], model_id=model_id)
                             for i, r in enumerate(p.records)]  # fmt: skip
                p.crops = []
                k += n
        displaced: set[int] = set()
        while pending:  # one at a time, so an interrupted flush can be run again
            library.add_photo(pending[0].photo, pending[0].records)
            if pending[0].displaced is not None:
                displaced.add(pending[0].displaced)
            pending.pop(0)
        if displaced:
            retired = library.retire_orphans(displaced)
            prog = replace(prog, retired_faces=prog.retired_faces + retired)

    def read(path: Path) -> _Read:
        return _read(path, known_files, known_hashes, options)

    reader = _ReadAhead(files, read, options.read_ahead)
    try:
        while prog.done < prog.total:
            if cancel is not None and cancel.is_set():
                flush()
                yield replace(prog, elapsed=time.monotonic() - t0, cancelled=True,
                              finished=True, error_list=tuple(errors))  # fmt: skip
                return
            item = reader.next()
            if item is None:
                break
            prog = replace(prog, done=prog.done + 1, current=item.key)
            if item.kind == "unchanged":
                prog = replace(prog, unchanged=prog.unchanged + 1)
                yield prog
                continue
            worked += 1
            if item.kind == "error":
                library.record_error(item.key, item.size, item.mtime, item.reason)
                errors.append((item.key, item.reason))
                prog = replace(prog, errors=prog.errors + 1)
            elif item.kind == "known" or item.digest in seen:
                if any(p.photo.hash == item.digest for p in pending):
                    flush()  # a copy of a photo of this scan: store that one first
                existing = library.photo_by_hash(item.digest)
                assert item.size is not None and item.mtime is not None
                if existing is not None:
                    displaced = library.add_path(existing.id, item.key, item.size, item.mtime)
                    if displaced is not None:
                        retired = library.retire_orphans([displaced])
                        prog = replace(prog, retired_faces=prog.retired_faces + retired)
                prog = replace(prog, moved=prog.moved + 1)
            else:
                assert item.loaded is not None and item.size is not None
                assert item.mtime is not None
                records, crops = _faces_of(item.loaded, detector)
                w, h = item.loaded.original_size
                photo = PhotoRecord(item.digest, item.key, item.size, item.mtime, w, h,
                                    detector.name)  # fmt: skip
                pending.append(_Pending(photo, records, crops, library.path_owner(item.key)))
                seen.add(item.digest)
                prog = replace(prog, faces=prog.faces + len(records),
                               new_photos=prog.new_photos + 1)  # fmt: skip
            if sum(len(p.crops) for p in pending) >= options.batch_faces or (
                len(pending) >= options.batch_photos
            ):
                flush()
            elapsed = time.monotonic() - t0
            eta = elapsed / worked * (prog.total - prog.done) if worked else None
            prog = replace(prog, elapsed=elapsed, eta=eta)
            yield prog
        flush()
    except (KeyboardInterrupt, GeneratorExit):
        # Stopped mid-way (Ctrl+C, or the consumer dropped the scan): keep what was decoded.
        flush()
        raise
    finally:
        reader.stop()
    yield replace(prog, elapsed=time.monotonic() - t0, eta=0.0, finished=True,
                  error_list=tuple(errors))  # fmt: skip
