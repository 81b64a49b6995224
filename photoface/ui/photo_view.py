"""One photo with its face boxes and names; clicking a box asks to show that person."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QPushButton, QSizePolicy, QWidget

from photoface.core.imaging import load_image
from photoface.errors import ImageError


class PhotoView(QWidget):
    person_clicked = Signal(int)
    back = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 200)
        self._pixmap: QPixmap | None = None
        self._scale = 1.0  # original pixels per pixmap pixel
        self._faces: list[tuple[tuple[float, float, float, float], int | None, str]] = []
        self.error = ""
        self._path = ""
        self.back_button = QPushButton("← Back", self)  # Esc does the same
        self.back_button.move(8, 8)
        self.back_button.clicked.connect(self.back)
        self.setMouseTracking(True)  # a hand over the boxes that lead to a person

    def show_photo(self, path: str, faces: list[tuple[tuple, int | None, str]]) -> None:
        """faces: (box in original pixels, person id or None, label)."""
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
        self._faces = faces
        self.update()

    def _layout(self) -> tuple[float, float, float]:
        pw, ph = self._pixmap.width(), self._pixmap.height()
        k = min(self.width() / pw, self.height() / ph)
        return k, (self.width() - pw * k) / 2, (self.height() - ph * k) / 2

    def _screen_box(self, box: tuple) -> QRectF:
        k, ox, oy = self._layout()
        x, y, w, h = (v / self._scale * k for v in box)
        return QRectF(ox + x, oy + y, w, h)

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
        for box, pid, label in self._faces:
            r = self._screen_box(box)
            colour = QColor(80, 200, 120) if pid is not None else QColor(240, 200, 60)
            p.setPen(QPen(colour, 2))
            p.drawRect(r)
            text_rect = QRectF(r.left(), r.bottom() + 2, max(r.width(), 120), 20)
            p.fillRect(text_rect.adjusted(0, 0, 0, 0), QColor(0, 0, 0, 160))
            p.drawText(text_rect, Qt.AlignmentFlag.AlignLeft, " " + label)
        p.setFont(self.font())
        caption = QRectF(0, self.height() - 22, self.width(), 22)
        p.fillRect(caption, QColor(0, 0, 0, 160))
        p.setPen(QColor(220, 220, 220))
        n = len(self._faces)
        faces = f"{n} face{'s' if n != 1 else ''}"
        text = f"{Path(self._path).name} — {faces}; click a box to see that person"
        p.drawText(caption.adjusted(8, 0, -8, 0), Qt.AlignmentFlag.AlignVCenter, text)

    def _face_at(self, pos) -> int | None:
        for box, pid, _ in self._faces:
            if pid is not None and self._screen_box(box).contains(pos):
                return pid
        return None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        over = self._pixmap is not None and self._face_at(event.position()) is not None
        self.setCursor(Qt.CursorShape.PointingHandCursor if over else Qt.CursorShape.ArrowCursor)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        pid = None if self._pixmap is None else self._face_at(event.position())
        if pid is not None:
            self.person_clicked.emit(pid)

    def face_centre(self, index: int):
        """Where face `index` is drawn (for tests and keyboard users)."""
        return self._screen_box(self._faces[index][0]).center()
