"""Qt list models: thin adapters over Library queries (people, faces), thumbnails on demand."""

from __future__ import annotations

import logging
from collections import OrderedDict

from PySide6.QtCore import QAbstractListModel, QByteArray, QMimeData, QModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPixmap

from photoface.errors import NotFoundError
from photoface.library import Face, Library, Person

log = logging.getLogger(__name__)

ID_ROLE = Qt.ItemDataRole.UserRole + 1
PERSON_MIME = "application/x-photoface-person"
THUMB = 112
# How the people grid can be ordered (settings key -> what the combo says).
SORTS = {"size": "Most faces", "name": "Name", "newest": "Newest"}


def tile_size(thumb: int) -> QSize:
    """A person's tile: the face, two lines of text."""
    return QSize(thumb + 56, thumb + 44)


def face_cell(thumb: int) -> QSize:
    return QSize(thumb + 12, thumb + 12)


TILE = tile_size(THUMB)


def sort_people(people: list[Person], key: str) -> list[Person]:
    """People in the order `key` (SORTS) names: by size (the library's order), by name (the
    named A to Z, then the unnamed by size), or newest first (ids are given out in order)."""
    if key == "name":
        named = sorted((p for p in people if p.name), key=lambda p: (p.name.casefold(), p.id))
        return named + [p for p in people if not p.name]
    if key == "newest":
        return sorted(people, key=lambda p: -p.id)
    return list(people)


def face_count_label(n: int) -> str:
    """A person's count as the window shows it: faces (a photo can show a person only once, but
    the count is of the faces the library holds for them, as the CLI and the person page say)."""
    return f"{n} face" if n == 1 else f"{n} faces"


class Thumbnails:
    """Face thumbnails decoded only when a view asks for them; an LRU keeps the recent ones."""

    def __init__(self, library: Library, size: int = THUMB, capacity: int = 2000) -> None:
        self.library = library
        self.size = size
        self.capacity = capacity
        self._cache: OrderedDict[int, QPixmap] = OrderedDict()

    def get(self, face_id: int | None) -> QPixmap | None:
        if face_id is None:
            return None
        pix = self._cache.get(face_id)
        if pix is not None:
            self._cache.move_to_end(face_id)
            return pix
        try:
            data = self.library.face_crop(face_id)
        except NotFoundError:  # a face gone meanwhile: no picture, no crash
            return None
        img = QImage.fromData(QByteArray(data))
        pix = QPixmap.fromImage(img).scaled(
            self.size,
            self.size,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        self._cache[face_id] = pix
        if len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return pix

    def clear(self) -> None:
        self._cache.clear()

    def resize(self, size: int) -> None:
        self.size = size
        self._cache.clear()


class PeopleModel(QAbstractListModel):
    """People in the chosen order (biggest first by default): cover face, name (or "Unnamed"),
    face count. Dropping one tile on another asks for a merge."""

    merge_requested = Signal(list, int)  # people to merge, the one dropped on

    def __init__(self, library: Library, thumbs: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self.library = library
        self.thumbs = thumbs
        self.include_hidden = False
        self.search = ""
        self.sort = "size"
        self._rows: list[Person] = []
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()
        people = self.library.people(include_hidden=self.include_hidden, search=self.search)
        self._rows = sort_people(people, self.sort)
        self.endResetModel()

    def row_of(self, person_id: int) -> int | None:
        return next((i for i, p in enumerate(self._rows) if p.id == person_id), None)

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        p = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            hidden = " (hidden)" if p.hidden else ""
            return f"{p.label}{hidden}\n{face_count_label(p.face_count)}"
        if role == Qt.ItemDataRole.EditRole:
            return p.name or ""
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.get(p.cover_face_id)
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{p.label}: {face_count_label(p.face_count)} (double-click to open, F2 to name)"
        if role == Qt.ItemDataRole.SizeHintRole:  # uniform items take the first one's size:
            return tile_size(self.thumbs.size)  # the full cell: long names are not cut
        if role == ID_ROLE:
            return p.id
        return None

    def flags(self, index: QModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if not index.isValid():
            return base | Qt.ItemFlag.ItemIsDropEnabled
        movable = Qt.ItemFlag.ItemIsDragEnabled | Qt.ItemFlag.ItemIsDropEnabled
        return base | Qt.ItemFlag.ItemIsEditable | movable

    def setData(self, index: QModelIndex, value, role: int = Qt.ItemDataRole.EditRole) -> bool:
        # Naming goes through the window (it may offer a merge); the model never edits itself.
        return False

    def mimeTypes(self) -> list[str]:
        return [PERSON_MIME]

    def mimeData(self, indexes: list[QModelIndex]) -> QMimeData:
        ids = sorted({self._rows[i.row()].id for i in indexes if i.isValid()})
        mime = QMimeData()
        mime.setData(PERSON_MIME, QByteArray(",".join(map(str, ids)).encode()))
        return mime

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def canDropMimeData(self, data, action, row, column, parent) -> bool:
        return data is not None and data.hasFormat(PERSON_MIME) and parent.isValid()

    def dropMimeData(self, data, action, row, column, parent) -> bool:
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        ids = [int(v) for v in bytes(data.data(PERSON_MIME)).decode().split(",") if v]
        target = self._rows[parent.row()].id
        ids = [i for i in ids if i != target]
        if ids:
            self.merge_requested.emit(ids, target)
        return False  # the merge happens in the window; nothing is moved by Qt


class FacesModel(QAbstractListModel):
    """The faces of one person (or the unsorted ones), best quality first."""

    def __init__(self, library: Library, thumbs: Thumbnails, parent=None) -> None:
        super().__init__(parent)
        self.library = library
        self.thumbs = thumbs
        self.person_id: int | None = None
        self._rows: list[Face] = []

    def show_person(self, person_id: int | None) -> None:
        """None shows the unsorted faces."""
        self.person_id = person_id
        self.refresh()

    def refresh(self) -> None:
        self.beginResetModel()
        if self.person_id is None:
            self._rows = self.library.unsorted_faces()
        else:
            try:
                self._rows = self.library.faces_of_person(self.person_id)
            except NotFoundError:  # the person went away (merged, undone); the window moves on
                self._rows = []
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        f = self._rows[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.get(f.id)
        if role == Qt.ItemDataRole.ToolTipRole:
            confirmed = ", confirmed" if f.locked else ""
            return f"{f.path}\nface {f.id}, quality {f.quality:.2f}{confirmed}"
        if role == ID_ROLE:
            return f.id
        return None
