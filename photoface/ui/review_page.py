"""The Review page's widgets: one question, its two sides' faces, Yes / No / Skip (or Y / N / S),
progress, Undo, and an empty state. What they show is set by ui.review_controller."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)


def _bigger(label: QLabel, points: int, bold: bool = False) -> None:
    f = label.font()
    f.setPointSize(f.pointSize() + points)
    f.setBold(bold)
    label.setFont(f)


class SideView(QFrame):
    """One side of a question: who it is, how many faces, a few of their faces."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QVBoxLayout(self)
        self.title = QLabel("")
        _bigger(self.title, 3, bold=True)
        self.detail = QLabel("")
        self.detail.setStyleSheet("color: palette(mid)")
        for w in (self.title, self.detail):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            w.setWordWrap(True)
            lay.addWidget(w)
        grid = QGridLayout()
        grid.setSpacing(6)
        self.faces: list[QLabel] = []
        for k in range(4):
            face = QLabel()
            face.setAlignment(Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(face, k // 2, k % 2)
            self.faces.append(face)
        lay.addLayout(grid)
        lay.addStretch(1)

    def show_side(self, title: str, detail: str, faces: list[tuple[QPixmap | None, str]]) -> None:
        self.title.setText(title)
        self.detail.setText(detail)
        for k, label in enumerate(self.faces):
            pix, tip = faces[k] if k < len(faces) else (None, "")
            label.setPixmap(pix if pix is not None else QPixmap())
            label.setToolTip(tip)
            label.setVisible(k < len(faces))


class ReviewPage(QWidget):
    """The widgets of the Review page; what they show is set by ReviewController."""

    back = Signal()
    answered = Signal(str)  # "yes" | "no" | "skip"
    undo = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Y / N / S need the focus in the page
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.back_button = QPushButton("← People")
        self.back_button.clicked.connect(self.back)
        title = QLabel("Review")
        _bigger(title, 4, bold=True)
        self.progress = QLabel("")
        self.undo_button = QPushButton("Undo")
        self.undo_button.setToolTip("Undo the last answer and ask it again (Ctrl+Z)")
        self.undo_button.clicked.connect(self.undo)
        top.addWidget(self.back_button)
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.progress)
        top.addWidget(self.undo_button)
        lay.addLayout(top)
        self.panels = QStackedWidget()
        self.panels.addWidget(self._question_panel())
        self.panels.addWidget(self._empty_panel())
        lay.addWidget(self.panels, 1)
        for key, word in (("Y", "yes"), ("N", "no"), ("S", "skip")):
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda word=word: self._press(word))

    def _question_panel(self) -> QWidget:
        panel = QWidget()
        lay = QVBoxLayout(panel)
        lay.addStretch(1)
        self.question = QLabel("")
        _bigger(self.question, 8, bold=True)
        self.explain = QLabel("")
        self.explain.setWordWrap(True)
        for w in (self.question, self.explain):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lay.addWidget(w)
        sides = QHBoxLayout()
        self.a, self.b = SideView(), SideView()
        mark = QLabel("?")
        _bigger(mark, 20, bold=True)
        sides.addStretch(1)
        sides.addWidget(self.a)
        sides.addWidget(mark)
        sides.addWidget(self.b)
        sides.addStretch(1)
        lay.addLayout(sides)
        lay.addSpacing(12)
        row = QHBoxLayout()
        self.yes = QPushButton("Yes  (Y)")
        self.no = QPushButton("No  (N)")
        self.skip = QPushButton("Skip  (S)")
        row.addStretch(1)
        for button, word in ((self.yes, "yes"), (self.no, "no"), (self.skip, "skip")):
            button.setMinimumWidth(120)
            button.clicked.connect(lambda *_checked, word=word: self._press(word))
            row.addWidget(button)
        row.addStretch(1)
        lay.addLayout(row)
        self.meaning = QLabel("")
        self.meaning.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.meaning.setStyleSheet("color: palette(mid)")
        lay.addWidget(self.meaning)
        lay.addStretch(2)
        return panel

    def _empty_panel(self) -> QWidget:
        panel = QWidget()
        lay = QVBoxLayout(panel)
        self.empty_title = QLabel("No questions: your people look right")
        _bigger(self.empty_title, 8)
        self.empty_hint = QLabel("")
        self.empty_hint.setWordWrap(True)
        self.back_to_people = QPushButton("Back to People")
        self.back_to_people.clicked.connect(self.back)
        lay.addStretch(2)
        for w in (self.empty_title, self.empty_hint):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lay.addWidget(w)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.back_to_people)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addStretch(3)
        return panel

    def _press(self, word: str) -> None:
        if self.panels.currentIndex() == 0:  # no answer without a question on screen
            self.answered.emit(word)

    def show_question(self) -> None:
        self.panels.setCurrentIndex(0)
        self._keep_focus()

    def show_empty(self, title: str, hint: str) -> None:
        self.empty_title.setText(title)
        self.empty_hint.setText(hint)
        self.panels.setCurrentIndex(1)
        self._keep_focus()

    def _keep_focus(self) -> None:
        """A hidden button loses the focus, and with it the page its Y / N / S keys."""
        focus = self.focusWidget()
        if self.isVisible() and (focus is None or not focus.isVisible()):
            self.setFocus()
