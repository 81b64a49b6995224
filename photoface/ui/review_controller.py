"""The window's review: the questions of the open library on the Review page, their answers as
edits, and the banner on People ("23 questions could fix your people — Review ›")."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QPushButton, QStackedWidget

from photoface.core.review import SAME, Question, Side
from photoface.errors import NotFoundError, PhotofaceError
from photoface.library.review import Review, StaleQuestionError
from photoface.ui.models import Thumbnails, face_count_label
from photoface.ui.review_page import ReviewPage

if TYPE_CHECKING:
    from photoface.core.embed import Embedder
    from photoface.library import Library
    from photoface.settings import Settings
    from photoface.ui.workers import TaskRunner


class Window(Protocol):
    """What the review needs of the main window (which imports this module)."""

    library: Library
    embedder: Embedder | None
    settings: Settings
    stack: QStackedWidget
    runner: TaskRunner
    status_label: QLabel

    def refresh(self) -> None: ...
    def show_people(self) -> None: ...
    def undo(self) -> None: ...
    def show_error(self, message: str) -> None: ...


log = logging.getLogger(__name__)

THUMB = 120  # a face of a person side; the asked-about face is shown bigger
BIG = 2 * THUMB + 8
BATCH = 10  # questions read at a time: the page shows the first, the rest are not built


class ReviewController(QObject):
    """The window's review: one `Review` for the open library, the People banner, the page.
    Answers are edits like the window's others: stored at once, then the window refreshes."""

    def __init__(self, window: Window, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.w = window
        self.library = window.library
        self.page = ReviewPage()
        window.stack.addWidget(self.page)
        self.banner = QPushButton("")
        self.banner.setToolTip("Answer a few questions to fix the people photoface is unsure of")
        self.banner.setStyleSheet(
            "QPushButton { background: #fff4d6; color: #5a4100; border: 1px solid #e0c060;"
            " border-radius: 4px; padding: 6px 12px; text-align: left; }"
        )
        self.banner.hide()
        self.banner.clicked.connect(lambda *_checked: self.open())
        self.page.back.connect(window.show_people)
        self.page.undo.connect(window.undo)
        self.page.answered.connect(self.answer)
        self.thumbs = Thumbnails(self.library, THUMB, capacity=400)  # crops never change
        self.big = Thumbnails(self.library, BIG, capacity=100)
        self._review: Review | None = None
        self._review_key: tuple[tuple[str, ...], float] | None = None
        self._ready = False  # the first count waits until the window is on screen
        self.count = 0
        self.current: Question | None = None
        self._again: Question | None = None  # an answer undone: asked again first
        self._answers: list[tuple[int, Question]] = []  # (its edit in the log, question)
        self.answered = 0
        self.skipped = 0

    # --- the questions ----------------------------------------------------------------------

    def review(self) -> Review | None:
        """The library's Review, made again only when the model or the threshold changed."""
        embedder = self.w.embedder
        if embedder is None:
            return None
        info = embedder.info
        key = (tuple(info.comparable_ids), self.w.settings.cluster_params(info).threshold)
        if self._review is None or key != self._review_key:
            self._review = Review(self.library, key[0], key[1])
            self._review_key = key
        return self._review

    def start(self) -> None:
        """Count the questions once the window is shown (never before: opening stays fast)."""
        self._ready = True
        self.refresh()

    def refresh(self) -> None:
        """After every edit, undo, scan and regroup (the window's refresh): the banner's count,
        and the page's question if it is open. A scan's live refreshes are let by."""
        if not self._ready:
            return
        showing = self.w.stack.currentWidget() is self.page
        if self.w.runner.busy and not showing:
            return
        questions: list[Question] = []
        review = self.review()
        try:
            if review is None:
                self.count = 0
            elif showing:
                questions, self.count = review.questions_and_count(BATCH)
            else:
                self.count = review.count()
        except PhotofaceError as e:  # the library busy: the next refresh tries again
            log.warning("cannot read the review questions: %s", e)
            self.w.status_label.setText(str(e))
        self._banner()
        if showing:
            self._show(questions, no_model=review is None)

    def _banner(self) -> None:
        n = self.count
        what = "question" if n == 1 else "questions"
        self.banner.setText(f"{n} {what} could fix your people — Review ›")
        self.banner.setVisible(n > 0)

    def open(self) -> None:
        self.w.stack.setCurrentWidget(self.page)
        self.refresh()
        self.page.setFocus()

    def _undone(self) -> None:
        """Answers undone since the last look (by the page's Undo, Ctrl+Z anywhere) come back."""
        while self._answers:
            op, q = self._answers[-1]
            row = self.library.query("SELECT undone FROM ops WHERE id = ?", (op,))
            if row and not row[0][0]:
                break
            self._answers.pop()
            self.answered -= 1
            self._again = q

    def _last_op(self) -> int | None:
        row = self.library.query("SELECT max(id) FROM ops WHERE undone = 0")
        return row[0][0] if row else None

    def _show(self, questions: list[Question], no_model: bool) -> None:
        self._undone()
        ids = [q.id for q in questions]
        if self._again is not None:
            self.current = self._again
        elif self.current is None or self.current.id not in ids:
            self.current = questions[0] if questions else None
        left = max(self.count, len(questions))
        progress = f"{self.answered} answered · {left} left"
        if self.skipped:
            progress += f" · {self.skipped} skipped"
        self.page.progress.setText(progress)
        self.page.undo_button.setEnabled(
            bool(self._answers) and self._answers[-1][0] == self._last_op()
        )
        if self.current is None:
            self._show_empty(no_model)
            return
        try:
            self._show_question(self.current)
        except NotFoundError as e:  # a person or face gone between the list and now
            gone = self.current.id
            log.info("question %s out of date: %s", gone, e)
            self.current = self._again = None
            self._show([q for q in questions if q.id != gone], no_model)

    def _show_empty(self, no_model: bool) -> None:
        if no_model:
            self.page.show_empty(
                "No questions yet",
                "Questions need the face-embedding model, which is not installed.",
            )
        elif self.answered:
            self.page.show_empty(
                "No questions left: your people look right",
                "New questions come when new photos are scanned or the people are regrouped.",
            )
        else:
            self.page.show_empty(
                "No questions: your people look right",
                "photoface asks here when it is unsure whether two people are one, or whether a "
                "face is someone. New questions come when new photos are scanned.",
            )

    def _person(self, person_id: int) -> tuple[str, int]:
        p = self.library.person(person_id)
        return p.name or f"Person {p.id}", p.face_count

    def _faces(self, side: Side, thumbs: Thumbnails) -> list[tuple[QPixmap | None, str]]:
        out = []
        for fid in side.faces[:4]:
            try:
                tip = self.library.face(fid).path
            except NotFoundError:
                continue
            out.append((thumbs.get(fid), tip))
        return out

    def _show_question(self, q: Question) -> None:
        page = self.page
        b_name, b_count = self._person(q.b.person)  # type: ignore[arg-type]  # always a person
        page.b.show_side(b_name, face_count_label(b_count), self._faces(q.b, self.thumbs))
        if q.kind == SAME:
            a_name, a_count = self._person(q.a.person)  # type: ignore[arg-type]
            page.a.show_side(a_name, face_count_label(a_count), self._faces(q.a, self.thumbs))
            page.question.setText("Same person?")
            page.explain.setText(f"Are {a_name} and {b_name} one person?")
            page.meaning.setText(
                "Yes merges them into one person · No keeps them apart for good · "
                "Skip asks again after the next regroup"
            )
        else:
            if q.a.person is None:
                a_title, why = "Unsorted face", "This face is not in anyone yet."
                no = f"No: it is never put in {b_name}"
            else:
                a_title = f"A face now in {self._person(q.a.person)[0]}"
                why = f"It looks unlike the other faces of {b_name}."
                no = f"No takes it out of {b_name} for good"
            photo = Path(self.library.face(q.a.faces[0]).path).name
            page.a.show_side(a_title, photo, self._faces(q.a, self.big))
            page.question.setText(f"Is this {b_name}?")
            page.explain.setText(why)
            page.meaning.setText(
                f"Yes puts the face in {b_name} · {no} · Skip asks again after the next regroup"
            )
        page.show_question()

    # --- the answers ------------------------------------------------------------------------

    def _words(self, q: Question, answer: str) -> str:
        """What an answer did, in plain words for the status bar (before it is stored)."""
        b = self._person(q.b.person)[0]  # type: ignore[arg-type]
        if q.kind == SAME:
            a = self._person(q.a.person)[0]  # type: ignore[arg-type]
            return {"yes": f"Merged {a} and {b}.", "no": f"{a} and {b} are kept apart."}.get(
                answer, "Skipped."
            )
        return {"yes": f"The face is in {b} now.", "no": f"The face is not {b}."}.get(
            answer, "Skipped."
        )

    def answer(self, answer: str) -> None:
        q = self.current
        review = self.review()
        if q is None or review is None:
            return
        try:
            words = self._words(q, answer)
            review.answer(q.id, answer)
        except (StaleQuestionError, NotFoundError) as e:
            log.info("%s", e)
            self.w.status_label.setText(
                "That question is out of date (the people changed since it was asked); "
                "here is the next one."
            )
            self.current = self._again = None
            self.w.refresh()
            return
        except PhotofaceError as e:  # the library busy or unwritable: nothing was changed
            self.w.show_error(str(e))
            return
        self.current = self._again = None
        if answer == "skip":
            self.skipped += 1
        else:
            self.answered += 1
            op = self._last_op()
            if op is not None:
                self._answers.append((op, q))
        self.w.status_label.setText(words)
        if answer == "skip":  # not an edit: the people are as they were
            self.refresh()
        else:
            self.w.refresh()
