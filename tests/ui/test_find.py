"""Find people in the real window: a photo dropped on the People search box lists the nearest
people of its faces (a click opens one), and "Photos together…" lists the photos the selected
people share ("Only them" narrows it)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from tests.fakes import fill_library, people_embeddings
from tests.photos import face_photo, make_album, save_jpeg

pytestmark = pytest.mark.gui


def drag_onto(widget, path) -> tuple[bool, bool]:
    """Drag a file over `widget` and drop it there, as the mouse would (Qt delivers the drop
    only where the drag was accepted); (enter accepted, drop accepted)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    centre = QPoint(widget.width() // 2, widget.height() // 2)
    enter = QDragEnterEvent(
        centre,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, enter)
    dropped = QDropEvent(
        QPointF(centre),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, dropped)
    return enter.isAccepted(), dropped.isAccepted()


def click_item(qtbot, list_widget, row: int) -> None:
    rect = list_widget.visualItemRect(list_widget.item(row))
    qtbot.mouseClick(list_widget.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def row_of(list_widget, text: str) -> int:
    return next(r for r in range(list_widget.count()) if text in list_widget.item(r).text())


@pytest.fixture
def eileen(qtbot, window, tmp_path):
    """The window after a scan of three astronaut photos, the person named Eileen."""
    make_album(tmp_path / "album", n_faces=3, broken=False)
    assert window.add_folder(tmp_path / "album")
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    ((pid,),) = window.library.query("SELECT id FROM people")
    window.library.edits.rename(pid, "Eileen")
    window.refresh()
    return pid


def test_a_photo_dropped_on_the_search_lists_its_people_and_a_click_opens_one(
    qtbot, window, eileen, tmp_path
):
    new = save_jpeg(face_photo(42), tmp_path / "elsewhere/new.jpg")
    search = window.people_page.search
    photos = window.library.counts()["photos"]
    assert drag_onto(search, new) == (True, True)
    dlg = window.finding.dialog
    assert dlg is not None and dlg.isVisible()
    assert "1 face in new.jpg" in dlg.summary.text()
    (line,) = dlg.people_shown()
    assert line.startswith("✓ Eileen — ")  # within the threshold: the same person
    assert 0.0 <= float(line.rsplit("— ", 1)[1]) < 0.9
    assert search.text() == ""  # the drop searched; it did not type the file's URL
    assert "1 face found in new.jpg" in window.status_label.text()
    assert window.library.counts()["photos"] == photos  # the photo was not added
    click_item(qtbot, dlg.list, row_of(dlg.list, "Eileen"))
    assert window.stack.currentWidget() is window.person_page
    assert window.person_page.title.text().startswith("Eileen")
    assert window.finding.dialog is None  # closed by the choice


def test_a_photo_without_faces_says_so(qtbot, window, eileen, tmp_path):
    sky = save_jpeg(np.full((200, 300, 3), 90, np.uint8), tmp_path / "sky.jpg")
    drag_onto(window.people_page.search, sky)
    dlg = window.finding.dialog
    assert dlg.summary.text() == "No faces found in sky.jpg." and dlg.people_shown() == []


def test_an_unreadable_photo_dropped_is_a_status_message(qtbot, window, eileen, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_text("not a picture")
    drag_onto(window.people_page.search, bad)
    assert window.finding.dialog is None
    assert window.status_label.text().startswith("Cannot search with bad.jpg:")


def test_a_dropped_folder_or_text_file_is_left_to_the_window(
    qtbot, window, eileen, tmp_path, monkeypatch
):
    from PySide6.QtWidgets import QMessageBox

    told = []
    monkeypatch.setattr(QMessageBox, "information", lambda _p, _t, text: told.append(text))
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    drag_onto(window.people_page.search, notes)
    assert told == ["Drop a folder of photos to add it."]  # the window's own answer, as before
    more = tmp_path / "more"
    make_album(more, n_faces=1, broken=False)
    drag_onto(window.people_page.search, more)  # a folder is still added
    assert window.runner.busy
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    assert window.finding.dialog is None and window.people_page.search.text() == ""


def test_find_people_by_photo_from_the_menu(qtbot, window, eileen, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    new = save_jpeg(face_photo(7), tmp_path / "elsewhere/seven.jpg")
    monkeypatch.setattr(
        QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(new), ""))
    )
    action = next(a for a in window.view_menu.actions() if a.text() == "&Find people by photo…")
    action.trigger()
    assert window.finding.dialog.people_shown()[0].startswith("✓ Eileen")


# --- photos together ----------------------------------------------------------------------------


@pytest.fixture
def trio(window):
    """Photos 0: A and B; 1: A, B and C; 2: A alone, in the window's library (A = Ada, B = Bob)."""
    lib = window.library
    who = [0, 1, 0, 1, 2, 0]
    photo_of = np.array([0, 0, 1, 1, 1, 2])
    x, _ = people_embeddings(1, len(who))
    ids = fill_library(lib, x, photo_of)
    lib.write_clustering(np.array(ids), -1 - np.array(who))
    pid = [lib.face(ids[who.index(k)]).person_id for k in range(3)]
    lib.edits.rename(pid[0], "Ada")
    lib.edits.rename(pid[1], "Bob")
    window.show_people()
    return pid


def select_people(window, ids: list[int]) -> None:
    view, model = window.people_page.view, window.people_model
    sel = view.selectionModel()
    sel.clearSelection()
    for r in range(model.rowCount()):
        if model.index(r).data(Qt.ItemDataRole.UserRole + 1) in ids:
            sel.select(model.index(r), QItemSelectionModel.SelectionFlag.Select)


def test_photos_together_lists_the_shared_photos_and_only_them(qtbot, window, trio):
    select_people(window, trio[:2])
    action = next(a for a in window.view_menu.actions() if a.text() == "Photos &together…")
    action.trigger()
    dlg = window.finding.dialog
    assert dlg.summary.text().startswith("2 photos of ")
    assert "Ada" in dlg.summary.text() and "Bob" in dlg.summary.text()
    paths = [dlg.list.item(r).text() for r in range(dlg.list.count())]
    assert paths == ["/photos/0.jpg  (missing)", "/photos/1.jpg  (missing)"]
    qtbot.mouseClick(dlg.only, Qt.MouseButton.LeftButton)
    assert dlg.only.isChecked()
    assert [dlg.list.item(r).text() for r in range(dlg.list.count())] == [
        "/photos/0.jpg  (missing)"
    ]
    assert "with nobody else" in dlg.summary.text()
    click_item(qtbot, dlg.list, 0)
    assert window.stack.currentWidget() is window.photo_view


def test_photos_together_with_nobody_selected_says_what_to_do(qtbot, window, trio):
    select_people(window, [])
    action = next(a for a in window.view_menu.actions() if a.text() == "Photos &together…")
    action.trigger()
    assert window.finding.dialog is None
    assert "Select the people" in window.status_label.text()
