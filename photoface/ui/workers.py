"""One generic worker: runs a job (a generator) on a QThread, hands its progress (throttled),
its return value or its error to main-thread callbacks. Workers never touch widgets."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)

P = TypeVar("P")
R = TypeVar("R")

# A job gets the cancel flag, yields progress objects and returns its result.
Job = Callable[[threading.Event], Generator[P, None, R]]


class Worker(QObject):
    """Runs one job on the thread it was moved to: `progress` for its yields (at most every
    `min_interval` seconds), `done` with its return value, or `failed`."""

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str, str)  # message for the user, traceback for the log

    def __init__(self, job: Job[Any, Any], min_interval: float = 0.1) -> None:
        super().__init__()
        self.job = job
        self.cancel = threading.Event()
        self.min_interval = min_interval

    @Slot()
    def run(self) -> None:
        sent_at = 0.0
        try:
            steps = self.job(self.cancel)
            while True:
                try:
                    step = next(steps)
                except StopIteration as stop:
                    self.done.emit(stop.value)
                    return
                now = time.monotonic()
                # Repaint at most ~10 times a second; a step marked `keep` (news the window
                # must act on, not a count) is always passed on.
                if getattr(step, "keep", False) or now - sent_at >= self.min_interval:
                    self.progress.emit(step)
                    sent_at = now
        except Exception as e:  # handed to the main thread, which shows it and logs it
            from photoface.errors import PhotofaceError

            msg = str(e) if isinstance(e, PhotofaceError) else f"{type(e).__name__}: {e}"
            self.failed.emit(msg, traceback.format_exc())


class _Callbacks(Generic[P, R]):
    def __init__(self, progress: Callable[[P], object], done: Callable[[R], object]) -> None:
        self.progress, self.done = progress, done


class TaskRunner(QObject):
    """Owns the one background job of a window (a scan, a regrouping) and its thread; hands
    that job's progress and result to the callbacks it was started with."""

    failed = Signal(str, str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: Worker | None = None
        self._callbacks: _Callbacks[Any, Any] | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(
        self, job: Job[P, R], progress: Callable[[P], object], done: Callable[[R], object]
    ) -> bool:
        """Run `job` on a new thread; False (and nothing started) while another one runs."""
        if self.busy:
            return False
        thread = QThread()
        worker = Worker(job)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.done.connect(self._finish_done)
        worker.failed.connect(self._finish_failed)
        self._thread, self._worker = thread, worker
        self._callbacks = _Callbacks(progress, done)
        thread.start()
        self.busy_changed.emit(True)
        return True

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel.set()

    def wait(self, ms: int = 30_000) -> None:
        if self._thread is not None:
            self.cancel()
            self._thread.quit()
            self._thread.wait(ms)

    def _cleanup(self) -> _Callbacks[Any, Any] | None:
        thread, callbacks = self._thread, self._callbacks
        self._thread, self._worker, self._callbacks = None, None, None
        if thread is not None:
            thread.quit()
            thread.wait()
        self.busy_changed.emit(False)
        return callbacks

    @Slot(object)
    def _on_progress(self, step: object) -> None:
        if self._callbacks is not None:
            self._callbacks.progress(step)

    @Slot(object)
    def _finish_done(self, result: object) -> None:
        callbacks = self._cleanup()
        if callbacks is not None:
            callbacks.done(result)

    @Slot(str, str)
    def _finish_failed(self, message: str, tb: str) -> None:
        log.error("background task failed: %s\n%s", message, tb)
        self._cleanup()
        self.failed.emit(message, tb)
