"""The main window: pages, actions, the scan on a worker, and the user's edits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QInputDialog,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
)

from photoface import settings as settings_mod
from photoface.core.detect import Detector, make_detector
from photoface.core.embed import Embedder, load_default_embedder
from photoface.errors import ModelMissingError, PhotofaceError
from photoface.store import Library
from photoface.ui.dialogs import MoveToDialog
from photoface.ui.models import ID_ROLE, FacesModel, PeopleModel, Thumbnails
from photoface.ui.pages import EmptyState, PeoplePage, PersonPage
from photoface.ui.photo_view import PhotoView
from photoface.ui.tasks import BackgroundWork
from photoface.ui.workers import TaskRunner

log = logging.getLogger(__name__)


def default_embedder() -> Embedder | None:
    try:
        return load_default_embedder()
    except ModelMissingError as e:  # faces are still found and kept; the window says so
        log.warning("%s", e)
        return None


class MainWindow(BackgroundWork, QMainWindow):
    """People, a person's faces, a photo; the edits; scans and regrouping via BackgroundWork."""

    def __init__(
        self,
        library_path: Path,
        settings: settings_mod.Settings,
        data_dir: Path,
        detector_factory: Callable[[], Detector] | None = None,
        embedder_factory: Callable[[], Embedder | None] = default_embedder,
    ) -> None:
        super().__init__()
        self.setWindowTitle("photoface")
        self.resize(1100, 760)
        self.setAcceptDrops(True)
        self.settings, self.data_dir = settings, data_dir
        self.detector_factory = detector_factory or (
            lambda: make_detector(self.settings.detector, self.settings.threads)
        )
        self.embedder = embedder_factory()
        self.library_path = library_path
        self.library = Library(library_path)
        self.thumbs = Thumbnails(self.library)
        self.people_model = PeopleModel(self.library, self.thumbs, self)
        self.faces_model = FacesModel(self.library, self.thumbs, self)
        self.runner = TaskRunner(self)
        self.scan_errors: list[tuple[str, str]] = []
        self._build_pages()
        self._build_actions()
        self._build_status()
        self.people_model.merge_requested.connect(self.merge_people)
        self.runner.progress.connect(self._on_progress)
        self.runner.done.connect(self._on_task_done)
        self.runner.failed.connect(self._on_task_failed)
        self.runner.busy_changed.connect(self._on_busy)
        self._live = QTimer(self)  # results appear while a scan runs, a few times a minute
        self._live.setInterval(3000)
        self._live.timeout.connect(self.refresh)
        self.refresh()
        QTimer.singleShot(0, self.update_faces)  # a new, incompatible model: re-embed

    # --- layout -------------------------------------------------------------------------------

    def _build_pages(self) -> None:
        self.stack = QStackedWidget(self)
        self.empty = EmptyState()
        self.empty.choose_folder.connect(self.choose_folder)
        if self.embedder is None:
            self.empty.notice.setText(
                "No face-embedding model is installed: faces will be found and kept, and "
                "grouped into people once a model is installed (see README, Training)."
            )
        self.people_page = PeoplePage()
        self.people_page.view.setModel(self.people_model)
        self.people_page.view.doubleClicked.connect(lambda ix: self.open_person(ix.data(ID_ROLE)))
        self.people_page.view.activated.connect(lambda ix: self.open_person(ix.data(ID_ROLE)))
        self.people_page.view.name_requested.connect(self._name_tile)
        self.people_page.search.textChanged.connect(self._on_search)
        self.people_page.show_hidden.toggled.connect(self._on_show_hidden)
        self.people_page.unsorted.clicked.connect(lambda: self.open_person(None))
        self.person_page = PersonPage()
        self.person_page.view.setModel(self.faces_model)
        self.person_page.back.connect(self.show_people)
        self.person_page.name_button.clicked.connect(self.rename_selected)
        self.person_page.not_this.clicked.connect(self.not_this_person)
        self.person_page.move_to.clicked.connect(self.move_faces_to)
        self.person_page.remove.clicked.connect(self.remove_faces)
        self.person_page.open_photo.clicked.connect(self.open_selected_photo)
        self.person_page.view.doubleClicked.connect(lambda _ix: self.open_selected_photo())
        self.photo_view = PhotoView()
        self.photo_view.person_clicked.connect(self.open_person)
        self.photo_view.back.connect(self.go_back)
        for w in (self.empty, self.people_page, self.person_page, self.photo_view):
            self.stack.addWidget(w)
        self.setCentralWidget(self.stack)
        self.errors_list = QListWidget()
        self.errors_dock = QDockWidget("Files that could not be read", self)
        self.errors_dock.setWidget(self.errors_list)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.errors_dock)
        self.errors_dock.hide()

    def _action(self, menu, text: str, slot, shortcut=None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_actions(self) -> None:
        m = self.menuBar()
        f = m.addMenu("&File")
        self._action(f, "&Add folder…", self.choose_folder, QKeySequence.StandardKey.Open)
        self._action(f, "&Settings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        e = m.addMenu("&Edit")
        self.undo_action = self._action(e, "&Undo", self.undo, QKeySequence.StandardKey.Undo)
        self.redo_action = self._action(e, "&Redo", self.redo, QKeySequence("Ctrl+Shift+Z"))
        e.addSeparator()
        self._action(e, "&Name person…", self.rename_selected, QKeySequence("F2"))
        self._action(e, "&Merge selected people", self.merge_selected, QKeySequence("Ctrl+M"))
        self._action(e, "&Hide or show person", self.toggle_hidden_selected,
                     QKeySequence("Ctrl+H"))  # fmt: skip
        v = m.addMenu("&View")
        self._action(v, "&People", self.show_people, QKeySequence("Ctrl+1"))
        self._action(v, "&Unsorted faces", lambda: self.open_person(None), QKeySequence("Ctrl+2"))
        self._action(v, "Back", self.go_back, QKeySequence(Qt.Key.Key_Escape))

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.cancel_button.hide()
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    # --- navigation -----------------------------------------------------------------------------

    def refresh(self) -> None:
        selected = self.selected_people()
        self.thumbs.clear()
        self.people_model.refresh()
        if self.stack.currentWidget() is self.person_page:
            self.faces_model.refresh()
        counts = self.library.counts()
        shown = self.people_model.rowCount()  # counts['people'] also counts emptied people
        self.people_page.summary.setText(
            f"{shown} {'person' if shown == 1 else 'people'} shown · {counts['faces']} faces in "
            f"{counts['photos']} photos"
            f" · {counts['unsorted']} unsorted")  # fmt: skip
        self.people_page.unsorted.setText(f"Unsorted faces ({counts['unsorted']})")
        if counts["faces"] == 0 and self.stack.currentWidget() is not self.photo_view:
            self.stack.setCurrentWidget(self.empty)
        elif self.stack.currentWidget() is self.empty:
            self.stack.setCurrentWidget(self.people_page)
        self._reselect(selected)
        self.undo_action.setEnabled(any(not u for _, _, u in self.library.undo_history(1)))

    def _reselect(self, ids: list[int]) -> None:
        sel = self.people_page.view.selectionModel()
        for pid in ids:
            row = self.people_model.row_of(pid)
            if row is not None:
                sel.select(self.people_model.index(row), sel.SelectionFlag.Select)

    def show_people(self) -> None:
        self.stack.setCurrentWidget(self.people_page if self.library.counts()["faces"]
                                    else self.empty)  # fmt: skip
        self.refresh()

    def go_back(self) -> None:
        if self.stack.currentWidget() is self.photo_view and self.faces_model.rowCount():
            self.stack.setCurrentWidget(self.person_page)
        else:
            self.show_people()

    def open_person(self, person_id: int | None) -> None:
        self.faces_model.show_person(person_id)
        if person_id is None:
            title = "Unsorted faces"
        else:
            p = self.library.person(person_id)
            title = f"{p.label} — {p.face_count} faces"
        self.person_page.title.setText(title)
        self.person_page.name_button.setEnabled(person_id is not None)
        self.person_page.view.scrollToTop()  # a reset keeps the last person's scroll position
        self.stack.setCurrentWidget(self.person_page)

    def open_photo(self, photo_id: int) -> None:
        photo = self.library.photo(photo_id)
        faces = []
        for f in self.library.faces_of_photo(photo_id):
            label = self.library.person(f.person_id).label if f.person_id else "Unsorted"
            faces.append((f.box, f.person_id, label))
        self.photo_view.show_photo(photo.path, faces)
        self.stack.setCurrentWidget(self.photo_view)

    def open_selected_photo(self) -> None:
        faces = self.selected_faces()
        if faces:
            self.open_photo(self.library.face(faces[0]).photo_id)

    def _on_search(self, text: str) -> None:
        self.people_model.search = text.strip()
        self.people_model.refresh()

    def _on_show_hidden(self, on: bool) -> None:
        self.people_model.include_hidden = on
        self.people_model.refresh()

    # --- selections -----------------------------------------------------------------------------

    def selected_people(self) -> list[int]:
        sel = self.people_page.view.selectionModel()
        return [ix.data(ID_ROLE) for ix in sel.selectedIndexes()] if sel else []

    def selected_faces(self) -> list[int]:
        sel = self.person_page.view.selectionModel()
        return [ix.data(ID_ROLE) for ix in sel.selectedIndexes()] if sel else []

    # --- edits (each one undoable, stored at once) ---------------------------------------------

    def _edit(self, fn: Callable[[], object]) -> object | None:
        try:
            result = fn()
        except PhotofaceError as e:
            QMessageBox.warning(self, "photoface", str(e))
            return None
        self.refresh()
        return result

    def rename_person(self, person_id: int, name: str) -> bool:
        """Name a person; a name another person has offers to merge the two instead."""
        name = name.strip()
        other = self.library.person_by_name(name) if name else None
        if other is not None and other.id != person_id:
            ask = QMessageBox.question(
                self, "Same person?",
                f"“{name}” is already a person here. Merge the two into one person?")  # fmt: skip
            if ask == QMessageBox.StandardButton.Yes:
                self.merge_people([person_id], other.id)
                return True
            return False
        self._edit(lambda: self.library.rename(person_id, name or None))
        return self.library.person(person_id).name == (name or None)

    def _name_tile(self, ix) -> None:
        self.people_page.view.setCurrentIndex(ix)  # select just this tile, then name it
        self.rename_selected()

    def rename_selected(self) -> None:
        ids = self.selected_people()
        if self.stack.currentWidget() is self.person_page and self.faces_model.person_id:
            ids = [self.faces_model.person_id]
        if len(ids) != 1:
            return
        p = self.library.person(ids[0])
        name, ok = QInputDialog.getText(self, "Name person", "Name:", text=p.name or "")
        if ok:
            self.rename_person(p.id, name)
            if self.stack.currentWidget() is self.person_page:
                self.open_person(p.id)

    def merge_people(self, ids: list[int], into: int | None = None) -> None:
        all_ids = list(dict.fromkeys([*ids, *([into] if into is not None else [])]))
        if len(all_ids) >= 2:
            self._edit(lambda: self.library.merge(all_ids, into))

    def merge_selected(self) -> None:
        self.merge_people(self.selected_people())

    def toggle_hidden_selected(self) -> None:
        for pid in self.selected_people():
            hidden = self.library.person(pid).hidden
            self._edit(lambda pid=pid, hidden=hidden: self.library.hide(pid, not hidden))

    def not_this_person(self) -> None:
        faces, pid = self.selected_faces(), self.faces_model.person_id
        if faces and pid is not None:
            self._edit(lambda: self.library.reject(faces, pid))

    def move_faces_to(self, target: int | None = -1) -> None:
        faces = self.selected_faces()
        if not faces:
            return
        if target == -1:  # ask
            dlg = MoveToDialog([p for p in self.library.people()
                                if p.id != self.faces_model.person_id], self)  # fmt: skip
            if not dlg.exec():
                return
            target = dlg.person_id()
        self._edit(lambda: self.library.move_faces(faces, target))

    def remove_faces(self) -> None:
        faces = self.selected_faces()
        if faces:
            self._edit(lambda: self.library.remove_faces(faces))

    def undo(self) -> None:
        done = self.library.undo()
        self.status_label.setText(f"Undone: {done}" if done else "Nothing to undo")
        self.refresh()

    def redo(self) -> None:
        done = self.library.redo()
        self.status_label.setText(f"Redone: {done}" if done else "Nothing to redo")
        self.refresh()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.runner.wait()
        self.library.close()
        super().closeEvent(event)
