"""One generic worker: runs a core generator on a QThread, hands progress (throttled), the
result or the error to main-thread slots. Workers never touch widgets."""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

log = logging.getLogger(__name__)

# A task gets the cancel flag and yields progress objects; its last yield is its result.
Task = Callable[[threading.Event], Iterator[Any]]


class Worker(QObject):
    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str, str)  # message for the user, traceback for the log

    def __init__(self, task: Task, min_interval: float = 0.1) -> None:
        super().__init__()
        self.task = task
        self.cancel = threading.Event()
        self.min_interval = min_interval

    @Slot()
    def run(self) -> None:
        last, sent_at = None, 0.0
        try:
            for last in self.task(self.cancel):
                now = time.monotonic()
                if now - sent_at >= self.min_interval:  # repaint at most ~10 times a second
                    self.progress.emit(last)
                    sent_at = now
            self.done.emit(last)
        except Exception as e:  # handed to the main thread, which shows it and logs it
            from photoface.errors import PhotofaceError

            msg = str(e) if isinstance(e, PhotofaceError) else f"{type(e).__name__}: {e}"
            self.failed.emit(msg, traceback.format_exc())


class TaskRunner(QObject):
    """Owns the one background task of a window (a scan, a re-grouping) and its thread."""

    progress = Signal(object)
    done = Signal(object)
    failed = Signal(str, str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: Worker | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def start(self, task: Task) -> bool:
        if self.busy:
            return False
        thread = QThread()
        worker = Worker(task)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.done.connect(self._finish_done)
        worker.failed.connect(self._finish_failed)
        self._thread, self._worker = thread, worker
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

    def _cleanup(self) -> None:
        thread = self._thread
        self._thread, self._worker = None, None
        if thread is not None:
            thread.quit()
            thread.wait()
        self.busy_changed.emit(False)

    @Slot(object)
    def _finish_done(self, result: object) -> None:
        self._cleanup()
        self.done.emit(result)

    @Slot(str, str)
    def _finish_failed(self, message: str, tb: str) -> None:
        log.error("background task failed: %s\n%s", message, tb)
        self._cleanup()
        self.failed.emit(message, tb)
