"""The main window: pages, actions, the scan on a worker, and the user's edits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer, SignalInstance
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QStackedWidget,
)

from photoface import __version__
from photoface import settings as settings_mod
from photoface.core.detect import Detector, make_detector
from photoface.core.embed import Embedder
from photoface.errors import NotFoundError, PhotofaceError
from photoface.jobs import optional_embedder
from photoface.library import Library
from photoface.ui.controllers import JobStatus, RegroupController, ScanController
from photoface.ui.dialogs import SettingsDialog
from photoface.ui.edit_slots import EditSlots
from photoface.ui.errors_panel import ErrorsPanel
from photoface.ui.find import FindController
from photoface.ui.library_lock import LibraryLock
from photoface.ui.menus import ContextMenus
from photoface.ui.models import (
    ID_ROLE,
    SORTS,
    FacesModel,
    PeopleModel,
    Thumbnails,
    face_count_label,
)
from photoface.ui.pages import MAX_THUMB, MIN_THUMB, EmptyState, PeoplePage, PersonPage
from photoface.ui.photo_slots import PhotoSlots
from photoface.ui.photo_view import PhotoView
from photoface.ui.review_controller import ReviewController
from photoface.ui.workers import TaskRunner

log = logging.getLogger(__name__)


def on_press(signal: SignalInstance, slot: Callable[[], object]) -> None:
    """Connect `clicked`/`triggered` to a slot that takes nothing. Those signals carry `checked`,
    and PySide passes it to any slot with a parameter to spare (even one decorated @Slot()):
    that is how "Move to…" once moved faces to person `False`."""
    signal.connect(lambda *_checked: slot())


class MainWindow(ContextMenus, PhotoSlots, EditSlots, QMainWindow):
    """People, a person's faces, a photo; the edits via EditSlots (and PhotoSlots for the
    photo view, ContextMenus for the right-click menus); scans and regrouping by their
    controllers, on one TaskRunner."""

    def __init__(
        self,
        library_path: Path,
        settings: settings_mod.Settings,
        data_dir: Path,
        detector_factory: Callable[[], Detector] | None = None,
        embedder_factory: Callable[[], Embedder | None] = optional_embedder,
    ) -> None:
        super().__init__()
        self.setWindowTitle("photoface")
        self.resize(1100, 760)
        self.setAcceptDrops(True)
        self.settings, self.data_dir = settings, data_dir
        self.detector_factory = detector_factory or (
            lambda: make_detector(self.settings.detector, self.settings.threads)
        )
        self.model_problem: str | None = None
        try:
            self.embedder = embedder_factory()
        except PhotofaceError as e:  # a broken model file: the window opens and says why
            log.warning("%s", e)
            self.embedder, self.model_problem = None, str(e)
        self.library_path = library_path
        self.library = Library(library_path)
        self.lock = LibraryLock.acquire(Path(self.library.path))
        thumb = min(max(self.settings.thumb_size, MIN_THUMB), MAX_THUMB)
        self.thumbs = Thumbnails(self.library, thumb)
        self.people_model = PeopleModel(self.library, self.thumbs, self)
        self.people_model.sort = self.settings.people_sort
        self.faces_model = FacesModel(self.library, self.thumbs, self)
        self.runner = TaskRunner(self)
        self._build_pages()
        self._build_actions()
        self._build_status()
        status = JobStatus(self.status_label, self.progress)
        self.scanning = ScanController(
            runner=self.runner,
            status=status,
            errors=self.errors_list,
            errors_dock=self.errors_dock,
            library_path=library_path,
            detector_factory=self.detector_factory,
            embedder=self.embedder,
            settings=self.settings,
            finished=self.refresh,
            parent=self,
            grouped=self.refresh,
        )
        self.regrouping = RegroupController(
            runner=self.runner,
            status=status,
            library=self.library,
            library_path=library_path,
            embedder=self.embedder,
            settings=self.settings,
            finished=self.refresh,
        )
        self.finding = FindController(
            self,
            self.library,
            self.embedder,
            self.detector_factory,
            self.settings,
            selected_people=self.people_in_view,
            open_person=self.open_person,
            open_photo=self.open_photo,
            say=self.status_label.setText,
        )
        self.finding.watch(self.people_page.search)
        self.finding.add_actions(self.view_menu)
        self.review = ReviewController(self, self)
        self.people_page.layout().insertWidget(1, self.review.banner)
        self._action(self.view_menu, "&Review questions", self.review.open, "Ctrl+3")
        self.people_model.merge_requested.connect(self.merge_people)
        self.runner.failed.connect(self._on_task_failed)
        self.runner.busy_changed.connect(self._on_busy)
        self._live = QTimer(self)  # results appear while a scan runs, a few times a minute
        self._live.setInterval(3000)
        self._live.timeout.connect(self.refresh)
        self._restore_window()
        self.refresh()
        self._restore_page()
        if self.lock.other_pid is not None:
            QTimer.singleShot(0, self._warn_open_elsewhere)
        QTimer.singleShot(0, self.regrouping.update_faces)  # a new, incompatible model
        QTimer.singleShot(0, self.review.start)  # counted once the window is on screen

    # --- layout -------------------------------------------------------------------------------

    def _build_pages(self) -> None:
        self.stack = QStackedWidget(self)
        self.empty = EmptyState()
        self.empty.choose_folder.connect(self.choose_folder)
        if self.model_problem is not None:
            self.empty.notice.setText(
                f"The face-embedding model cannot be used: {self.model_problem}. Faces will be "
                "found and kept, and grouped into people once a working model is installed."
            )
        elif self.embedder is None:
            self.empty.notice.setText(
                "No face-embedding model is installed: faces will be found and kept, and "
                "grouped into people once a model is installed (see README, Training)."
            )
        self.people_page = PeoplePage()
        self.people_page.view.setModel(self.people_model)
        view = self.people_page.view
        view.activated.connect(lambda ix: self.open_person(ix.data(ID_ROLE)))  # (double) click
        view.open_requested.connect(lambda ix: self.open_person(ix.data(ID_ROLE)))  # Enter
        view.name_requested.connect(self._name_tile)
        self.people_page.search.textChanged.connect(self._on_search)
        self.people_page.show_hidden.toggled.connect(self._on_show_hidden)
        sort = self.people_page.sort
        sort.setCurrentIndex(max(0, sort.findData(self.people_model.sort)))
        sort.currentIndexChanged.connect(lambda _i: self._on_sort(sort.currentData()))
        on_press(self.people_page.unsorted.clicked, lambda: self.open_person(None))
        self.person_page = PersonPage()
        self.person_page.view.setModel(self.faces_model)
        self.person_page.back.connect(self.show_people)
        page = self.person_page
        buttons: list[tuple[QAbstractButton, Callable[[], object]]] = [
            (page.name_button, self.rename_selected),
            (page.not_this, self.not_this_person),
            (page.move_to, self.ask_and_move_faces),
            (page.remove, self.remove_faces),
            (page.cover, self.use_as_cover),
            (page.open_photo, self.open_selected_photo),
        ]
        for button, slot in buttons:
            on_press(button.clicked, slot)
        for slider in (self.people_page.size, self.person_page.size):
            slider.setValue(self.thumbs.size)
            slider.valueChanged.connect(self._on_thumb_size)
        self.people_page.set_thumb_size(self.thumbs.size)
        self.person_page.set_thumb_size(self.thumbs.size)
        self._install_menus()
        self.person_page.view.doubleClicked.connect(lambda _ix: self.open_selected_photo())
        self.photo_view = PhotoView()
        self.connect_photo_view()
        for w in (self.empty, self.people_page, self.person_page, self.photo_view):
            self.stack.addWidget(w)
        self.setCentralWidget(self.stack)
        self.errors_panel = ErrorsPanel()
        self.errors_list = self.errors_panel.list
        self.errors_dock = QDockWidget("Files that could not be read", self)
        self.errors_dock.setWidget(self.errors_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.errors_dock)
        self.errors_dock.hide()

    def _action(self, menu, text: str, slot: Callable[[], object], *shortcuts) -> QAction:
        a = QAction(text, self)
        a.setShortcuts([QKeySequence(s) for s in shortcuts])
        on_press(a.triggered, slot)
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
        self.redo_action = self._action(e, "&Redo", self.redo, "Ctrl+Shift+Z", "Ctrl+Y")
        e.addSeparator()
        self._action(e, "&Name person…", self.rename_selected, QKeySequence("F2"))
        self._action(e, "&Merge selected people", self.merge_selected, QKeySequence("Ctrl+M"))
        self._action(e, "&Hide or show person", self.toggle_hidden_selected, "Ctrl+H")
        v = self.view_menu = m.addMenu("&View")
        self._action(v, "&People", self.show_people, QKeySequence("Ctrl+1"))
        self._action(v, "&Unsorted faces", lambda: self.open_person(None), QKeySequence("Ctrl+2"))
        self._action(v, "Back", self.go_back, QKeySequence(Qt.Key.Key_Escape))
        h = m.addMenu("&Help")
        self.about_action = self._action(h, "&About photoface", self.show_about)

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.status_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        on_press(self.cancel_button.clicked, self.runner.cancel)
        self.cancel_button.hide()
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)

    # --- folders, settings, the background job -------------------------------------------------

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder(Path(folder))

    def add_folder(self, folder: Path) -> bool:
        return self.scanning.start(folder)

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

    def open_settings(self) -> None:
        info = self.embedder.info if self.embedder else None
        threshold = info.grouping_threshold if info else None
        dlg = SettingsDialog(self.settings, threshold, str(self.library_path), self)
        if not dlg.exec():
            return
        threshold, min_faces, library = dlg.values()
        before = (self.settings.cluster_threshold, self.settings.min_faces)
        self.settings.cluster_threshold, self.settings.min_faces = threshold, min_faces
        if library and Path(library) != self.library_path:
            self.settings.library = library
            QMessageBox.information(
                self, "photoface", "The new library opens the next time photoface starts."
            )
        settings_mod.save(self.data_dir, self.settings)
        if (threshold, min_faces) != before:
            self.regrouping.recluster()

    def _on_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
            self._live.start()
        else:
            self._live.stop()

    def _on_task_failed(self, message: str, _tb: str) -> None:
        self.status_label.setText("The task stopped.")
        QMessageBox.critical(self, "photoface", message)
        self.refresh()

    # --- navigation -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Show the library as it is now: after every edit, undo, redo, scan and regrouping."""
        self.thumbs.clear()
        self.people_model.refresh()  # the grid keeps its selection by person id (TileGrid)
        if self.stack.currentWidget() is self.person_page:
            self._refresh_person_page()
        elif self.stack.currentWidget() is self.photo_view:
            self.refresh_photo()
        counts = self.library.counts()
        self._refresh_people_texts(counts)
        if counts["faces"] == 0 and self.stack.currentWidget() is not self.photo_view:
            self.stack.setCurrentWidget(self.empty)
        elif self.stack.currentWidget() is self.empty:
            self.stack.setCurrentWidget(self.people_page)
        self.refresh_undo_redo()
        self.review.refresh()

    def _refresh_people_texts(self, counts: dict[str, int]) -> None:
        """The people page's line of counts, and what it says when it shows no one."""
        shown = self.people_model.rowCount()  # counts['people'] also counts emptied people
        model = self.people_model
        everyone = len(self.library.people(include_hidden=True))
        out = everyone - shown
        why = []
        if model.search:
            why.append(f"matching “{model.search}”")
        if out and not model.include_hidden:
            hidden = len(self.library.people(include_hidden=True, search=model.search)) - shown
            if hidden:
                why.append(f"{hidden} hidden")
        shown_text = f"{shown} {'person' if shown == 1 else 'people'} shown"
        if out:
            shown_text += f" of {everyone} ({', '.join(why)})" if why else f" of {everyone}"
        self.people_page.summary.setText(
            f"{shown_text} · {counts['faces']} faces in {counts['photos']} photos · "
            f"{counts['unsorted']} unsorted"
        )
        self.people_page.unsorted.setText(f"Unsorted faces ({counts['unsorted']})")
        if shown:
            hint = ""
        elif model.search:
            hint = f"No person matches “{model.search}”. Clear the search to see everyone."
        elif everyone:
            hint = "Everyone here is hidden. Tick “Show hidden” to see them."
        elif counts["unsorted"]:
            hint = (
                "No people yet: the faces found are all unsorted. Open “Unsorted faces” and "
                "name or move them, or add more photos of the same people."
            )
        else:
            hint = "No people yet. Add a folder of photos to find them."
        self.people_page.show_hint(hint)

    def _person_page_hint(self) -> None:
        empty = self.faces_model.rowCount() == 0
        if empty and self.faces_model.person_id is None:
            hint = "No unsorted faces: every face found is with a person."
        elif empty:
            hint = "This person has no faces left."
        else:
            hint = ""
        self.person_page.show_hint(hint)

    def _refresh_person_page(self) -> None:
        pid = self.faces_model.person_id
        if pid is not None:
            try:
                p = self.library.person(pid)
            except NotFoundError:  # merged away or undone while open
                self._follow_faces()
                return
            self.person_page.title.setText(f"{p.label} — {face_count_label(p.face_count)}")
        else:
            n = self.library.counts()["unsorted"]
            self.person_page.title.setText(f"Unsorted faces — {face_count_label(n)}")
        self.faces_model.refresh()
        self._person_page_hint()

    def _follow_faces(self) -> None:
        """The person shown is gone: show their faces where they are now if that is one place
        (the person they were merged into, the one an undo gave them back to), else the people."""
        places: set[int | None] = set()
        for row in range(self.faces_model.rowCount()):
            try:
                places.add(self.library.face(self.faces_model.index(row).data(ID_ROLE)).person_id)
            except NotFoundError:  # removed as "not a face"
                continue
        if len(places) != 1:
            self.stack.setCurrentWidget(self.people_page)
            self.tell("the person you had open is no longer in the library.")
            return
        (where,) = places
        self.open_person(where)
        label = "the unsorted faces" if where is None else self.library.person(where).label
        self.tell(f"the faces you had open are now with {label}.")

    def tell(self, message: str) -> None:
        """Add to the status bar's message (what was done, then what it changed)."""
        now = self.status_label.text()
        self.status_label.setText(
            f"{now} — {message}" if now else message[:1].upper() + message[1:]
        )

    def show_people(self) -> None:
        page = self.people_page if self.library.counts()["faces"] else self.empty
        self.stack.setCurrentWidget(page)
        self.refresh()

    def go_back(self) -> None:
        if self.stack.currentWidget() is self.photo_view and self.faces_model.rowCount():
            self.stack.setCurrentWidget(self.person_page)
        else:
            self.show_people()

    def open_person(self, person_id: int | None) -> None:
        """Show a person's faces (None: the unsorted faces)."""
        if person_id is None:
            title = f"Unsorted faces — {face_count_label(self.library.counts()['unsorted'])}"
        else:
            try:
                p = self.library.person(person_id)
            except NotFoundError:  # a stale box in the photo view, a stale tile
                self.status_label.setText("That person is no longer in the library.")
                self.show_people()
                return
            title = f"{p.label} — {face_count_label(p.face_count)}"
        self.faces_model.show_person(person_id)
        self.person_page.title.setText(title)
        self.person_page.name_button.setEnabled(person_id is not None)
        self.person_page.not_this.setEnabled(person_id is not None)
        self.person_page.cover.setEnabled(person_id is not None)
        self._person_page_hint()
        self.person_page.view.scrollToTop()  # a reset keeps the last person's scroll position
        self.stack.setCurrentWidget(self.person_page)

    def _on_search(self, text: str) -> None:
        self.people_model.search = text.strip()
        self.people_model.refresh()
        self._refresh_people_texts(self.library.counts())  # "N people shown", no match

    def _on_show_hidden(self, on: bool) -> None:
        self.people_model.include_hidden = on
        self.refresh()

    def _on_sort(self, key: str) -> None:
        self.people_model.sort = key
        self.settings.people_sort = key
        self.refresh()
        self.status_label.setText(f"People sorted by {SORTS[key].lower()}.")

    def _on_thumb_size(self, size: int) -> None:
        """Both grids follow either slider; the size is remembered when the window closes."""
        self.settings.thumb_size = size
        self.thumbs.resize(size)
        for page in (self.people_page, self.person_page):
            page.size.blockSignals(True)
            page.size.setValue(size)
            page.size.blockSignals(False)
            page.set_thumb_size(size)
        self.people_model.refresh()
        self.faces_model.refresh()

    # --- the window as the user left it, and others on the same library -------------------------

    def show_about(self) -> None:
        QMessageBox.about(self, "About photoface", self.about_text())

    def about_text(self) -> str:
        info = self.embedder.info if self.embedder is not None else None
        model = info.model_id if info is not None else "none installed"
        return (
            f"photoface {__version__}\n"
            "Finds the people in your photos, on this computer only.\n\n"
            f"Face model: {model}\n"
            f"Library: {self.library_path}"
        )

    def _warn_open_elsewhere(self) -> None:
        self.setWindowTitle("photoface (also open in another window)")
        QMessageBox.warning(
            self,
            "photoface",
            f"This library is already open in another photoface window (process "
            f"{self.lock.other_pid}). Edits made in one window are not shown in the other "
            "until it is reopened; close one of them to be safe.",
        )

    def _restore_window(self) -> None:
        geometry = self.settings.window_geometry
        if geometry:
            self.restoreGeometry(QByteArray(bytes.fromhex(geometry)))

    def _restore_page(self) -> None:
        page = self.settings.page
        if self.library.counts()["faces"] == 0 or page == "people":
            return
        if page == "unsorted":
            self.open_person(None)
            return
        try:
            self.library.person(int(page.split(":", 1)[1]))
        except NotFoundError:  # merged or gone since: the people page
            return
        self.open_person(int(page.split(":", 1)[1]))

    def _page_name(self) -> str:
        if self.stack.currentWidget() is self.person_page:
            pid = self.faces_model.person_id
            return "unsorted" if pid is None else f"person:{pid}"
        return "people"

    def remember_window(self) -> None:
        """Write the window's size and place, the page, the sort and the thumbnail size."""
        self.settings.window_geometry = bytes(self.saveGeometry().data()).hex()
        self.settings.page = self._page_name()
        try:
            settings_mod.save(self.data_dir, self.settings)
        except PhotofaceError as e:  # an unwritable data dir: the window still closes
            log.warning("%s", e)

    # --- selections -----------------------------------------------------------------------------

    def people_in_view(self) -> list[int]:
        """The people an edit from the menu means: the selected tiles on the people page, the
        person shown on their own page; no one elsewhere (a selection out of sight is not
        edited)."""
        page = self.stack.currentWidget()
        if page is self.people_page:
            sel = self.people_page.view.selectionModel()
            return [ix.data(ID_ROLE) for ix in sel.selectedIndexes()] if sel else []
        if page is self.person_page and self.faces_model.person_id is not None:
            return [self.faces_model.person_id]
        return []

    def selected_faces(self) -> list[int]:
        sel = self.person_page.view.selectionModel()
        return [ix.data(ID_ROLE) for ix in sel.selectedIndexes()] if sel else []

    def closeEvent(self, event) -> None:  # noqa: N802
        self.runner.wait()
        self.remember_window()
        self.lock.release()
        self.library.close()
        super().closeEvent(event)
