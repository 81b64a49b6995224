"""Scan worker processes: each reads, decodes, detects, aligns and embeds whole photos with one
onnxruntime thread, and hands back only what is stored (boxes, crops as JPEG, int8 vectors)."""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from multiprocessing.pool import AsyncResult, Pool
from pathlib import Path

from photoface.core.detect import BlazeFaceDetector, Detector, YuNetDetector
from photoface.core.embed import Embedder, OnnxEmbedder
from photoface.core.pipeline import (
    FileRead,
    FoundFace,
    ScanOptions,
    embed_crops,
    find_faces,
    read_file,
)
from photoface.library import FaceRecord

log = logging.getLogger(__name__)

# A process started with `spawn` imports only what it needs: rawpy (LibRaw) and onnxruntime are
# not safe to fork, and a forked window would copy Qt into every worker.
START_METHOD = "spawn"


def face_record(face: FoundFace) -> FaceRecord:
    """A found face as the library stores it (its vector comes with the batch)."""
    return FaceRecord(
        box=face.box,
        landmarks=face.landmarks,
        score=face.score,
        quality=face.quality,
        crop_jpeg=face.crop_jpeg,
        embedding=None,
        model_id=None,
    )


@dataclass(frozen=True)
class ModelSpec:
    """What a worker needs to open the same detector and embedder as the scan was given."""

    detector: str  # "yunet" | "blazeface"
    detector_path: Path
    score_threshold: float
    nms_iou: float
    embedder_path: Path | None
    embedder_batch: int = 64

    def build(self) -> tuple[Detector, Embedder | None]:
        detector: Detector
        if self.detector == "yunet":
            detector = YuNetDetector(
                self.detector_path, self.score_threshold, self.nms_iou, threads=1
            )
        else:
            detector = BlazeFaceDetector(self.detector_path, self.score_threshold)
        embedder = None
        if self.embedder_path is not None:
            embedder = OnnxEmbedder(self.embedder_path, threads=1, batch_size=self.embedder_batch)
        return detector, embedder


def model_spec(detector: Detector, embedder: Embedder | None) -> ModelSpec | None:
    """The spec that rebuilds these models in a worker; None for models only this process can
    hold (a test's fake, a subclass): the scan then runs in one process."""
    emb_path = None
    if embedder is not None:
        if type(embedder) is not OnnxEmbedder:
            return None
        emb_path = embedder.path
    if type(detector) is YuNetDetector:
        return ModelSpec(
            "yunet", detector.model_path, detector.score_threshold, detector.nms_iou, emb_path
        )
    if type(detector) is BlazeFaceDetector:
        return ModelSpec("blazeface", detector.model_path, detector.score_threshold, 0.0, emb_path)
    return None


@dataclass
class Scanned:
    """One photo back from a worker: the file's read (no pixels) and, if new, its faces."""

    item: FileRead
    original_size: tuple[int, int] = (0, 0)
    records: list[FaceRecord] | None = None  # vectors filled in when there is an embedder


@dataclass
class _Worker:
    detector: Detector
    embedder: Embedder | None
    known_hashes: set[str]
    options: ScanOptions


_worker: _Worker | None = None  # this worker process's models, opened once by _start


def _start(spec: ModelSpec, known_hashes: set[str], options: ScanOptions) -> None:
    global _worker
    # Ctrl+C goes to the whole process group: the parent alone decides what to keep.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    detector, embedder = spec.build()
    _worker = _Worker(detector, embedder, known_hashes, options)


def scan_photos(paths: list[Path]) -> list[Scanned]:
    """Read, decode, detect and align each photo in this worker, then embed all their faces in
    one batch (batches run faster per face). Errors are recorded in the results, as on the
    one-process path; a failing model raises, as it does there."""
    w = _worker
    assert w is not None, "scan_photos runs in a worker started by WorkerPool"
    out: list[Scanned] = []
    crops = []
    for path in paths:
        item = read_file(path, {}, w.known_hashes, w.options)
        if item.kind != "new" or item.loaded is None:
            out.append(Scanned(item))
            continue
        loaded, item.loaded = item.loaded, None  # the pixels stay here
        found = find_faces(loaded, w.detector)
        out.append(Scanned(item, loaded.original_size, [face_record(f) for f in found]))
        crops += [f.model_crop for f in found]
    if crops and w.embedder is not None:
        codes = iter(embed_crops(w.embedder, crops))
        model_id = w.embedder.info.model_id
        for got in out:
            if got.records:
                got.records = [
                    replace(r, embedding=next(codes), model_id=model_id) for r in got.records
                ]
    return out


# Photos go to a worker in batches of up to BATCH_PHOTOS, or fewer past BATCH_BYTES of files:
# small photos' faces are embedded together and cost one message, while a camera's photos go
# one at a time so that both workers have one to decode from the start.
BATCH_PHOTOS = 8
BATCH_BYTES = 1 << 20
LOOKAHEAD = 256  # files stat'ed ahead of the one being stored, besides those with the workers


class WorkerPool:
    """Photos handed to `workers` processes, a few per worker ahead, their results taken back in
    the order they were given (so a scan stores photos in the same order on every path)."""

    def __init__(
        self, spec: ModelSpec, known_hashes: set[str], options: ScanOptions, workers: int
    ) -> None:
        ctx = multiprocessing.get_context(START_METHOD)
        self.depth = 3 * workers  # enough to keep every worker busy, little held in memory
        self._pending: deque[AsyncResult[list[Scanned]]] = deque()
        self._ready: deque[Scanned] = deque()  # results of a batch, not yet taken
        self._pool: Pool | None = ctx.Pool(
            workers, initializer=_start, initargs=(spec, known_hashes, options)
        )

    @property
    def full(self) -> bool:
        return len(self._pending) >= self.depth

    @property
    def waiting(self) -> int:
        return len(self._pending)

    def submit(self, paths: list[Path]) -> None:
        """Hand a batch of photos to the next free worker."""
        assert self._pool is not None
        self._pending.append(self._pool.apply_async(scan_photos, (paths,)))

    def next(self, cancel: threading.Event | None) -> Scanned | None:
        """The oldest photo's result, waited for; None when `cancel` was set meanwhile. A
        worker's exception (a failing model) is raised here."""
        if not self._ready:
            first = self._pending[0]
            while not first.ready():
                if cancel is not None and cancel.is_set():
                    return None
                first.wait(0.05)
            self._pending.popleft()
            self._ready.extend(first.get())
        return self._ready.popleft()

    def results(
        self, paths: list[Path], reads: list[FileRead], cancel: threading.Event | None
    ) -> Iterator[FileRead | Scanned | None]:
        """Each path's result in order: its `reads` entry (stat'ed here) when that is not
        "new", else what a worker made of it; None, and the end, when `cancel` is set."""
        order: deque[FileRead | None] = deque()  # None: the next result from a worker
        todo = iter(zip(paths, reads, strict=True))
        more = True
        batch: list[Path] = []
        batch_bytes = 0
        while True:
            while more and not self.full and len(order) < self.depth * BATCH_PHOTOS + LOOKAHEAD:
                nxt = next(todo, None)
                if nxt is None:
                    more = False
                elif nxt[1].kind == "new":
                    batch.append(nxt[0])
                    batch_bytes += nxt[1].size or 0
                    order.append(None)
                else:
                    order.append(nxt[1])
                if batch and (not more or len(batch) >= BATCH_PHOTOS or batch_bytes >= BATCH_BYTES):
                    self.submit(batch)
                    batch, batch_bytes = [], 0
            if not order:
                return
            head = order.popleft()
            if head is None and batch and not self._pending and not self._ready:
                self.submit(batch)  # its first photo is next: do not wait for it to fill
                batch, batch_bytes = [], 0
            got = head if head is not None else self.next(cancel)
            yield got
            if got is None:
                return

    def close(self) -> None:
        """Let the workers finish and exit (all results taken)."""
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def terminate(self) -> None:
        """Stop the workers now, the photos they held dropped (Cancel, Ctrl+C, an error)."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        self._pending.clear()
