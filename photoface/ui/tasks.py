"""Scans and regrouping on the worker, their progress and results; settings; folder drops."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from photoface import settings as settings_mod
from photoface.core.cluster import ClusterParams
from photoface.core.grouping import EmbedProgress
from photoface.library import Library
from photoface.ui.dialogs import SettingsDialog

log = logging.getLogger(__name__)


class BackgroundWork:
    """Mixed into MainWindow: long work runs on `self.runner`; these slots apply its results."""

    # --- background work ------------------------------------------------------------------------

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder(Path(folder))

    def add_folder(self, folder: Path) -> bool:
        if self.runner.busy:
            QMessageBox.information(self, "photoface", "A scan is already running.")
            return False
        from photoface.core.grouping import reembed, update
        from photoface.core.pipeline import ScanOptions, scan

        lib_path, detector_factory, embedder = self.library_path, self.detector_factory, \
            self.embedder  # fmt: skip
        params = self.settings.cluster_params(embedder.info) if embedder else None
        max_side = self.settings.max_side

        def task(cancel: threading.Event) -> Iterator[object]:
            with Library(lib_path) as lib:  # this thread's own connection
                if embedder is not None:
                    yield from reembed(lib, embedder, cancel)
                last = None
                for last in scan(lib, folder, detector_factory(), embedder, cancel,
                                 ScanOptions(max_side=max_side)):  # fmt: skip
                    yield last
                if embedder is not None and not cancel.is_set():
                    update(lib, embedder.info, params)
                yield last

        self.scan_errors = []
        self.errors_list.clear()
        self.status_label.setText(f"Scanning {folder}…")
        return self.runner.start(task)

    def update_faces(self) -> bool:
        """After a model change: faces with no vector, or one the model cannot compare with,
        are embedded again from their stored crops on the worker, then grouped again (edits
        kept). A compatible (harmonic) model needs none of this. Cancel leaves the rest for the
        next start."""
        if self.embedder is None or self.runner.busy:
            return False
        info = self.embedder.info
        n = len(self.library.faces_to_embed(info.model_id, info.compatible_with))
        if n == 0:
            return False
        from photoface.core.grouping import recluster, reembed

        lib_path, embedder = self.library_path, self.embedder
        params = self.settings.cluster_params(info)

        def task(cancel: threading.Event) -> Iterator[object]:
            with Library(lib_path) as lib:
                last = None
                for last in reembed(lib, embedder, cancel):
                    yield last
                if last is not None and not last.cancelled:
                    recluster(lib, info, params)
                yield last

        log.info("re-embedding %d faces for model %s", n, info.model_id)
        self.status_label.setText(f"Updating {n} faces for the model {info.model_id}…")
        return self.runner.start(task)

    def recluster(self, params: ClusterParams | None = None) -> bool:
        if self.embedder is None or self.runner.busy:
            return False
        from photoface.core.grouping import recluster

        lib_path, info = self.library_path, self.embedder.info
        params = params or self.settings.cluster_params(info)

        def task(cancel: threading.Event) -> Iterator[object]:
            with Library(lib_path) as lib:
                yield recluster(lib, info, params)

        self.status_label.setText("Grouping faces again (your edits are kept)…")
        return self.runner.start(task)

    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
            self._live.start()
        else:
            self._live.stop()

    def _on_progress(self, p: object) -> None:
        total, done = getattr(p, "total", 0), getattr(p, "done", 0)
        if not total:
            return
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if isinstance(p, EmbedProgress):
            self.status_label.setText(f"Updating faces for the new model: {done}/{total}")
            return
        eta = getattr(p, "eta", None)
        faces = getattr(p, "faces", None)
        what = f"{done}/{total} photos" + (f", {faces} faces" if faces is not None else "")
        self.status_label.setText(f"Scanning: {what}" + (f", about {eta:.0f} s left"
                                                         if eta else ""))  # fmt: skip

    def _on_task_done(self, result: object) -> None:
        if isinstance(result, EmbedProgress):
            self.status_label.setText(
                f"Cancelled: {result.total - result.done} faces still to update for the new "
                "model (next time photoface starts)." if result.cancelled
                else f"{result.total} faces updated for the new model and grouped again."
            )  # fmt: skip
            self.refresh()
            return
        errors = getattr(result, "error_list", ())
        for path, reason in errors:
            self.errors_list.addItem(f"{path}: {reason}")
        self.errors_dock.setVisible(bool(errors))
        if hasattr(result, "total"):
            word = "Cancelled" if getattr(result, "cancelled", False) else "Done"
            self.status_label.setText(
                f"{word}: {result.done}/{result.total} photos, {result.faces} new faces, "
                f"{result.errors} unreadable")  # fmt: skip
        else:
            self.status_label.setText("Faces grouped again.")
        if self.embedder is None:
            note = " — no embedding model: faces are not grouped yet."
            self.status_label.setText(self.status_label.text() + note)
        self.refresh()

    def _on_task_failed(self, message: str, _tb: str) -> None:
        self.status_label.setText("The task stopped.")
        QMessageBox.critical(self, "photoface", message)
        self.refresh()

    def open_settings(self) -> None:
        info = self.embedder.info if self.embedder else None
        dlg = SettingsDialog(self.settings, info.grouping_threshold if info else None,
                             str(self.library_path), self)  # fmt: skip
        if not dlg.exec():
            return
        threshold, min_faces, library = dlg.values()
        changed = (threshold, min_faces) != (self.settings.cluster_threshold,
                                             self.settings.min_faces)  # fmt: skip
        self.settings.cluster_threshold, self.settings.min_faces = threshold, min_faces
        if library and Path(library) != self.library_path:
            self.settings.library = library
            QMessageBox.information(
                self, "photoface", "The new library opens the next time photoface starts."
            )
        settings_mod.save(self.data_dir, self.settings)
        if changed:
            self.recluster()

    # --- drag and drop of folders ------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        for url in event.mimeData().urls():
            path = Path(url.toLocalFile())
            if path.is_dir():
                self.add_folder(path)
                event.acceptProposedAction()
                return
        QMessageBox.information(self, "photoface", "Drop a folder of photos to add it.")
