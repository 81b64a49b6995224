"""One photo with its face boxes and names: click a box for its menu (show, name, move, not this
person, remove), drag a box around a face the detector missed, step through the photos."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QMenu, QPushButton, QSizePolicy, QWidget

from photoface.core.imaging import load_image
from photoface.errors import ImageError

log = logging.getLogger(__name__)

DRAG = 6  # screen pixels a press must move to draw a box rather than click


@dataclass(frozen=True)
class ShownFace:
    face_id: int
    box: tuple[float, float, float, float]  # original pixels, upright
    person_id: int | None
    label: str
    manual: bool = False


class PhotoView(QWidget):
    """Signals carry face ids, or a drawn box in the original's pixels; the window does the
    edits and calls `set_faces` with what the library holds then."""

    person_clicked = Signal(int)
    back = Signal()
    step = Signal(int)  # -1: the previous photo, +1: the next
    face_drawn = Signal(object)  # (x, y, w, h) in original pixels
    name_face = Signal(int)
    move_face = Signal(int)
    reject_face = Signal(int)
    remove_face = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Left / Right step through photos
        self._pixmap: QPixmap | None = None
        self._scale = 1.0  # original pixels per pixmap pixel
        self._faces: list[ShownFace] = []
        self.error = ""
        self._path = ""
        self._position = ""  # "3 / 12" in the photos stepped through
        self._press: QPointF | None = None
        self._drag: QRectF | None = None  # the box being drawn, in screen pixels
        self.face_menu: QMenu | None = None
        self.back_button = QPushButton("← Back", self)  # Esc does the same
        self.back_button.move(8, 8)
        self.back_button.clicked.connect(self.back)
        self.prev_button = QPushButton("‹ Previous", self)
        self.prev_button.setToolTip("The previous photo (Left)")
        self.prev_button.clicked.connect(lambda: self.step.emit(-1))
        self.next_button = QPushButton("Next ›", self)
        self.next_button.setToolTip("The next photo (Right)")
        self.next_button.clicked.connect(lambda: self.step.emit(1))
        x = 8 + self.back_button.sizeHint().width() + 8
        self.prev_button.move(x, 8)
        self.next_button.move(x + self.prev_button.sizeHint().width() + 4, 8)
        for b in (self.back_button, self.prev_button, self.next_button):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the arrows stay with the photo
        self.setMouseTracking(True)  # a hand over the boxes

    def show_photo(
        self, path: str, faces: list[ShownFace], position: tuple[int, int] | None = None
    ) -> None:
        """Show the photo at `path` with its faces; `position`: (index, count) in the photos
        stepped through (None: no others)."""
        self.error = ""
        self._path = path
        try:
            loaded = load_image(path, max_side=2048)
            h, w = loaded.rgb.shape[:2]
            img = QImage(loaded.rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            self._pixmap = QPixmap.fromImage(img)
            self._scale = loaded.scale
        except ImageError as e:  # the photo was moved, deleted or damaged since the scan
            self._pixmap = None
            self.error = f"Cannot show {path}: {e}"
        i, n = position or (0, 1)
        self._position = f"{i + 1} / {n}" if n > 1 else ""
        self.prev_button.setEnabled(i > 0)
        self.next_button.setEnabled(i < n - 1)
        self.set_faces(faces)

    def set_faces(self, faces: list[ShownFace]) -> None:
        """The faces again (after an edit), the photo as it is."""
        self._faces = list(faces)
        self._drag = None
        self.update()

    @property
    def faces(self) -> list[ShownFace]:
        return list(self._faces)

    # --- geometry -------------------------------------------------------------------------------

    def _layout(self) -> tuple[float, float, float]:
        assert self._pixmap is not None
        pw, ph = self._pixmap.width(), self._pixmap.height()
        k = min(self.width() / pw, self.height() / ph)
        return k, (self.width() - pw * k) / 2, (self.height() - ph * k) / 2

    def _screen_box(self, box: tuple) -> QRectF:
        k, ox, oy = self._layout()
        x, y, w, h = (v / self._scale * k for v in box)
        return QRectF(ox + x, oy + y, w, h)

    def original_box(self, rect: QRectF) -> tuple[float, float, float, float]:
        """A screen rectangle in the original's pixels."""
        k, ox, oy = self._layout()
        f = self._scale / k
        r = rect.normalized()
        return ((r.left() - ox) * f, (r.top() - oy) * f, r.width() * f, r.height() * f)

    def face_centre(self, index: int) -> QPointF:
        """Where face `index` is drawn (for tests and keyboard users)."""
        return self._screen_box(self._faces[index].box).center()

    def screen_point(self, x: float, y: float) -> QPointF:
        """Where the original's pixel (x, y) is drawn."""
        k, ox, oy = self._layout()
        return QPointF(ox + x / self._scale * k, oy + y / self._scale * k)

    def _face_at(self, pos: QPointF) -> ShownFace | None:
        for face in self._faces:
            if self._screen_box(face.box).contains(pos):
                return face
        return None

    # --- painting -------------------------------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(30, 30, 30))
        if self._pixmap is None:
            p.setPen(QColor(220, 220, 220))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.error or "No photo")
            return
        k, ox, oy = self._layout()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        target = QRectF(ox, oy, self._pixmap.width() * k, self._pixmap.height() * k)
        p.drawPixmap(target, self._pixmap, QRectF(self._pixmap.rect()))
        font = QFont(self.font())
        font.setBold(True)
        p.setFont(font)
        for face in self._faces:
            r = self._screen_box(face.box)
            colour = QColor(80, 200, 120) if face.person_id is not None else QColor(240, 200, 60)
            pen = QPen(colour, 2)
            if face.manual:  # drawn by the user: dashed, so it reads as theirs
                pen.setStyle(Qt.PenStyle.DashLine)
            p.setPen(pen)
            p.drawRect(r)
            text_rect = QRectF(r.left(), r.bottom() + 2, max(r.width(), 120), 20)
            p.fillRect(text_rect, QColor(0, 0, 0, 160))
            p.drawText(text_rect, Qt.AlignmentFlag.AlignLeft, " " + face.label)
        if self._drag is not None:
            p.setPen(QPen(QColor(90, 170, 255), 2, Qt.PenStyle.DashLine))
            p.drawRect(self._drag)
        p.setFont(self.font())
        caption = QRectF(0, self.height() - 22, self.width(), 22)
        p.fillRect(caption, QColor(0, 0, 0, 160))
        p.setPen(QColor(220, 220, 220))
        p.drawText(caption.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter, self.caption())

    def caption(self) -> str:
        n = len(self._faces)
        faces = f"{n} face{'s' if n != 1 else ''}"
        where = f"{self._position} · " if self._position else ""
        return (
            f"{where}{Path(self._path).name} — {faces}; click a box for its menu, "
            "drag a box around a face that was missed"
        )

    # --- mouse and keys ---------------------------------------------------------------------------

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if self._pixmap is None or event.button() != Qt.MouseButton.LeftButton:
            return
        self._press = event.position()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._pixmap is None:
            return
        pos = event.position()
        if self._press is not None and (pos - self._press).manhattanLength() >= DRAG:
            self._drag = QRectF(self._press, pos).normalized()
            self.update()
            return
        over = self._face_at(pos) is not None
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.CrossCursor)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._press is None:
            return
        start, pos = self._press, event.position()
        self._press, self._drag = None, None
        self.update()
        if (pos - start).manhattanLength() >= DRAG:
            self.face_drawn.emit(self.original_box(QRectF(start, pos)))
            return
        face = self._face_at(pos)
        if face is not None:
            self.open_face_menu(face, pos)

    def open_face_menu(self, face: ShownFace, pos: QPointF) -> QMenu:
        """The menu of one face, opened under the pointer (not modal)."""
        menu = QMenu(self)
        items: list[tuple[str, object, bool]] = []
        if face.person_id is not None:
            items.append(
                (f"Show {face.label}", lambda: self.person_clicked.emit(face.person_id), True)
            )
        items += [
            ("Name…", lambda: self.name_face.emit(face.face_id), True),
            ("Move to…", lambda: self.move_face.emit(face.face_id), True),
            (
                "Not this person",
                lambda: self.reject_face.emit(face.face_id),
                face.person_id is not None,
            ),
            ("Remove face", lambda: self.remove_face.emit(face.face_id), True),
        ]
        for text, slot, enabled in items:
            action = QAction(text.replace("&", "&&"), menu)
            action.setEnabled(enabled)
            action.triggered.connect(lambda _checked=False, slot=slot: slot())
            menu.addAction(action)
        self.face_menu = menu
        menu.popup(self.mapToGlobal(pos.toPoint()))
        return menu

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Left and self.prev_button.isEnabled():
            self.step.emit(-1)
        elif event.key() == Qt.Key.Key_Right and self.next_button.isEnabled():
            self.step.emit(1)
        else:
            super().keyPressEvent(event)
