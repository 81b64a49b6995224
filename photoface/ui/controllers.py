"""A controller per job: starts it on the window's TaskRunner and shows its progress and typed
result in the status bar. Each is given what it uses, nothing of the window else."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator
from pathlib import Path

from PySide6.QtWidgets import QDockWidget, QLabel, QMessageBox, QProgressBar, QWidget

from photoface import jobs
from photoface.core.cluster import ClusterParams
from photoface.core.detect import Detector
from photoface.core.embed import Embedder
from photoface.core.pipeline import ScanOptions
from photoface.jobs import (
    EmbedProgress,
    GroupingStarted,
    LiveGrouping,
    PeopleGrouped,
    RegroupResult,
    ScanFolderProgress,
    ScanFolderResult,
    ScanProgress,
)
from photoface.library import Library
from photoface.settings import Settings
from photoface.ui.errors_panel import ErrorsList
from photoface.ui.workers import TaskRunner

log = logging.getLogger(__name__)


class JobStatus:
    """The status bar's share of a job: a line of text and the progress bar."""

    def __init__(self, label: QLabel, bar: QProgressBar) -> None:
        self.label, self.bar = label, bar

    def say(self, text: str) -> None:
        self.label.setText(text)

    def step(self, done: int, total: int) -> None:
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(done)

    def embedding(self, p: EmbedProgress) -> None:
        self.step(p.done, p.total)
        self.say(f"Updating faces for the new model: {p.done}/{p.total}")


class ScanController:
    """Add a folder: re-embed stale faces, scan, group the new faces (jobs.scan_folder); the
    faces found so far are grouped while it runs and after a cancel (`live`), and `grouped`
    is called each time, so people appear as they are found."""

    def __init__(
        self,
        runner: TaskRunner,
        status: JobStatus,
        errors: ErrorsList,
        errors_dock: QDockWidget,
        library_path: Path,
        detector_factory: Callable[[], Detector],
        embedder: Embedder | None,
        settings: Settings,
        finished: Callable[[], None],
        parent: QWidget,
        grouped: Callable[[], None] | None = None,
    ) -> None:
        self.runner, self.status = runner, status
        self.grouped = grouped
        self.live: LiveGrouping | None = LiveGrouping()
        self.errors, self.errors_dock = errors, errors_dock
        self.library_path, self.detector_factory = library_path, detector_factory
        self.embedder, self.settings = embedder, settings
        self.finished, self.parent = finished, parent

    def start(self, folder: Path) -> bool:
        if self.runner.busy:
            QMessageBox.information(self.parent, "photoface", "A scan is already running.")
            return False
        lib_path, embedder = self.library_path, self.embedder
        detector_factory = self.detector_factory
        params = self.settings.cluster_params(embedder.info) if embedder else None
        options = ScanOptions(max_side=self.settings.max_side, workers=self.settings.scan_workers())
        live = self.live

        def job(
            cancel: threading.Event,
        ) -> Generator[ScanFolderProgress, None, ScanFolderResult]:
            with Library(lib_path) as lib:  # this thread's own connection
                steps = jobs.scan_folder(
                    lib, folder, detector_factory(), embedder, params, cancel, options, live
                )
                return (yield from steps)

        self.errors.clear()
        self.status.say(f"Scanning {folder}…")
        return self.runner.start(job, self.progress, self.done)

    def progress(self, p: ScanFolderProgress) -> None:
        if isinstance(p, EmbedProgress):
            self.status.embedding(p)
        elif isinstance(p, ScanProgress):
            self.status.step(p.done, p.total)
            left = f", about {p.eta:.0f} s left" if p.eta else ""
            self.status.say(f"Scanning: {p.done}/{p.total} photos, {p.faces} faces{left}")
        elif isinstance(p, PeopleGrouped):
            n = p.grouping.people
            self.status.say(f"Scanning: {n} {'person' if n == 1 else 'people'} so far…")
            if self.grouped is not None:
                self.grouped()
        elif isinstance(p, GroupingStarted):
            self.status.say("Grouping the new faces…")

    def done(self, result: ScanFolderResult) -> None:
        r = result.scan
        for path, reason in r.error_list:
            self.errors.add(path, reason)
        self.errors_dock.setVisible(bool(r.error_list))
        word = "Cancelled" if r.cancelled else "Done"
        text = f"{word}: {r.done}/{r.total} photos, {r.faces} new faces, {r.errors} unreadable"
        if self.embedder is None:
            text += " — no embedding model: faces are not grouped yet."
        self.status.say(text)
        self.finished()


class RegroupController:
    """Group every face again (edits kept), first re-embedding the faces the model cannot
    compare with (jobs.regroup): after a model change, or new grouping settings."""

    def __init__(
        self,
        runner: TaskRunner,
        status: JobStatus,
        library: Library,
        library_path: Path,
        embedder: Embedder | None,
        settings: Settings,
        finished: Callable[[], None],
    ) -> None:
        self.runner, self.status = runner, status
        self.library, self.library_path = library, library_path
        self.embedder, self.settings = embedder, settings
        self.finished = finished

    def update_faces(self) -> bool:
        """After a model change: faces with no vector, or one the model cannot compare with,
        are embedded again from their stored crops, then grouped again. A compatible
        (harmonic) model needs none of this. Cancel leaves the rest for the next start."""
        if self.embedder is None or self.runner.busy:
            return False
        info = self.embedder.info
        n = len(self.library.faces_to_embed(info.comparable_ids))
        if n == 0:
            return False
        log.info("re-embedding %d faces for model %s", n, info.model_id)
        self.status.say(f"Updating {n} faces for the model {info.model_id}…")
        return self._start(self.settings.cluster_params(info))

    def recluster(self, params: ClusterParams | None = None) -> bool:
        if self.embedder is None or self.runner.busy:
            return False
        self.status.say("Grouping faces again (your edits are kept)…")
        return self._start(params or self.settings.cluster_params(self.embedder.info))

    def _start(self, params: ClusterParams) -> bool:
        lib_path, embedder = self.library_path, self.embedder
        assert embedder is not None

        def job(
            cancel: threading.Event,
        ) -> Generator[EmbedProgress | GroupingStarted, None, RegroupResult]:
            with Library(lib_path) as lib:
                return (yield from jobs.regroup(lib, embedder, params, cancel))

        return self.runner.start(job, self.progress, self.done)

    def progress(self, p: EmbedProgress | GroupingStarted) -> None:
        if isinstance(p, EmbedProgress):
            self.status.embedding(p)
        else:
            self.status.say("Grouping faces again (your edits are kept)…")

    def done(self, result: RegroupResult) -> None:
        e = result.reembedded
        if result.grouping is None:
            self.status.say(
                f"Cancelled: {e.total - e.embedded} faces still to update for the new model "
                "(next time photoface starts)."
            )
        elif e.total:
            self.status.say(f"{e.total} faces updated for the new model and grouped again.")
        else:
            self.status.say("Faces grouped again.")
        self.finished()
