"""The window's pages: the empty state, the people grid and one person's faces."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from photoface.ui.models import ID_ROLE, SORTS, THUMB, TILE, face_cell, tile_size

MIN_THUMB, MAX_THUMB = 64, 256


class TileGrid(QListView):
    """People tiles: a double-click on the name names the person, on the face opens them; Enter
    opens the selected one. A model reset (every refresh) would drop the selection and the
    current tile, so both are kept by person id across resets."""

    name_requested = Signal(QModelIndex)
    open_requested = Signal(QModelIndex)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._kept: tuple[object, list[object]] = (None, [])

    def setModel(self, model: QAbstractItemModel | None) -> None:  # noqa: N802
        old = self.model()
        if old is not None:
            old.modelAboutToBeReset.disconnect(self._remember)
            old.modelReset.disconnect(self._restore)
        super().setModel(model)
        if model is not None:  # connected after the view's own reset, so this runs after it
            model.modelAboutToBeReset.connect(self._remember)
            model.modelReset.connect(self._restore)

    def _remember(self) -> None:
        sel = self.selectionModel()
        selected = [ix.data(ID_ROLE) for ix in sel.selectedIndexes()] if sel else []
        self._kept = (self.currentIndex().data(ID_ROLE), selected)

    def _restore(self) -> None:
        current_id, selected_ids = self._kept
        model, sel = self.model(), self.selectionModel()
        rows = {model.index(r, 0).data(ID_ROLE): r for r in range(model.rowCount())}
        selection = QItemSelection()
        for pid in selected_ids:
            if pid in rows:
                ix = model.index(rows[pid], 0)
                selection.select(ix, ix)
        sel.select(selection, QItemSelectionModel.SelectionFlag.Select)
        if current_id not in rows:  # the current person went away: a selected one instead
            current_id = next((p for p in selected_ids if p in rows), None)
        if current_id is not None:
            sel.setCurrentIndex(
                model.index(rows[current_id], 0), QItemSelectionModel.SelectionFlag.NoUpdate
            )

    def chosen(self) -> QModelIndex:
        """The tile Enter opens: the current one if it is selected, else the first selected,
        else the current one."""
        current = self.currentIndex()
        selected = self.selectionModel().selectedIndexes() if self.selectionModel() else []
        if not selected or current in selected:
            return current
        return min(selected, key=lambda ix: ix.row())

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            ix = self.chosen()
            if ix.isValid():
                self.open_requested.emit(ix)
            event.accept()
            return
        super().keyPressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        pos = event.position().toPoint()
        ix = self.indexAt(pos)
        if ix.isValid() and pos.y() > self.visualRect(ix).top() + self.iconSize().height():
            self.name_requested.emit(ix)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)


def grid_view(parent: QWidget, cell: QSize, kind: type[QListView] = QListView) -> QListView:
    v = kind(parent)
    v.setViewMode(QListView.ViewMode.IconMode)
    v.setIconSize(QSize(THUMB, THUMB))
    v.setGridSize(cell)
    v.setUniformItemSizes(True)  # a 50k-face list lays out without measuring every item
    v.setResizeMode(QListView.ResizeMode.Adjust)
    v.setMovement(QListView.Movement.Static)
    v.setWordWrap(True)
    v.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    v.setLayoutMode(QListView.LayoutMode.Batched)
    v.setBatchSize(500)
    return v


class EmptyState(QWidget):
    choose_folder = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.addStretch(2)
        title = QLabel("Add a folder to find people")
        f = title.font()
        f.setPointSize(f.pointSize() + 8)
        title.setFont(f)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub = QLabel(
            "Drop a photo folder here or choose one: photoface finds the people in your photos. "
            "Everything stays on this computer; your photos are never changed."
        )
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub.setWordWrap(True)
        button = QPushButton("Choose a folder…")
        button.setDefault(True)
        button.clicked.connect(self.choose_folder)
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        self.notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.notice.setStyleSheet("color: #a05a00")
        for w in (title, sub):
            lay.addWidget(w)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(button)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.notice)
        lay.addStretch(3)


def size_slider(parent: QWidget) -> QSlider:
    """The thumbnail-size slider both grids have."""
    s = QSlider(Qt.Orientation.Horizontal, parent)
    s.setRange(MIN_THUMB, MAX_THUMB)
    s.setSingleStep(8)
    s.setPageStep(32)
    s.setValue(THUMB)
    s.setMaximumWidth(140)
    s.setToolTip("Thumbnail size")
    s.setAccessibleName("Thumbnail size")
    return s


def hint_label(parent: QWidget) -> QLabel:
    """What an empty grid says to do, shown in its place."""
    label = QLabel("", parent)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    f = label.font()
    f.setPointSize(f.pointSize() + 3)
    label.setFont(f)
    label.hide()
    return label


class PeoplePage(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search names…")
        self.search.setClearButtonEnabled(True)
        self.show_hidden = QCheckBox("Show hidden")
        self.sort = QComboBox()
        for key, text in SORTS.items():
            self.sort.addItem(text, key)
        self.sort.setToolTip("Order of the people")
        self.size = size_slider(self)
        self.unsorted = QPushButton("Unsorted faces")
        top.addWidget(self.search, 1)
        top.addWidget(self.show_hidden)
        top.addWidget(QLabel("Sort:"))
        top.addWidget(self.sort)
        top.addWidget(self.size)
        top.addWidget(self.unsorted)
        lay.addLayout(top)
        self.empty_hint = hint_label(self)
        lay.addWidget(self.empty_hint, 1)
        self.view = grid_view(self, TILE + QSize(8, 8), TileGrid)
        self.view.setDragEnabled(True)
        self.view.setAcceptDrops(True)
        self.view.setDropIndicatorShown(True)
        self.view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.view.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        lay.addWidget(self.view, 1)
        self.summary = QLabel("")
        lay.addWidget(self.summary)

    def set_thumb_size(self, size: int) -> None:
        self.view.setIconSize(QSize(size, size))
        self.view.setGridSize(tile_size(size) + QSize(8, 8))

    def show_hint(self, text: str) -> None:
        """An empty grid gives its place to `text`; "" shows the grid."""
        self.empty_hint.setText(text)
        self.empty_hint.setVisible(bool(text))
        self.view.setVisible(not text)


class PersonPage(QWidget):
    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.back_button = QPushButton("← People")
        self.back_button.clicked.connect(self.back)
        self.title = QLabel("")
        f = self.title.font()
        f.setPointSize(f.pointSize() + 4)
        f.setBold(True)
        self.title.setFont(f)
        self.name_button = QPushButton("Name…")
        self.name_button.setToolTip("Name this person (F2)")
        self.size = size_slider(self)
        top.addWidget(self.back_button)
        top.addWidget(self.title, 1)
        top.addWidget(self.size)
        top.addWidget(self.name_button)
        lay.addLayout(top)
        self.empty_hint = hint_label(self)
        lay.addWidget(self.empty_hint, 1)
        self.view = grid_view(self, face_cell(THUMB))
        lay.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.not_this = QPushButton("Not this person")
        self.move_to = QPushButton("Move to…")
        self.remove = QPushButton("Remove face")
        self.cover = QPushButton("Use as cover")
        self.cover.setToolTip("Show this person by the selected face")
        self.open_photo = QPushButton("Open photo")
        for b in (self.not_this, self.move_to, self.remove, self.cover, self.open_photo):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)

    def set_thumb_size(self, size: int) -> None:
        self.view.setIconSize(QSize(size, size))
        self.view.setGridSize(face_cell(size))

    def show_hint(self, text: str) -> None:
        """An empty grid gives its place to `text`; "" shows the grid."""
        self.empty_hint.setText(text)
        self.empty_hint.setVisible(bool(text))
        self.view.setVisible(not text)
