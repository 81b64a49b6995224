"""The edits as a user makes them: real buttons, real dialogs, real key presses; what the window
shows afterwards (tiles, titles, the Undo/Redo actions, the status bar) and what is stored."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QDialogButtonBox,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QWidget,
)

from photoface.ui.dialogs import MoveToDialog
from photoface.ui.models import ID_ROLE

pytestmark = pytest.mark.gui

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture(autouse=True)
def warnings(monkeypatch) -> list[str]:
    """The warning boxes the window showed (recorded, not shown: an unexpected one would
    otherwise wait for a click that never comes)."""
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a: shown.append(text))
    return shown


@pytest.fixture
def people_window(qtbot, tmp_path, home):
    """A window on a library with Ada (4 faces), Bob (3), an unnamed pair, an unnamed single
    and 2 unsorted faces; nothing in the undo log yet."""
    from photoface.library import Library
    from photoface.settings import Settings
    from photoface.ui.main_window import MainWindow
    from tests.fakes import FakeEmbedder, fill_library, people_embeddings

    path = tmp_path / "lib.sqlite3"
    x, _ = people_embeddings(6, 2)
    with Library(path) as lib:
        face_ids = fill_library(lib, x, np.arange(len(x)))
        labels = np.array([-1] * 4 + [-2] * 3 + [-3] * 2 + [-4] + [0] * 2)
        lib.write_clustering(np.array(face_ids), labels)
        ada, bob = lib.people()[:2]
        # names as an earlier session left them, outside this session's undo log
        lib.conn.execute("UPDATE people SET name = 'Ada' WHERE id = ?", (ada.id,))
        lib.conn.execute("UPDATE people SET name = 'Bob' WHERE id = ?", (bob.id,))
    w = MainWindow(
        path,
        Settings(),
        home,
        detector_factory=lambda: None,
        embedder_factory=lambda: FakeEmbedder(),
    )
    qtbot.addWidget(w)
    w.show()
    w.activateWindow()
    qtbot.waitExposed(w)
    yield w
    w.runner.wait()


# --- what the user sees -------------------------------------------------------------------------


def tiles(window) -> list[tuple[str, int]]:
    """The people grid as shown: (the tile's first line, the count its second line says)."""
    m = window.people_model
    out = []
    for r in range(m.rowCount()):
        label, count = m.index(r).data().split("\n")
        n, word = count.split(" ")
        assert word == ("face" if n == "1" else "faces"), count
        out.append((label, int(n)))
    return out


def row_of_name(window, name: str) -> int:
    return next(r for r, (label, _) in enumerate(tiles(window)) if label == name)


def plain(text: str) -> str:
    """An action's text as the menu shows it (mnemonic marks removed, '&&' is '&')."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def undo_redo(window) -> tuple[tuple[bool, str], tuple[bool, str]]:
    u, r = window.undo_action, window.redo_action
    return (u.isEnabled(), plain(u.text())), (r.isEnabled(), plain(r.text()))


# --- what the user does -------------------------------------------------------------------------


def click_item(qtbot, view: QListView, row: int, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    view.scrollTo(view.model().index(row, 0))
    rect = view.visualRect(view.model().index(row, 0))
    qtbot.mouseClick(view.viewport(), LEFT, modifier, QPoint(rect.center().x(), rect.top() + 20))


def press(qtbot, widget: QWidget, key: Qt.Key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window = widget.window()
    if QApplication.activeWindow() is not window:
        # A window manager gives the window back its focus when a dialog closes; the offscreen
        # platform does not, and shortcuts only reach the active window.
        with qtbot.waitActive(window):
            window.activateWindow()
    qtbot.keyClick(widget, key, modifier)


def when_dialog_shows(answer: Callable[[QWidget], None], tries: int = 500) -> None:
    """Answer the next modal dialog (a QInputDialog, MoveToDialog, QMessageBox) as a user would,
    once it is on screen; gives up, answering nothing, if none comes."""

    def poll(left: int) -> None:
        dlg = QApplication.activeModalWidget()
        if dlg is not None and dlg.isVisible():
            try:
                answer(dlg)
            except BaseException:  # not the dialog expected: close it, or the test would hang
                dlg.reject()
                raise
        elif left:
            QTimer.singleShot(10, lambda: poll(left - 1))

    QTimer.singleShot(0, lambda: poll(tries))


def type_name(qtbot, name: str) -> Callable[[QWidget], None]:
    def answer(dlg: QWidget) -> None:
        edit = dlg.findChild(QLineEdit)
        edit.selectAll()
        qtbot.keyClicks(edit, name)
        qtbot.keyClick(edit, Qt.Key.Key_Return)

    return answer


def choose_person(qtbot, label: str | None) -> Callable[[QWidget], None]:
    """In the Move dialog: the person whose entry starts with `label` (None: a new person)."""

    def answer(dlg: QWidget) -> None:
        assert isinstance(dlg, MoveToDialog)
        combo = dlg.choice
        if label is not None:
            combo.setCurrentIndex(
                next(i for i in range(combo.count()) if combo.itemText(i).startswith(label))
            )
        ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, LEFT)

    return answer


def choose_name(qtbot, name: str) -> Callable[[QWidget], None]:
    """In the merge's "which name" dialog: pick `name` from the list, then OK."""

    def answer(dlg: QWidget) -> None:
        combo = dlg.findChild(QComboBox)
        combo.setCurrentIndex(combo.findText(name))
        ok = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, LEFT)

    return answer


def click_yes(qtbot) -> Callable[[QWidget], None]:
    def answer(dlg: QWidget) -> None:
        assert isinstance(dlg, QMessageBox)
        qtbot.mouseClick(dlg.button(QMessageBox.StandardButton.Yes), LEFT)

    return answer


def open_tile(qtbot, window, name: str) -> None:
    view = window.people_page.view
    click_item(qtbot, view, row_of_name(window, name))
    press(qtbot, view, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.person_page


# --- Move to… -----------------------------------------------------------------------------------


def test_tiles_and_titles_count_faces_and_say_so(people_window):
    w = people_window
    m = w.people_model
    assert [m.index(r).data().split("\n")[1] for r in range(m.rowCount())] == [
        "4 faces",
        "3 faces",
        "2 faces",
        "1 face",
    ]
    assert m.index(0).data(Qt.ItemDataRole.ToolTipRole).startswith("Ada: 4 faces ")
    w.open_person(m.index(3).data(ID_ROLE))
    assert w.person_page.title.text().endswith(" — 1 face")


def test_move_to_button_splits_faces_into_a_new_person(qtbot, people_window):
    w = people_window
    bob = w.library.people(search="Bob")[0].id
    open_tile(qtbot, w, "Bob")
    view = w.person_page.view
    click_item(qtbot, view, 0)
    click_item(qtbot, view, 1, CTRL)
    moved = sorted(ix.data(ID_ROLE) for ix in view.selectionModel().selectedIndexes())
    assert len(moved) == 2
    when_dialog_shows(choose_person(qtbot, None))
    qtbot.mouseClick(w.person_page.move_to, LEFT)
    assert w.person_page.title.text() == "Bob — 1 face"
    assert w.faces_model.rowCount() == 1
    new = {w.library.face(f).person_id for f in moved}
    assert len(new) == 1 and new != {bob}
    assert w.library.person(bob).face_count == 1
    press(qtbot, view, Qt.Key.Key_Escape)
    assert sorted(tiles(w)) == [
        ("Ada", 4),
        ("Bob", 1),
        ("Unnamed", 1),
        ("Unnamed", 2),
        ("Unnamed", 2),
    ]
    assert undo_redo(w) == ((True, "Undo Move 2 face(s) to a new person"), (False, "Redo"))


def test_move_to_button_files_an_unsorted_face_with_a_person(qtbot, people_window):
    w = people_window
    qtbot.mouseClick(w.people_page.unsorted, LEFT)
    assert w.person_page.title.text() == "Unsorted faces"
    view = w.person_page.view
    click_item(qtbot, view, 0)
    face = view.currentIndex().data(ID_ROLE)
    when_dialog_shows(choose_person(qtbot, "Ada"))
    qtbot.mouseClick(w.person_page.move_to, LEFT)
    ada = w.library.people(search="Ada")[0]
    assert w.library.face(face).person_id == ada.id and ada.face_count == 5
    assert w.faces_model.rowCount() == 1  # one unsorted face left on the page
    assert w.people_page.unsorted.text() == "Unsorted faces (1)"
    assert undo_redo(w)[0] == (True, "Undo Move 1 face(s) to Ada")


def test_move_to_cancelled_or_with_nothing_selected_changes_nothing(qtbot, people_window):
    w = people_window
    open_tile(qtbot, w, "Ada")
    qtbot.mouseClick(w.person_page.move_to, LEFT)  # nothing selected: no dialog, a hint
    assert "Select" in w.status_label.text()
    click_item(qtbot, w.person_page.view, 0)

    def cancel(dlg: QWidget) -> None:
        box = dlg.findChild(QDialogButtonBox)
        qtbot.mouseClick(box.button(QDialogButtonBox.StandardButton.Cancel), LEFT)

    when_dialog_shows(cancel)
    qtbot.mouseClick(w.person_page.move_to, LEFT)
    assert w.library.edits.next_undo() is None
    assert ("Ada", 4) in tiles(w)


# --- undo and redo ------------------------------------------------------------------------------


def test_undo_twice_then_redo_with_both_shortcuts(qtbot, people_window):
    w = people_window
    view = w.people_page.view
    assert undo_redo(w) == ((False, "Undo"), (False, "Redo"))
    # edit 1: name the single unnamed face "Dora" (F2, type, Enter)
    click_item(qtbot, view, 3)
    when_dialog_shows(type_name(qtbot, "Dora"))
    press(qtbot, view, Qt.Key.Key_F2)
    assert tiles(w)[3] == ("Dora", 1)
    # edit 2: merge Dora into Ada (click, Ctrl+click, Ctrl+M)
    click_item(qtbot, view, row_of_name(w, "Ada"))
    click_item(qtbot, view, row_of_name(w, "Dora"), CTRL)
    when_dialog_shows(choose_name(qtbot, "Ada"))  # two names: the window asks which stays
    press(qtbot, view, Qt.Key.Key_M, CTRL)
    assert ("Ada", 5) in tiles(w) and "Dora" not in dict(tiles(w))
    assert undo_redo(w) == ((True, "Undo Merge Dora into Ada"), (False, "Redo"))
    assert w.undo_action.toolTip() == "Undo Merge Dora into Ada"

    press(qtbot, view, Qt.Key.Key_Z, CTRL)
    assert ("Ada", 4) in tiles(w) and ("Dora", 1) in tiles(w)
    assert undo_redo(w) == (
        (True, "Undo Rename Unnamed to Dora"),
        (True, "Redo Merge Dora into Ada"),
    )
    press(qtbot, view, Qt.Key.Key_Z, CTRL)
    assert "Dora" not in dict(tiles(w))
    assert undo_redo(w) == ((False, "Undo"), (True, "Redo Rename Unnamed to Dora"))
    assert w.library.edits.next_undo() is None

    press(qtbot, view, Qt.Key.Key_Z, CTRL | SHIFT)
    assert ("Dora", 1) in tiles(w)
    assert undo_redo(w) == (
        (True, "Undo Rename Unnamed to Dora"),
        (True, "Redo Merge Dora into Ada"),
    )
    press(qtbot, view, Qt.Key.Key_Y, CTRL)
    assert ("Ada", 5) in tiles(w) and "Dora" not in dict(tiles(w))
    assert undo_redo(w) == ((True, "Undo Merge Dora into Ada"), (False, "Redo"))
    assert "Redone: Merge Dora into Ada" in w.status_label.text()


def test_undo_text_shows_an_ampersand_in_a_name(qtbot, people_window):
    w = people_window
    view = w.people_page.view
    click_item(qtbot, view, 3)
    when_dialog_shows(type_name(qtbot, "Tom & Jerry"))
    press(qtbot, view, Qt.Key.Key_F2)
    assert undo_redo(w)[0] == (True, "Undo Rename Unnamed to Tom & Jerry")


# --- selection across refreshes -----------------------------------------------------------------


def test_enter_after_naming_opens_the_named_tile(qtbot, people_window):
    w = people_window
    view = w.people_page.view
    click_item(qtbot, view, 3)  # the fourth tile
    when_dialog_shows(type_name(qtbot, "Dora"))
    press(qtbot, view, Qt.Key.Key_F2)
    assert tiles(w)[3] == ("Dora", 1)
    assert [ix.row() for ix in view.selectionModel().selectedIndexes()] == [3]
    assert view.currentIndex().row() == 3
    press(qtbot, view, Qt.Key.Key_Return)
    assert w.stack.currentWidget() is w.person_page
    assert w.person_page.title.text() == "Dora — 1 face"


def test_selection_follows_the_person_when_the_grid_reorders(qtbot, people_window):
    w = people_window
    view = w.people_page.view
    click_item(qtbot, view, 0)  # Ada; showing only the names with a 'b' puts Bob first
    w.people_page.search.setText("b")
    assert tiles(w) == [("Bob", 3)]
    assert view.selectionModel().selectedIndexes() == []
    assert not view.currentIndex().isValid()
    w.people_page.search.clear()
    click_item(qtbot, view, row_of_name(w, "Bob"))
    w.people_page.show_hidden.setChecked(True)  # a reset with the same people
    assert [ix.data(ID_ROLE) for ix in view.selectionModel().selectedIndexes()] == [
        w.library.people(search="Bob")[0].id
    ]
    press(qtbot, view, Qt.Key.Key_Return)
    assert w.person_page.title.text() == "Bob — 3 faces"


# --- merging needs two ------------------------------------------------------------------------


def cancel_dialog(qtbot) -> Callable[[QWidget], None]:
    def answer(dlg: QWidget) -> None:
        cancel = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Cancel)
        qtbot.mouseClick(cancel, LEFT)

    return answer


def test_merging_two_named_people_asks_which_name_stays(qtbot, people_window, warnings):
    w = people_window
    view = w.people_page.view
    click_item(qtbot, view, row_of_name(w, "Ada"))
    click_item(qtbot, view, row_of_name(w, "Bob"), CTRL)
    when_dialog_shows(cancel_dialog(qtbot))
    press(qtbot, view, Qt.Key.Key_M, CTRL)
    assert ("Ada", 4) in tiles(w) and ("Bob", 3) in tiles(w)
    assert w.library.edits.next_undo() is None
    when_dialog_shows(choose_name(qtbot, "Bob"))
    press(qtbot, view, Qt.Key.Key_M, CTRL)
    assert ("Bob", 7) in tiles(w) and "Ada" not in dict(tiles(w))
    assert warnings == []
    press(qtbot, view, Qt.Key.Key_Z, CTRL)
    assert ("Ada", 4) in tiles(w) and ("Bob", 3) in tiles(w)


def test_merge_with_one_tile_says_so_and_logs_nothing(qtbot, people_window):
    w = people_window
    view = w.people_page.view
    click_item(qtbot, view, 3)
    when_dialog_shows(type_name(qtbot, "Dora"))
    press(qtbot, view, Qt.Key.Key_F2)
    click_item(qtbot, view, row_of_name(w, "Bob"))
    before = tiles(w)
    press(qtbot, view, Qt.Key.Key_M, CTRL)
    assert w.status_label.text() == "Select two or more people to merge."
    assert tiles(w) == before
    assert w.library.edits.next_undo() == "Rename Unnamed to Dora"
    press(qtbot, view, Qt.Key.Key_Z, CTRL)  # undoes the naming, the one edit made
    assert "Dora" not in dict(tiles(w))


# --- stale views never raise ------------------------------------------------------------------


def test_undo_of_the_open_person_shows_where_their_faces_went(qtbot, people_window):
    w = people_window
    open_tile(qtbot, w, "Bob")
    click_item(qtbot, w.person_page.view, 0)
    face = w.person_page.view.currentIndex().data(ID_ROLE)
    when_dialog_shows(choose_person(qtbot, None))
    qtbot.mouseClick(w.person_page.move_to, LEFT)
    new = w.library.face(face).person_id
    press(qtbot, w.person_page.view, Qt.Key.Key_Escape)
    # open the new person, then undo the move that made them
    view = w.people_page.view
    click_item(qtbot, view, w.people_model.row_of(new))
    press(qtbot, view, Qt.Key.Key_Return)
    assert w.faces_model.person_id == new
    press(qtbot, w.person_page.view, Qt.Key.Key_Z, CTRL)  # the face goes back to Bob
    assert w.stack.currentWidget() is w.person_page
    assert w.person_page.title.text() == "Bob — 3 faces"
    assert w.faces_model.rowCount() == 3
    assert w.status_label.text() == (
        "Undone: Move 1 face(s) to a new person — the faces you had open are now with Bob."
    )
    when_dialog_shows(type_name(qtbot, "Robert"))
    press(qtbot, w.person_page.view, Qt.Key.Key_F2)  # names the person shown: Bob
    assert w.person_page.title.text() == "Robert — 3 faces"
    assert ("Robert", 3) in tiles(w)


def test_naming_to_an_existing_name_on_the_person_page_shows_the_merged_person(
    qtbot, people_window
):
    w = people_window
    open_tile(qtbot, w, "Bob")
    when_dialog_shows(type_name(qtbot, "ada"))
    QTimer.singleShot(0, lambda: when_dialog_shows(click_yes(qtbot)))
    qtbot.mouseClick(w.person_page.name_button, LEFT)
    assert w.stack.currentWidget() is w.person_page
    assert w.person_page.title.text() == "Ada — 7 faces"
    assert ("Ada", 7) in tiles(w) and "Bob" not in dict(tiles(w))


def test_a_refused_edit_is_a_message_not_a_traceback(qtbot, people_window, warnings):
    w = people_window
    shown = warnings
    view = w.people_page.view
    click_item(qtbot, view, row_of_name(w, "Ada"))
    click_item(qtbot, view, row_of_name(w, "Bob"), CTRL)
    ada, bob = (w.library.people(search=n)[0].id for n in ("Ada", "Bob"))
    w.library.edits.merge([ada, bob], name="Ada")  # another window merged them: Bob is gone
    press(qtbot, view, Qt.Key.Key_H, CTRL)  # hide the two selected (stale) people
    assert shown and "no person with id" in shown[0]
    assert "no person with id" in w.status_label.text()


# --- every button and menu item takes no `checked` argument by accident -------------------------


def test_every_button_and_action_runs_without_an_error(qtbot, people_window, monkeypatch, warnings):
    """Buttons and menu actions, pressed with a person open and a face selected, dialogs
    answered 'Cancel': none raises (pytest-qt fails the test on an error in a slot) and none
    ends in an error message."""
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    from photoface.ui import main_window

    w = people_window
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: "")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: ("", ""))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("", False))
    monkeypatch.setattr(main_window.SettingsDialog, "exec", lambda self: 0)
    monkeypatch.setattr(MoveToDialog, "exec", lambda self: 0)
    ada, bob = (w.library.people(search=n)[0].id for n in ("Ada", "Bob"))
    actions = [
        a
        for m in w.menuBar().actions()
        for a in m.menu().actions()
        if not a.isSeparator() and a.text() != "&Quit"
    ]
    assert len(actions) >= 10
    for action in actions:
        w.open_person(ada)
        click_item(qtbot, w.person_page.view, 0)
        action.trigger()
    buttons: list[QAbstractButton] = w.person_page.findChildren(QPushButton)
    assert len(buttons) >= 6
    for button in buttons:
        w.open_person(bob)
        click_item(qtbot, w.person_page.view, 0)
        if button.isEnabled():
            qtbot.mouseClick(button, LEFT)
    assert warnings == []


def test_undo_and_redo_follow_the_library_after_a_regrouping(qtbot, people_window, monkeypatch):
    """An edit made elsewhere (the command line) meanwhile: the regrouping's refresh shows it."""
    from photoface.library import Library
    from photoface.ui import main_window

    w = people_window

    class Accepting:  # the settings dialog, answered: another grouping distance
        def __init__(self, *a, **k) -> None:
            pass

        def exec(self) -> bool:
            return True

        def values(self):
            return 0.5, 1, ""

    monkeypatch.setattr(main_window, "SettingsDialog", Accepting)
    with Library(w.library_path) as other:
        other.edits.rename(other.people(search="Bob")[0].id, "Robert")
    settings = next(
        a for m in w.menuBar().actions() for a in m.menu().actions() if a.text() == "&Settings…"
    )
    settings.trigger()
    qtbot.waitUntil(lambda: not w.runner.busy, timeout=60_000)
    assert w.status_label.text() == "Faces grouped again."
    assert undo_redo(w) == ((True, "Undo Rename Bob to Robert"), (False, "Redo"))
    assert "Robert" in dict(tiles(w))


def test_a_broken_model_path_opens_the_window_and_says_why(qtbot, tmp_path, home, monkeypatch):
    from photoface.settings import Settings
    from photoface.ui.main_window import MainWindow

    monkeypatch.setenv("PHOTOFACE_MODEL", str(tmp_path / "no-such-model.onnx"))
    w = MainWindow(tmp_path / "lib.sqlite3", Settings(), home, detector_factory=lambda: None)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert w.embedder is None
    assert "does not exist" in w.empty.notice.text()
