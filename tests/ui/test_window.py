"""The real window, driven as a user would: drop a folder, name, merge, split, reject, hide,
search, undo and redo each edit."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QItemSelectionModel, QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from photoface.ui.models import ID_ROLE
from tests.photos import make_album

pytestmark = pytest.mark.gui


def drop_folder(window, folder) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)


def scanned(qtbot, window, folder) -> None:
    drop_folder(window, folder)
    assert window.runner.busy
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)


def select(view, rows: list[int]) -> None:
    sel = view.selectionModel()
    sel.clearSelection()
    for r in rows:
        sel.select(view.model().index(r), QItemSelectionModel.SelectionFlag.Select)


def names(window) -> list[str]:
    m = window.people_model
    return [m.index(r).data().split("\n")[0] for r in range(m.rowCount())]


def test_first_run_shows_the_empty_state(window):
    assert window.stack.currentWidget() is window.empty


def test_drop_scan_and_see_people_and_errors(qtbot, window, album):
    scanned(qtbot, window, album)
    assert window.stack.currentWidget() is window.people_page
    assert names(window) == ["Unnamed"]
    assert window.people_model.index(0).data(Qt.ItemDataRole.DecorationRole) is not None
    assert window.errors_list.count() == 3  # the three broken files, listed in the panel
    assert "5 new faces" in window.status_label.text()


def test_add_folder_from_the_menu_scans_and_shows_the_result(qtbot, window, album, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    asked = []

    def choose(parent, title, *args):
        asked.append(title)
        return str(album)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(choose))
    add = next(
        a
        for m in window.menuBar().actions()
        for a in m.menu().actions()
        if a.text() == "&Add folder…"
    )
    add.trigger()
    assert asked == ["Add a photo folder"] and window.runner.busy
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    assert window.stack.currentWidget() is window.people_page
    assert names(window) == ["Unnamed"] and window.library.counts()["faces"] == 5
    assert window.status_label.text() == "Done: 9/9 photos, 5 new faces, 3 unreadable"
    assert window.errors_dock.isVisibleTo(window) and window.errors_list.count() == 3


def test_name_split_merge_reject_hide_search_with_undo_redo(qtbot, window, album):
    scanned(qtbot, window, album)
    (pid,) = [window.people_model.index(0).data(ID_ROLE)]
    # name
    assert window.rename_person(pid, "Eileen Collins")
    assert names(window) == ["Eileen Collins"]
    window.undo()
    assert names(window) == ["Unnamed"]
    window.redo()
    assert names(window) == ["Eileen Collins"]
    # split two faces off into a new person
    window.open_person(pid)
    select(window.person_page.view, [0, 1])
    window.move_faces_to(None)
    assert sorted(names(window)) == ["Eileen Collins", "Unnamed"]
    window.undo()
    assert names(window) == ["Eileen Collins"]
    window.redo()
    assert len(names(window)) == 2
    # merge them again, by dropping one tile on the other
    m = window.people_model
    other = next(m.index(r).data(ID_ROLE) for r in range(2) if m.index(r).data(ID_ROLE) != pid)
    mime = m.mimeData([m.index(m.row_of(other))])
    m.dropMimeData(mime, Qt.DropAction.MoveAction, -1, -1, m.index(m.row_of(pid)))
    assert names(window) == ["Eileen Collins"]
    assert window.library.person(pid).face_count == 5
    window.undo()
    assert len(names(window)) == 2
    window.redo()
    # not this person
    window.open_person(pid)
    select(window.person_page.view, [0])
    face = window.person_page.view.model().index(0).data(ID_ROLE)
    window.not_this_person()
    assert window.library.face(face).person_id is None
    assert window.library.person(pid).face_count == 4
    window.undo()
    assert window.library.face(face).person_id == pid
    window.redo()
    # hide and show
    window.show_people()
    select(window.people_page.view, [0])
    window.toggle_hidden_selected()
    assert names(window) == []
    window.people_page.show_hidden.setChecked(True)
    assert names(window) == ["Eileen Collins (hidden)"]
    window.undo()
    window.people_page.show_hidden.setChecked(False)
    assert names(window) == ["Eileen Collins"]
    # search
    window.people_page.search.setText("eil")
    assert names(window) == ["Eileen Collins"]
    window.people_page.search.setText("nobody")
    assert names(window) == []
    window.people_page.search.clear()


def test_an_existing_name_offers_a_merge(qtbot, window, album, monkeypatch):
    scanned(qtbot, window, album)
    pid = window.people_model.index(0).data(ID_ROLE)
    window.open_person(pid)
    select(window.person_page.view, [0, 1])
    window.move_faces_to(None)
    window.rename_person(pid, "Eileen")
    other = next(p.id for p in window.library.people() if p.id != pid)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert window.rename_person(other, "eileen")
    assert [p.label for p in window.library.people()] == ["Eileen"]


def test_photo_view_boxes_lead_to_the_person(qtbot, window, album):
    scanned(qtbot, window, album)
    pid = window.people_model.index(0).data(ID_ROLE)
    window.open_person(pid)
    select(window.person_page.view, [0])
    window.open_selected_photo()
    assert window.stack.currentWidget() is window.photo_view
    window.photo_view.resize(600, 600)
    centre = window.photo_view.face_centre(0).toPoint()
    qtbot.mouseClick(window.photo_view, Qt.MouseButton.LeftButton, pos=centre)
    menu = window.photo_view.face_menu  # the box's menu: its first item shows the person
    show = menu.actions()[0]
    assert show.text() == "Show Unnamed"
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(show).center())
    assert window.stack.currentWidget() is window.person_page
    assert window.faces_model.person_id == pid
    select(window.person_page.view, [0])
    window.open_selected_photo()  # and the Back button returns to the person's faces
    assert window.stack.currentWidget() is window.photo_view
    qtbot.mouseClick(window.photo_view.back_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is window.person_page


def test_cancel_keeps_what_was_scanned(qtbot, window, tmp_path):
    make_album(tmp_path / "big", n_faces=30, broken=False)
    drop_folder(window, tmp_path / "big")
    window.runner.cancel()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    assert "Cancelled" in window.status_label.text() or "Done" in window.status_label.text()
    assert window.library.counts()["photos"] <= 31


def test_models_pass_the_model_tester(qtbot, qtmodeltester, window, album):
    scanned(qtbot, window, album)
    qtmodeltester.check(window.people_model)
    window.open_person(None)
    qtmodeltester.check(window.faces_model)
    window.open_person(window.people_model.index(0).data(ID_ROLE))
    qtmodeltester.check(window.faces_model)


def test_the_app_starts_and_shows_its_window(tmp_path, monkeypatch):
    import subprocess
    import sys

    env = {
        "PHOTOFACE_HOME": str(tmp_path),
        "PHOTOFACE_QUIT_AFTER_MS": "300",
        "QT_QPA_PLATFORM": "offscreen",
    }
    import os

    out = subprocess.run(
        [sys.executable, "-m", "photoface"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "window shown" in (tmp_path / "photoface.log").read_text()
