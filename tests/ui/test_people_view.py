"""The People side a user shapes: covers, names with completion, sort, thumbnail size, counts,
status messages, empty states and right-click menus, all through the real widgets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer, QUrl
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialogButtonBox,
    QLabel,
    QListView,
    QMenu,
    QMessageBox,
    QWidget,
)

from photoface.ui.models import ID_ROLE
from tests.ui.test_edit_paths import (
    CTRL,
    LEFT,
    click_item,
    open_tile,
    press,
    row_of_name,
    tiles,
    when_dialog_shows,
)

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("warnings")]
DECORATION = Qt.ItemDataRole.DecorationRole


# --- helpers --------------------------------------------------------------------------------------


def right_click(qtbot, view: QListView, row: int) -> QMenu:
    """Right-click a tile as a mouse does (the press selects, the context-menu event asks for
    the menu); returns the menu on screen."""
    view.scrollTo(view.model().index(row, 0))
    rect = view.visualRect(view.model().index(row, 0))
    pos = QPoint(rect.center().x(), rect.top() + 20)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.RightButton, pos=pos)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)
    menu = view.window().context_menu
    assert menu is not None and menu.isVisible()
    return menu


def menu_texts(menu: QMenu) -> dict[str, bool]:
    return {a.text(): a.isEnabled() for a in menu.actions() if not a.isSeparator()}


def click_menu(qtbot, menu: QMenu, text: str) -> None:
    action = next(a for a in menu.actions() if a.text() == text)
    qtbot.mouseClick(menu, LEFT, pos=menu.actionGeometry(action).center())


def ok_button(dlg: QWidget) -> QWidget:
    return dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)


def tile_image(window, name: str):
    m = window.people_model
    return m.index(row_of_name(window, name)).data(DECORATION).toImage()


def face_image(window, face_id: int):
    return window.thumbs.get(face_id).toImage()


def person_id(window, name: str) -> int:
    return window.library.person_by_name(name).id


def distinct_crops(window) -> None:
    """Give every face its own grey (the fake library's crops are all alike), so a tile's
    picture says which face it is."""
    import numpy as np

    from photoface.core import align

    rows = window.library.query("SELECT id FROM faces ORDER BY id")
    with window.library.transaction() as c:
        for i, (fid,) in enumerate(rows):
            crop = align.encode_jpeg(np.full((144, 144, 3), 20 + 15 * i, np.uint8))
            c.execute("UPDATE faces SET crop = ? WHERE id = ?", (crop, fid))
    window.refresh()


def face_rows(window) -> list[int]:
    m = window.faces_model
    return [m.index(r).data(ID_ROLE) for r in range(m.rowCount())]


def reopen(qtbot, old, home):
    """Close the window as a user does, then start a new one on the same library and data dir
    with the settings the app reads at start."""
    from photoface import settings
    from photoface.ui.main_window import MainWindow
    from tests.fakes import FakeEmbedder

    path = old.library_path
    old.close()
    w = MainWindow(
        path,
        settings.load(home),
        home,
        detector_factory=lambda: None,
        embedder_factory=lambda: FakeEmbedder(),
    )
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


# --- 1. the cover face ----------------------------------------------------------------------------


def test_use_as_cover_from_the_person_page_shows_on_the_tile_and_undoes(qtbot, people_window):
    w = people_window
    distinct_crops(w)
    ada = person_id(w, "Ada")
    before = w.library.person(ada).cover_face_id
    open_tile(qtbot, w, "Ada")
    row = next(r for r, f in enumerate(face_rows(w)) if f != before)
    chosen = face_rows(w)[row]
    click_item(qtbot, w.person_page.view, row)
    qtbot.mouseClick(w.person_page.cover, LEFT)
    assert w.status_label.text() == "Ada is shown by the chosen face now."
    qtbot.mouseClick(w.person_page.back_button, LEFT)
    assert tile_image(w, "Ada") == face_image(w, chosen)
    assert tile_image(w, "Ada") != face_image(w, before)
    press(qtbot, w.people_page.view, Qt.Key.Key_Z, CTRL)
    assert w.status_label.text().startswith("Undid: Use face")
    assert tile_image(w, "Ada") == face_image(w, before)


def test_use_as_cover_from_a_faces_right_click_menu(qtbot, people_window):
    w = people_window
    distinct_crops(w)
    open_tile(qtbot, w, "Bob")
    before = w.library.person(person_id(w, "Bob")).cover_face_id
    row = next(r for r, f in enumerate(face_rows(w)) if f != before)
    chosen = face_rows(w)[row]
    menu = right_click(qtbot, w.person_page.view, row)
    assert menu_texts(menu) == {
        "Open photo": True,
        "Use as cover": True,
        "Not this person": True,
        "Move to…": True,
        "Remove (not a face)": True,
    }
    click_menu(qtbot, menu, "Use as cover")
    assert w.library.person(person_id(w, "Bob")).cover_face_id == chosen
    qtbot.mouseClick(w.person_page.back_button, LEFT)
    assert tile_image(w, "Bob") == face_image(w, chosen)


def test_the_cover_falls_back_when_its_face_leaves_and_survives_a_regroup(qtbot, people_window):
    import numpy as np

    w = people_window
    distinct_crops(w)
    # "Not this person" on the chosen cover: the tile falls back to Ada's best face left.
    ada = person_id(w, "Ada")
    w.library.edits.set_cover(ada, w.library.faces_of_person(ada)[-1].id)
    open_tile(qtbot, w, "Ada")
    cover = w.library.person(ada).cover_face_id
    click_item(qtbot, w.person_page.view, face_rows(w).index(cover))
    qtbot.mouseClick(w.person_page.not_this, LEFT)
    assert w.person_page.title.text() == "Ada — 3 faces"
    assert w.status_label.text() == "Took 1 face out of Ada."
    left = w.library.faces_of_person(ada)
    best = max(f.quality for f in left)
    fallback = w.library.person(ada).cover_face_id
    assert fallback != cover and fallback in {f.id for f in left if f.quality == best}
    qtbot.mouseClick(w.person_page.back_button, LEFT)
    assert tile_image(w, "Ada") == face_image(w, w.library.person(ada).cover_face_id)
    # A regroup that leaves every face it may move unsorted: the chosen cover stays.
    pair = next(p for p in w.library.people() if p.name is None and p.face_count == 2)
    chosen = next(f.id for f in w.library.faces_of_person(pair.id) if f.id != pair.cover_face_id)
    w.library.edits.set_cover(pair.id, chosen)
    rows = w.library.query("SELECT id FROM faces ORDER BY id")
    w.library.write_clustering(np.array([r[0] for r in rows]), np.zeros(len(rows), np.int64))
    w.refresh()
    assert w.library.person(pair.id).cover_face_id == chosen
    tile = row_of_name(w, "Unnamed")
    assert w.people_model.index(tile).data(ID_ROLE) == pair.id
    assert tile_image(w, "Unnamed") == face_image(w, chosen)


# --- 2. names: completion, and an existing name offers a merge ------------------------------------


def test_the_name_dialog_completes_from_existing_names(qtbot, people_window):
    w = people_window
    seen: dict[str, object] = {}

    def answer(dlg: QWidget) -> None:
        edit = dlg.edit
        dlg.activateWindow()  # a window manager does this; the offscreen platform does not
        qtbot.waitUntil(lambda: QApplication.activeWindow() is dlg)
        assert edit.hasFocus()  # the completer talks to the line edit only while it has focus
        edit.selectAll()
        qtbot.keyClicks(edit, "d")  # "Ada" holds a "d"; "Bob" does not
        popup = edit.completer().popup()
        seen["visible"] = popup.isVisible()
        model = popup.model()
        seen["offered"] = [model.index(r, 0).data() for r in range(model.rowCount())]
        qtbot.keyClick(popup, Qt.Key.Key_Down)
        qtbot.keyClick(popup, Qt.Key.Key_Return)
        seen["text"] = edit.text()
        cancel = dlg.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Cancel)
        qtbot.mouseClick(cancel, LEFT)

    click_item(qtbot, w.people_page.view, row_of_name(w, "Unnamed"))
    when_dialog_shows(answer)
    press(qtbot, w.people_page.view, Qt.Key.Key_F2)
    assert seen == {"visible": True, "offered": ["Ada"], "text": "Ada"}
    assert w.library.edits.next_undo() is None  # cancelled: nothing named


def answer_name_then(qtbot, name: str, button: QMessageBox.StandardButton):
    def ask(dlg: QWidget) -> None:
        assert isinstance(dlg, QMessageBox)
        assert f"“{name}” is already a person here" in dlg.text()
        qtbot.mouseClick(dlg.button(button), LEFT)

    def answer(dlg: QWidget) -> None:
        dlg.edit.selectAll()
        qtbot.keyClicks(dlg.edit, name)
        QTimer.singleShot(0, lambda: when_dialog_shows(ask))
        qtbot.mouseClick(ok_button(dlg), LEFT)

    return answer


def test_naming_with_an_existing_name_no_keeps_both_yes_merges_in_one_undo(qtbot, people_window):
    w = people_window
    before = tiles(w)
    click_item(qtbot, w.people_page.view, row_of_name(w, "Bob"))
    when_dialog_shows(answer_name_then(qtbot, "ada", QMessageBox.StandardButton.No))
    press(qtbot, w.people_page.view, Qt.Key.Key_F2)
    assert tiles(w) == before  # the library keeps one person per name: No changes nothing
    assert w.status_label.text() == "Nothing changed: “Ada” is another person's name."
    assert w.library.edits.next_undo() is None

    click_item(qtbot, w.people_page.view, row_of_name(w, "Bob"))
    when_dialog_shows(answer_name_then(qtbot, "ada", QMessageBox.StandardButton.Yes))
    press(qtbot, w.people_page.view, Qt.Key.Key_F2)
    assert ("Ada", 7) in tiles(w) and "Bob" not in dict(tiles(w))
    assert w.status_label.text() == "Merged 2 people into Ada."
    press(qtbot, w.people_page.view, Qt.Key.Key_Z, CTRL)
    assert tiles(w) == before


# --- 3, 4. sort and thumbnail size, remembered ----------------------------------------------------


def test_sort_and_thumbnail_size_change_the_grid_and_are_remembered(qtbot, people_window, home):
    w = people_window
    assert [label for label, _ in tiles(w)] == ["Ada", "Bob", "Unnamed", "Unnamed"]
    combo = w.people_page.sort
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # "Most faces" -> "Name"
    assert combo.currentText() == "Name"
    w.library.edits.rename(w.people_model.index(3).data(ID_ROLE), "Al")
    w.refresh()
    assert [label for label, _ in tiles(w)][:3] == ["Ada", "Al", "Bob"]
    qtbot.keyClick(combo, Qt.Key.Key_Down)  # "Newest": the highest ids first
    ids = [w.people_model.index(r).data(ID_ROLE) for r in range(w.people_model.rowCount())]
    assert ids == sorted(ids, reverse=True)
    slider = w.people_page.size
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    assert slider.value() == 144 and w.person_page.size.value() == 144
    assert w.people_page.view.iconSize().width() == 144
    assert tile_image(w, "Ada").width() == 144
    w2 = reopen(qtbot, w, home)
    assert w2.people_page.sort.currentText() == "Newest"
    assert w2.people_page.size.value() == 144
    assert w2.people_page.view.iconSize().width() == 144


# --- 5, 6. counts, status messages and empty states ---------------------------------------------


def test_counts_follow_hidden_people_and_search_and_empty_states_say_what_to_do(
    qtbot, people_window
):
    w = people_window
    assert w.people_page.summary.text().startswith("4 people shown ·")
    click_item(qtbot, w.people_page.view, row_of_name(w, "Bob"))
    press(qtbot, w.people_page.view, Qt.Key.Key_H, CTRL)
    assert w.status_label.text() == "Hid Bob."
    assert w.people_page.summary.text().startswith("3 people shown of 4 (1 hidden) ·")
    qtbot.keyClicks(w.people_page.search, "xyz")
    assert w.people_page.empty_hint.isVisible() and not w.people_page.view.isVisible()
    assert w.people_page.empty_hint.text().startswith("No person matches “xyz”.")
    assert w.people_page.summary.text().startswith("0 people shown of 4 (matching “xyz”) ·")
    w.people_page.search.clear()
    assert w.people_page.view.isVisible() and not w.people_page.empty_hint.isVisible()
    qtbot.mouseClick(w.people_page.unsorted, LEFT)
    view = w.person_page.view
    click_item(qtbot, view, 0)
    click_item(qtbot, view, 1, CTRL)
    qtbot.mouseClick(w.person_page.remove, LEFT)
    assert w.status_label.text() == "Removed 2 faces."
    assert w.person_page.title.text() == "Unsorted faces — 0 faces"
    assert w.person_page.empty_hint.isVisible()
    assert w.person_page.empty_hint.text().startswith("No unsorted faces")


def test_an_empty_library_says_to_add_a_folder(window):
    assert window.stack.currentWidget() is window.empty
    assert "Add a folder to find people" in [
        lbl.text() for lbl in window.empty.findChildren(QLabel)
    ]


# --- 7. right-click on a person tile -------------------------------------------------------------


def test_a_person_tiles_right_click_menu_hides_and_merges(qtbot, people_window):
    w = people_window
    menu = right_click(qtbot, w.people_page.view, row_of_name(w, "Bob"))
    assert menu_texts(menu) == {
        "Open": True,
        "Rename…": True,
        "Merge selected people": False,
        "Hide": True,
    }
    click_menu(qtbot, menu, "Hide")
    assert "Bob" not in dict(tiles(w))
    view = w.people_page.view
    click_item(qtbot, view, row_of_name(w, "Ada"))
    click_item(qtbot, view, row_of_name(w, "Unnamed"), CTRL)
    menu = right_click(qtbot, view, row_of_name(w, "Ada"))
    assert menu_texts(menu)["Merge selected people"]
    click_menu(qtbot, menu, "Merge selected people")
    assert w.status_label.text() == "Merged 2 people into Ada."
    assert ("Ada", 6) in tiles(w)


# --- 8. About, the window remembered, a second window, the errors panel -------------------------


def test_help_about_names_version_model_and_library(qtbot, people_window):
    from photoface import __version__

    w = people_window
    shown: list[str] = []

    def read_and_close(dlg: QWidget) -> None:
        shown.append(dlg.text())
        qtbot.mouseClick(dlg.findChild(QDialogButtonBox).buttons()[0], LEFT)

    bar = w.menuBar()
    help_menu = next(a for a in bar.actions() if a.text() == "&Help")
    qtbot.mouseClick(bar, LEFT, pos=bar.actionGeometry(help_menu).center())
    menu = help_menu.menu()
    assert menu.isVisible()
    when_dialog_shows(read_and_close)
    qtbot.mouseClick(menu, LEFT, pos=menu.actionGeometry(w.about_action).center())
    assert len(shown) == 1
    assert f"photoface {__version__}" in shown[0]
    assert f"Face model: {w.embedder.info.model_id}" in shown[0]
    assert f"Library: {w.library_path}" in shown[0]


def test_window_size_and_page_are_remembered(qtbot, people_window, home):
    w = people_window
    w.resize(700, 500)  # inside the offscreen platform's 800x600 screen
    open_tile(qtbot, w, "Bob")
    w2 = reopen(qtbot, w, home)
    assert (w2.width(), w2.height()) == (700, 500)
    assert w2.stack.currentWidget() is w2.person_page
    assert w2.person_page.title.text() == "Bob — 3 faces"


def test_a_second_window_on_the_same_library_warns(qtbot, people_window, home, warnings):
    from photoface.settings import Settings
    from photoface.ui.main_window import MainWindow
    from tests.fakes import FakeEmbedder

    w = people_window
    lock = w.library_path.with_name(w.library_path.name + ".lock")
    assert lock.read_text().split()[0] == str(os.getpid())
    second = MainWindow(w.library_path, Settings(), home, lambda: None, lambda: FakeEmbedder())
    qtbot.addWidget(second)
    second.show()
    qtbot.waitUntil(lambda: bool(warnings))
    assert "already open in another photoface window" in warnings[0]
    assert "also open in another window" in second.windowTitle()
    second.close()
    assert lock.exists()  # still the first window's
    w.close()
    assert not lock.exists()


def test_a_stale_lock_is_taken_over_and_a_link_is_not_followed(tmp_path, home, qtbot, warnings):
    from photoface.settings import Settings
    from photoface.ui.main_window import MainWindow

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    library = tmp_path / "lib.sqlite3"
    lock = tmp_path / "lib.sqlite3.lock"
    lock.write_text(f"{dead.pid} abc\n")
    w = MainWindow(library, Settings(), home, lambda: None, lambda: None)
    qtbot.addWidget(w)
    QApplication.processEvents()
    assert warnings == []
    assert lock.read_text().split()[0] == str(os.getpid())
    w.close()
    target = tmp_path / "elsewhere.txt"
    target.write_text("not the app's")
    lock.symlink_to(target)
    w = MainWindow(library, Settings(), home, lambda: None, lambda: None)
    qtbot.addWidget(w)
    QApplication.processEvents()
    w.close()
    assert target.read_text() == "not the app's" and lock.is_symlink()


def test_the_errors_panel_says_why_in_plain_words_and_opens_the_folder(qtbot, window, album):
    from photoface.ui.errors_panel import PATH_ROLE
    from tests.ui.test_window import scanned

    scanned(qtbot, window, album)
    panel = window.errors_panel
    lines = [panel.list.item(r).text() for r in range(panel.list.count())]
    assert "empty.jpg — The file is empty (0 bytes)." in lines
    assert any(line.startswith("notes.png — This is not a picture") for line in lines)
    assert not panel.open_folder.isEnabled()
    opened: list[QUrl] = []
    panel.open_url = opened.append  # the seam: no file manager in a test
    row = lines.index("empty.jpg — The file is empty (0 bytes).")
    rect = panel.list.visualItemRect(panel.list.item(row))
    qtbot.mouseClick(panel.list.viewport(), LEFT, pos=rect.center())
    qtbot.mouseClick(panel.open_folder, LEFT)
    assert opened == [QUrl.fromLocalFile(str(album / "broken"))]
    assert panel.list.item(row).data(PATH_ROLE) == str(album / "broken" / "empty.jpg")
