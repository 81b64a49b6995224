"""Find people in the window: a photo dropped on the People search (or "Find people by
photo…") lists the nearest people of each of its faces; "Photos together…" lists the photos the
selected people share. The search itself is jobs.find, shared with the CLI."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from photoface import jobs
from photoface.core import imaging
from photoface.core.detect import Detector
from photoface.core.embed import Embedder
from photoface.errors import PhotofaceError
from photoface.jobs import FindResult
from photoface.library import Library
from photoface.settings import Settings
from photoface.ui.models import ID_ROLE

log = logging.getLogger(__name__)


def dropped_photo(event: QEvent) -> Path | None:
    """The first local image file a drag carries (None: none, e.g. a folder or a text file)."""
    mime = event.mimeData()  # type: ignore[attr-defined]
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        path = Path(url.toLocalFile())
        if url.isLocalFile() and imaging.is_image_path(path) and not path.is_dir():
            return path
    return None


class PhotoDropFilter(QObject):
    """Installed on a line edit: a dropped photo file is taken (and not typed in as its URL);
    any other drop is left to the line edit."""

    photo_dropped = Signal(Path)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            path = dropped_photo(event)
            if path is None:
                return False
            event.acceptProposedAction()  # type: ignore[attr-defined]
            if kind == QEvent.Type.Drop:
                self.photo_dropped.emit(path)
            return True
        return False


class FindDialog(QDialog):
    """The nearest people of each face of a photo; clicking a person opens them."""

    person_chosen = Signal(int)

    def __init__(self, result: FindResult, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("People in this photo")
        self.resize(460, 420)
        lay = QVBoxLayout(self)
        n = len(result.faces)
        if n == 0:
            text = f"No faces found in {Path(result.path).name}."
        else:
            text = (
                f"{n} face{'s' if n > 1 else ''} in {Path(result.path).name}. The nearest "
                "people, closest first (distance 0–4; ✓ within the grouping threshold "
                f"{result.threshold:.2f}: the same person). Click one to open them."
            )
        self.summary = QLabel(text)
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.list = QListWidget()
        lay.addWidget(self.list, 1)
        for i, face in enumerate(result.faces, 1):
            x, y, w, h = (round(v) for v in face.box)
            header = QListWidgetItem(f"Face {i} (at {x}, {y}, {w}×{h} px)")
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            font = header.font()
            font.setBold(True)
            header.setFont(font)
            self.list.addItem(header)
            if not face.people:
                note = QListWidgetItem("    nobody yet: the library has no people")
                note.setFlags(Qt.ItemFlag.NoItemFlags)
                self.list.addItem(note)
            for p in face.people:
                mark = "✓ " if p.within else "    "
                hidden = " (hidden)" if p.hidden else ""
                item = QListWidgetItem(f"{mark}{p.label}{hidden} — {p.distance:.3f}")
                item.setData(ID_ROLE, p.person_id)
                item.setToolTip(f"{p.face_count} faces; click to open")
                self.list.addItem(item)
        self.list.itemClicked.connect(self._clicked)

    def _clicked(self, item: QListWidgetItem) -> None:
        pid = item.data(ID_ROLE)
        if pid is not None:
            self.person_chosen.emit(int(pid))
            self.accept()

    def people_shown(self) -> list[str]:
        """The lines that name a person, as shown."""
        items = (self.list.item(r) for r in range(self.list.count()))
        return [it.text() for it in items if it.data(ID_ROLE) is not None]


class TogetherDialog(QDialog):
    """The photos some people appear in together ("Only them": with nobody else)."""

    photo_chosen = Signal(int)

    def __init__(
        self, library: Library, person_ids: list[int], quality_floor: float, parent: QWidget
    ) -> None:
        super().__init__(parent)
        self.library, self.person_ids, self.floor = library, person_ids, quality_floor
        names = [library.person(p).name or f"Person {p}" for p in person_ids]
        self.who = " and ".join(names)
        self.setWindowTitle("Photos together")
        self.resize(520, 420)
        lay = QVBoxLayout(self)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.only = QCheckBox("Only them (no other person, no other clear face)")
        self.list = QListWidget()
        for w in (self.summary, self.only):
            lay.addWidget(w)
        lay.addWidget(self.list, 1)
        self.only.toggled.connect(lambda _on: self.refresh())
        self.list.itemClicked.connect(self._clicked)
        self.refresh()

    def refresh(self) -> None:
        only = self.only.isChecked()
        photos = jobs.photos_together(self.library, self.person_ids, only, self.floor)
        self.list.clear()
        for ph in photos:
            item = QListWidgetItem(ph.path + ("  (missing)" if ph.missing else ""))
            item.setData(ID_ROLE, ph.id)
            self.list.addItem(item)
        alone = " with nobody else" if only else " together"
        n = len(photos)
        self.summary.setText(
            f"{n} photo{'' if n == 1 else 's'} of {self.who}{alone}."
            + (" Click one to open it." if n else "")
        )

    def _clicked(self, item: QListWidgetItem) -> None:
        self.photo_chosen.emit(int(item.data(ID_ROLE)))


class FindController:
    """Runs the searches on the window's library (one photo's faces take a moment; the main
    thread waits for them, as for an edit) and shows their results."""

    def __init__(
        self,
        parent: QWidget,
        library: Library,
        embedder: Embedder | None,
        detector_factory: Callable[[], Detector],
        settings: Settings,
        selected_people: Callable[[], list[int]],
        open_person: Callable[[int], None],
        open_photo: Callable[[int], None],
        say: Callable[[str], None],
    ) -> None:
        self.parent, self.library, self.embedder = parent, library, embedder
        self.detector_factory, self.settings = detector_factory, settings
        self.selected_people, self.open_person, self.open_photo = (
            selected_people,
            open_person,
            open_photo,
        )
        self.say = say
        self._detector: Detector | None = None
        self.dialog: QDialog | None = None  # the last result shown (tests read it)
        self.drop_filter = PhotoDropFilter(parent)
        self.drop_filter.photo_dropped.connect(self.find_by_photo)

    def watch(self, search_box: QWidget) -> None:
        """Photos dropped on `search_box` are searched for."""
        search_box.installEventFilter(self.drop_filter)
        search_box.setToolTip("Type a name, or drop a photo here to find its people")

    def add_actions(self, menu: QMenu) -> list[QAction]:
        made = []
        for text, slot, keys in (
            ("&Find people by photo…", self.ask_photo, "Ctrl+Shift+F"),
            ("Photos &together…", self.photos_together, "Ctrl+T"),
        ):
            a = QAction(text, self.parent)
            a.setShortcut(keys)
            a.triggered.connect(lambda *_checked, s=slot: s())
            menu.addAction(a)
            made.append(a)
        return made

    def ask_photo(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Find the people of a photo")
        if path:
            self.find_by_photo(Path(path))

    def find_by_photo(self, path: Path) -> None:
        if self.embedder is None:
            self.say("No face-embedding model is installed: faces cannot be compared.")
            return
        threshold = self.settings.cluster_params(self.embedder.info).threshold
        try:
            if self._detector is None:
                self._detector = self.detector_factory()
            result = jobs.find_people(
                self.library,
                path,
                self._detector,
                self.embedder,
                threshold,
                max_side=self.settings.max_side,
            )
        except PhotofaceError as e:
            self.say(f"Cannot search with {path.name}: {e}")
            return
        dlg = FindDialog(result, self.parent)
        dlg.person_chosen.connect(self.open_person)
        self._show(dlg)
        n = len(result.faces)
        self.say(f"{n} face{'' if n == 1 else 's'} found in {path.name}.")

    def photos_together(self) -> None:
        people = self.selected_people()
        if not people:
            self.say("Select the people (Ctrl+click the tiles) to see the photos they share.")
            return
        dlg = TogetherDialog(self.library, people, self.settings.seed_quality, self.parent)
        dlg.photo_chosen.connect(self.open_photo)
        self._show(dlg)

    def _show(self, dlg: QDialog) -> None:
        if self.dialog is not None:
            self.dialog.close()
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dlg
        dlg.finished.connect(lambda _r, d=dlg: self._forget(d))
        dlg.show()  # not modal: the window stays usable beside it

    def _forget(self, dlg: QDialog) -> None:
        if self.dialog is dlg:
            self.dialog = None
