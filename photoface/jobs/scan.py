"""Scan a folder into the library: new photos' faces found, embedded and stored; rescans cheap.
`scan_folder` is what the user asks for: re-embed stale faces, scan, group the new faces."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

import numpy as np

from photoface.core.cluster import ClusterParams
from photoface.core.detect import Detector
from photoface.core.embed import Embedder
from photoface.core.pipeline import (
    FileRead,
    ReadAhead,
    ScanOptions,
    embed_crops,
    find_faces,
    is_gone,
    list_photos,
    read_file,
    stat_file,
)
from photoface.errors import PhotofaceError
from photoface.jobs.grouping import GroupingResult, GroupingStarted, recluster, update
from photoface.jobs.reembed import EmbedProgress, ReembedResult, reembed
from photoface.jobs.scan_workers import Scanned, WorkerPool, face_record, model_spec
from photoface.library import FaceRecord, Library, PhotoRecord

log = logging.getLogger(__name__)


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


@dataclass(frozen=True)
class ScanResult:
    """The counts of a scan that ended (`cancelled`: stopped by the cancel flag)."""

    done: int  # photos gone through, out of `total`
    total: int
    faces: int
    new_photos: int
    unchanged: int
    moved: int  # known contents at a new path: moved, renamed or copied
    errors: int
    missing: int
    retired_faces: int
    elapsed: float
    cancelled: bool = False
    error_list: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # (path, reason)


@dataclass(frozen=True)
class ScanFolderResult:
    reembedded: ReembedResult | None  # None: no model
    scan: ScanResult
    grouping: GroupingResult | None  # None: no model, not asked, or cancelled


@dataclass(frozen=True)
class LiveGrouping:
    """Group the faces found so far while a scan runs, so people appear before it ends (and
    after a cancel): after every `photos` photos gone through, or `seconds` since the last
    grouping, whichever comes first, once new faces were stored; never more than a fifth of
    the time on grouping (a grouping that took t seconds waits 4t before the next)."""

    photos: int = 300
    seconds: float = 20.0


@dataclass(frozen=True)
class PeopleGrouped:
    """Progress: the faces stored so far were grouped while the scan runs; the people shown
    can be refreshed."""

    grouping: GroupingResult
    keep: ClassVar[bool] = True  # a worker that throttles progress still passes this one on


DEFAULT_OPTIONS = ScanOptions()

ScanFolderProgress = EmbedProgress | ScanProgress | GroupingStarted | PeopleGrouped


@dataclass
class _Pending:
    photo: PhotoRecord
    records: list[FaceRecord]
    crops: list[np.ndarray]  # model crops, uncompressed, waiting for the embedder
    displaced: int | None  # the photo its path belonged to before (content changed in place)


def scan_folder(
    library: Library,
    root: Path,
    detector: Detector,
    embedder: Embedder | None,
    params: ClusterParams | None,
    cancel: threading.Event | None = None,
    options: ScanOptions = DEFAULT_OPTIONS,
    live: LiveGrouping | None = None,
) -> Generator[ScanFolderProgress, None, ScanFolderResult]:
    """Faces stored with a vector another model made are embedded again first (so the new
    faces are grouped with them), then `root` is scanned, then its new faces are grouped
    (`params` None: not grouped). With no model, faces are stored without vectors and nothing
    is grouped.

    With `live`, the faces are also grouped while the scan runs (see LiveGrouping) and after a
    cancel; a first scan (a library with no people) that was grouped live ends with everything
    grouped again (edits kept), so its people are those one grouping at the end would make.
    Without it, a cancelled scan groups nothing."""
    reembedded = None
    if embedder is not None:
        reembedded = yield from reembed(library, embedder, cancel)
    groups = embedder is not None and params is not None
    first = library.counts()["people"] == 0
    steps = scan(library, root, detector, embedder, cancel, options)
    grouped_live = 0
    faces_then, done_then, since = 0, 0, time.monotonic()
    next_allowed = since
    try:
        while True:
            try:
                p = next(steps)
            except StopIteration as stop:
                scanned: ScanResult = stop.value
                break
            yield p
            if not (groups and live is not None) or p.faces == faces_then:
                continue
            now = time.monotonic()
            due = p.done - done_then >= live.photos or now - since >= live.seconds
            if due and now >= next_allowed and p.done < p.total:
                assert embedder is not None and params is not None
                result = update(library, embedder.info, params)
                took = time.monotonic() - now
                grouped_live += 1
                faces_then, done_then, since = p.faces, p.done, time.monotonic()
                next_allowed = since + 4 * took
                log.info("grouped live after %d photos in %.2f s", p.done, took)
                yield PeopleGrouped(result)
    finally:
        steps.close()  # stopped by the consumer: the scan stores what it decoded
    grouped = None
    stopped = scanned.cancelled or (cancel is not None and cancel.is_set())
    if groups and (not stopped or live is not None):
        assert embedder is not None and params is not None
        everything = first and grouped_live > 0
        yield GroupingStarted(everything=everything)
        if everything:
            grouped = recluster(library, embedder.info, params)
        else:
            grouped = update(library, embedder.info, params)
    return ScanFolderResult(reembedded, scanned, grouped)


def _unchanged(path: str, known_files: dict[str, tuple[int, int]]) -> bool:
    """Whether the file at `path` has the size and mtime the library knows it by."""
    known = known_files.get(path)
    if known is None:
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False  # read_file reports why
    return known == (st.st_size, st.st_mtime_ns)


def scan(
    library: Library,
    root: Path,
    detector: Detector,
    embedder: Embedder | None,
    cancel: threading.Event | None = None,
    options: ScanOptions = DEFAULT_OPTIONS,
) -> Generator[ScanProgress, None, ScanResult]:
    """Scan `root` into `library`, yielding progress after every photo.

    Unchanged files (same path, size and mtime) are skipped without reading them; a known photo
    at another path gets that path too (a copy or a move). A path whose content changed is
    given to the new content, and the old content, left with no path, is retired (its faces
    leave people, untouched, and come back if the content does). Files gone from a folder that
    is still there are marked missing, never deleted; a folder that is gone (an unplugged
    drive) changes nothing.
    Each photo is stored in its own transaction, so a killed scan resumes where it stopped;
    interrupted (Ctrl+C, or the generator closed), the photos already decoded are stored first.
    With no embedder, faces are stored without vectors. With `options.workers` > 1 (and at
    least `options.parallel_from` files to read), worker processes read, decode, detect and embed
    photos and this process stores them, in file order; otherwise a read-ahead thread reads and
    decodes the next photos while this one detects and embeds.
    """
    root = Path(root)
    if not root.is_dir():
        raise PhotofaceError(f"{root} is not a folder that can be scanned")
    # Listed from an absolute, normalised root, every path is already what abspath makes.
    files = list_photos(Path(os.path.abspath(root)))
    listed = {str(p) for p in files}
    gone = [p for p in library.present_paths_under(root) if p not in listed and is_gone(p)]
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

    def result(cancelled: bool = False) -> ScanResult:
        p = prog
        return ScanResult(
            done=p.done,
            total=p.total,
            faces=p.faces,
            new_photos=p.new_photos,
            unchanged=p.unchanged,
            moved=p.moved,
            errors=p.errors,
            missing=p.missing,
            retired_faces=p.retired_faces,
            elapsed=time.monotonic() - t0,
            cancelled=cancelled,
            error_list=tuple(errors),
        )

    def flush() -> None:
        nonlocal prog
        crops = [c for p in pending for c in p.crops]
        if crops and embedder is not None:
            codes = embed_crops(embedder, crops)
            model_id = embedder.info.model_id
            k = 0
            for p in pending:
                n = len(p.records)
                p.records = [
                    replace(r, embedding=codes[k + i], model_id=model_id)
                    for i, r in enumerate(p.records)
                ]
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

    def read(path: Path) -> FileRead:
        return read_file(path, known_files, known_hashes, options)

    # The rescan's fast path: a file at a known path with its known size and mtime is
    # unchanged after one stat and one lookup, on this thread, with no transaction and one
    # progress report for them all (a thread hop and a report each cost more than the stat).
    files = [p for p in files if not _unchanged(str(p), known_files)]
    if len(files) < prog.total:
        skipped = prog.total - len(files)
        prog = replace(prog, done=skipped, unchanged=skipped)
        yield prog
    pool: WorkerPool | None = None
    reader: ReadAhead | None = None
    spec = model_spec(detector, embedder) if options.workers > 1 else None
    if spec is not None:
        reads = [stat_file(p, known_files) for p in files]
        if sum(r.kind == "new" for r in reads) >= max(options.parallel_from, 1):
            pool = WorkerPool(spec, known_hashes, options, options.workers)
            source = pool.results(files, reads, cancel)
    if pool is None:
        reader = ReadAhead(files, read, options.read_ahead)
        source = _serial(reader)
    finished = False
    try:
        while prog.done < prog.total:
            if cancel is not None and cancel.is_set():
                flush()
                return result(cancelled=True)
            got = next(source, _END)
            if got is _END:
                break
            if got is None:  # cancelled while waiting for a worker
                flush()
                return result(cancelled=True)
            ready = got if isinstance(got, Scanned) else None
            item = got.item if isinstance(got, Scanned) else got
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
            elif ready is not None:  # a worker found and embedded its faces
                assert ready.records is not None
                assert item.size is not None and item.mtime is not None
                photo = PhotoRecord(
                    item.digest,
                    item.key,
                    item.size,
                    item.mtime,
                    *ready.original_size,
                    detector.name,
                )
                owner = library.path_owner(item.key)
                pending.append(_Pending(photo, ready.records, [], owner))
                seen.add(item.digest)
                prog = replace(
                    prog, faces=prog.faces + len(ready.records), new_photos=prog.new_photos + 1
                )
                flush()  # nothing left to batch: stored at once, one transaction
            else:
                assert item.loaded is not None and item.size is not None
                assert item.mtime is not None
                found = find_faces(item.loaded, detector)
                w, h = item.loaded.original_size
                photo = PhotoRecord(
                    item.digest, item.key, item.size, item.mtime, w, h, detector.name
                )
                records = [face_record(f) for f in found]
                crops = [f.model_crop for f in found]
                pending.append(_Pending(photo, records, crops, library.path_owner(item.key)))
                seen.add(item.digest)
                prog = replace(
                    prog, faces=prog.faces + len(records), new_photos=prog.new_photos + 1
                )
            if sum(len(p.crops) for p in pending) >= options.batch_faces or (
                len(pending) >= options.batch_photos
            ):
                flush()
            elapsed = time.monotonic() - t0
            eta = elapsed / worked * (prog.total - prog.done) if worked else None
            prog = replace(prog, elapsed=elapsed, eta=eta)
            yield prog
        flush()
        finished = True
    except (KeyboardInterrupt, GeneratorExit):
        # Stopped mid-way (Ctrl+C, or the consumer dropped the scan): keep what was decoded.
        flush()
        raise
    finally:
        if reader is not None:
            reader.stop()
        if pool is not None:
            if finished:
                pool.close()
            else:
                pool.terminate()
    return result()


_END = object()


def _serial(reader: ReadAhead) -> Iterator[FileRead]:
    while (item := reader.next()) is not None:
        yield item
