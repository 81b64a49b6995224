"""The Review page driven as a user would: the banner on People, Yes / No / Skip by mouse and by
Y / N / S, Undo by button and Ctrl+Z, a stale question, the empty state."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PySide6.QtCore import Qt

from photoface.library import Library
from tests.fakes import FakeEmbedder, fill_library, people_embeddings
from tests.test_review import _one_person_as_two, _person_and_strays, _review
from tests.ui.test_window import names

pytestmark = pytest.mark.gui


@pytest.fixture
def open_window(qtbot, tmp_path, home, detector):
    """A window on a library that `fill` made first: fill(lib) -> what the test needs."""
    from photoface.settings import Settings
    from photoface.ui.main_window import MainWindow

    made = []

    def make(fill: Callable[[Library], object]):
        path = tmp_path / "lib.sqlite3"
        with Library(path) as lib:
            facts = fill(lib)
        w = MainWindow(
            path,
            Settings(),
            home,
            detector_factory=lambda: detector,
            embedder_factory=lambda: FakeEmbedder(),
        )
        qtbot.addWidget(w)
        assert w.review.banner.isHidden()  # nothing counted before the window is on screen
        w.show()
        w.activateWindow()
        qtbot.waitUntil(lambda: w.review._ready)
        made.append(w)
        return w, facts

    yield make
    for w in made:
        w.runner.wait()


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def key(qtbot, window, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    page = window.review.page
    qtbot.keyClick(page.focusWidget() or page, k, modifier)


def open_review(qtbot, window):
    """Click the People banner; the Review page it opens."""
    banner = window.review.banner
    assert banner.isVisible()
    click(qtbot, banner)
    page = window.review.page
    assert window.stack.currentWidget() is page
    return page


def showing_question(page) -> bool:
    return page.panels.currentIndex() == 0 and page.question.isVisible()


def test_the_banner_counts_the_questions_and_opens_a_same_person_question(qtbot, open_window):
    w, (a, b, ids) = open_window(_one_person_as_two)
    n = _review(w.library).count()
    assert n >= 1
    what = "question" if n == 1 else "questions"
    want = f"{n} {what} could fix your people — Review ›"
    assert w.review.banner.text() == want
    page = open_review(qtbot, w)
    assert showing_question(page)
    assert page.question.text() == "Same person?"
    assert {page.a.title.text(), page.b.title.text()} == {f"Person {a}", f"Person {b}"}
    assert page.a.detail.text() == page.b.detail.text() == "3 faces"
    shown = [f for f in page.a.faces + page.b.faces if f.isVisible()]
    assert len(shown) == 6 and all(not f.pixmap().isNull() for f in shown)
    assert page.progress.text() == f"0 answered · {n} left"
    assert not page.undo_button.isEnabled()  # nothing answered yet


def test_yes_merges_on_the_people_page_and_undo_asks_it_again(qtbot, open_window):
    w, (a, b, ids) = open_window(_one_person_as_two)
    assert len(names(w)) == 2
    page = open_review(qtbot, w)
    first = w.review.current.id
    assert first == f"same:{a}:{b}"
    click(qtbot, page.yes)
    assert len(names(w)) == 1  # the People page has one person now
    assert {w.library.face(f).person_id for f in ids} == {w.library.face(ids[0]).person_id}
    assert w.status_label.text() == f"Merged Person {a} and Person {b}."
    assert page.progress.text().startswith("1 answered")
    assert page.undo_button.isEnabled()

    click(qtbot, page.undo_button)
    assert len(names(w)) == 2
    assert showing_question(page) and w.review.current.id == first
    assert page.question.text() == "Same person?"
    assert page.progress.text().startswith("0 answered")

    key(qtbot, w, Qt.Key.Key_Y)  # the same answer by key, undone by Ctrl+Z
    assert len(names(w)) == 1
    key(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(names(w)) == 2
    assert showing_question(page) and w.review.current.id == first


def test_no_is_remembered_and_the_question_never_comes_back(qtbot, open_window):
    w, (a, b, ids) = open_window(_one_person_as_two)
    page = open_review(qtbot, w)
    assert w.review.current.id == f"same:{a}:{b}"  # the only question
    key(qtbot, w, Qt.Key.Key_N)
    assert w.status_label.text() == f"Person {a} and Person {b} are kept apart."
    assert len(names(w)) == 2
    assert page.panels.currentIndex() == 1  # nothing left to ask
    assert page.progress.text() == "1 answered · 0 left"
    click(qtbot, page.back_button)
    assert w.stack.currentWidget() is w.people_page
    assert w.review.banner.isHidden()
    w.regrouping.recluster()  # a full regroup, as Settings would start
    qtbot.waitUntil(lambda: not w.runner.busy, timeout=30_000)
    assert len(names(w)) == 2  # not merged back
    assert w.review.banner.isHidden()  # and not asked again
    w.review.open()
    assert page.panels.currentIndex() == 1


def test_an_unsorted_face_yes_puts_it_in_the_person(qtbot, open_window):
    w, (person, ids) = open_window(_person_and_strays)
    page = open_review(qtbot, w)
    assert w.review.current.id == f"face:{ids[4]}:{person}"
    assert page.question.text() == f"Is this Person {person}?"
    assert page.a.title.text() == "Unsorted face"
    assert [f.isVisible() for f in page.a.faces] == [True, False, False, False]
    assert page.b.title.text() == f"Person {person}" and page.b.detail.text() == "5 faces"
    unsorted = w.library.counts()["unsorted"]
    click(qtbot, page.yes)
    assert w.library.face(ids[4]).person_id == person
    assert w.people_page.unsorted.text() == f"Unsorted faces ({unsorted - 1})"
    assert w.status_label.text() == f"The face is in Person {person} now."


def test_skip_moves_on_and_no_takes_an_outlier_out(qtbot, open_window):
    w, (person, ids) = open_window(_person_and_strays)
    page = open_review(qtbot, w)
    assert w.review.current.id == f"face:{ids[4]}:{person}"
    key(qtbot, w, Qt.Key.Key_S)
    assert w.status_label.text() == "Skipped."
    assert w.library.edits.next_undo() is None  # a skip is not an edit
    assert w.review.current.id == f"face:{ids[9]}:{person}"
    assert page.a.title.text() == f"A face now in Person {person}"
    assert page.progress.text() == "0 answered · 1 left · 1 skipped"
    unsorted = w.library.counts()["unsorted"]
    click(qtbot, page.no)
    assert w.library.face(ids[9]).person_id is None
    assert w.people_page.unsorted.text() == f"Unsorted faces ({unsorted + 1})"
    assert page.panels.currentIndex() == 1  # the skipped one is not asked again
    assert page.progress.text() == "1 answered · 0 left · 1 skipped"


def test_a_question_gone_stale_is_a_status_message_and_the_next_one(qtbot, open_window):
    w, (a, b, ids) = open_window(_one_person_as_two)
    page = open_review(qtbot, w)
    assert w.review.current.id == f"same:{a}:{b}"
    w.library.edits.keep_apart(a, b)  # said elsewhere (the CLI) while the page was open
    click(qtbot, page.yes)
    assert "out of date" in w.status_label.text()
    assert len(names(w)) == 2  # nothing merged
    assert w.review.current is None or w.review.current.id != f"same:{a}:{b}"


def _two_clear_people(lib: Library) -> None:
    x, truth = people_embeddings(2, 5, spread=0.05, seed=8)
    ids = fill_library(lib, x, np.arange(10))
    lib.write_clustering(np.array(ids), -1 - truth)  # negative: new people


def test_no_questions_no_banner_and_an_empty_review_page(qtbot, open_window):
    w, _ = open_window(_two_clear_people)
    assert _review(w.library).count() == 0
    qtbot.wait(50)  # the deferred count has run
    assert w.review.banner.isHidden()
    assert len(names(w)) == 2
    w.review.page.setFocus()
    qtbot.keyClick(w.people_page.view, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    page = w.review.page
    assert w.stack.currentWidget() is page
    assert page.panels.currentIndex() == 1
    assert page.empty_title.text() == "No questions: your people look right"
    assert page.progress.text() == "0 answered · 0 left"
    key(qtbot, w, Qt.Key.Key_Y)  # no question, nothing to answer
    assert w.library.edits.next_undo() is None
    click(qtbot, page.back_to_people)
    assert w.stack.currentWidget() is w.people_page


def test_the_last_answer_leaves_the_empty_state_and_undo_leaves_it(qtbot, open_window):
    w, (a, b, ids) = open_window(_one_person_as_two)
    page = open_review(qtbot, w)
    while w.review.current is not None:
        click(qtbot, page.no)
    assert page.panels.currentIndex() == 1
    assert page.empty_title.text() == "No questions left: your people look right"
    click(qtbot, page.back_to_people)
    assert w.review.banner.isHidden()
    w.review.open()
    click(qtbot, page.undo_button)
    assert showing_question(page)
    click(qtbot, page.back_button)
    assert w.review.banner.isVisible()


def test_the_banner_follows_an_edit_on_the_people_page(qtbot, open_window):
    from tests.ui.test_window import select

    w, (a, b, ids) = open_window(_one_person_as_two)
    assert w.review.banner.isVisible()
    select(w.people_page.view, [0, 1])
    qtbot.keyClick(w.people_page.view, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    assert len(names(w)) == 1  # merged by hand: nothing left to ask
    assert w.review.banner.isHidden()
    qtbot.keyClick(w.people_page.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert len(names(w)) == 2
    assert w.review.banner.isVisible()
