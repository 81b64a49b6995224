"""The photo view driven as a user would: draw a box around a missed face, a face's menu
(show, name, move, not this person, remove), next and previous photo; each edit undoable."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from photoface.ui.dialogs import MoveToDialog
from photoface.ui.models import ID_ROLE
from tests.photos import make_album, save_jpeg, small_face_box, small_face_photo
from tests.ui.test_window import scanned, select

pytestmark = pytest.mark.gui


@pytest.fixture
def library_shown(qtbot, window, tmp_path):
    """Five astronaut photos (one person) and small.jpg, whose face the scan missed."""
    album = tmp_path / "album"
    make_album(album, n_faces=5, broken=False)
    save_jpeg(small_face_photo(), album / "small.jpg", quality=95)
    scanned(qtbot, window, album)
    window.resize(1100, 760)
    return album


def photo_id(window, path) -> int:
    return window.library.photo_by_path(str(path)).id


def drag(qtbot, view, a: QPoint, b: QPoint) -> None:
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(view, QPoint((a.x() + b.x()) // 2, (a.y() + b.y()) // 2))
    qtbot.mouseMove(view, b)
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=b)


def choose(qtbot, view, face: int, text: str) -> None:
    """Click face `face`'s box, then the menu item `text`."""
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.face_centre(face).toPoint())
    menu = view.face_menu
    assert menu is not None and menu.isVisible()
    action = next(a for a in menu.actions() if a.text() == text)
    assert action.isEnabled(), text
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())
    assert not menu.isVisible()


def test_drawing_a_box_around_a_missed_face_adds_it_and_undo_takes_it_away(
    qtbot, window, library_shown, detector
):
    window.open_photo(photo_id(window, library_shown / "small.jpg"))
    view = window.photo_view
    assert window.stack.currentWidget() is view and view.faces == []
    assert "small.jpg — 0 faces" in view.caption()
    x, y, w, h = small_face_box(detector)
    a, b = view.screen_point(x, y).toPoint(), view.screen_point(x + w, y + h).toPoint()
    drag(qtbot, view, a, b)
    (face,) = view.faces
    assert face.manual and "1 face;" in view.caption()
    assert window.status_label.text().startswith("Done: Add a face on small.jpg")
    stored = window.library.face(face.face_id)
    assert stored.manual and stored.model_id == window.embedder.info.model_id
    assert stored.box[0] == pytest.approx(x, abs=3) and stored.box[2] == pytest.approx(w, abs=3)
    assert window.library.counts()["faces"] == 6
    window.undo_action.trigger()
    assert view.faces == [] and window.library.counts()["faces"] == 5
    assert window.status_label.text().startswith("Undid: Add a face on small.jpg")
    window.redo_action.trigger()
    assert [f.face_id for f in view.faces] == [face.face_id]


def test_a_click_is_not_a_drawing_and_a_tiny_box_is_refused(
    qtbot, window, library_shown, monkeypatch
):
    warned = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a: warned.append(a[2]))
    window.open_photo(photo_id(window, library_shown / "small.jpg"))
    view = window.photo_view
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.screen_point(100, 100).toPoint())
    assert view.faces == [] and window.library.edits.next_undo() is None and not warned
    a = view.screen_point(100, 100).toPoint()
    drag(qtbot, view, a, a + QPoint(4, 5))  # just past a click: 4 x 5 screen px, a few pixels
    assert view.faces == [] and window.library.edits.next_undo() is None
    assert warned and "too small" in warned[0]


def test_a_faces_menu_names_moves_rejects_and_removes_it_each_undoable(
    qtbot, window, library_shown, monkeypatch
):
    window.open_photo(photo_id(window, library_shown / "trip/face_0.jpg"))
    view = window.photo_view
    (face,) = view.faces
    pid = face.person_id
    assert pid is not None and face.label == "Unnamed"
    # Name…: the face's unnamed person gets the name
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Eileen", True))
    choose(qtbot, view, 0, "Name…")
    assert view.faces[0].label == "Eileen" and window.library.person(pid).name == "Eileen"
    # Not this person: the face leaves Eileen
    choose(qtbot, view, 0, "Not this person")
    assert view.faces[0].label == "Unsorted" and view.faces[0].person_id is None
    assert window.library.person(pid).face_count == 4
    window.undo_action.trigger()
    assert view.faces[0].label == "Eileen"
    # Move to…: a new person
    monkeypatch.setattr(MoveToDialog, "get_person", staticmethod(lambda *a: (None, True)))
    choose(qtbot, view, 0, "Move to…")
    moved = view.faces[0].person_id
    assert moved not in (None, pid) and view.faces[0].label == "Unnamed"
    # Name… with a name another person has offers to merge the two (yes: back to Eileen)
    asked = []
    monkeypatch.setattr(
        QMessageBox, "question", lambda *a: asked.append(a[2]) or QMessageBox.StandardButton.Yes
    )
    choose(qtbot, view, 0, "Name…")
    assert asked and "already a person here" in asked[0]
    assert view.faces[0].person_id == pid and view.faces[0].label == "Eileen"
    # Name… on a face of a named person puts that face in the person of the name given
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Sally", True))
    choose(qtbot, view, 0, "Name…")
    sally = window.library.person_by_name("Sally")
    assert view.faces[0].label == "Sally" and view.faces[0].person_id == sally.id != pid
    assert window.library.person(pid).face_count == 4
    assert window.status_label.text() == "Done: Name a face as Sally"
    window.undo_action.trigger()
    assert view.faces[0].label == "Eileen"
    # Remove face
    choose(qtbot, view, 0, "Remove face")
    assert view.faces == [] and "0 faces" in view.caption()
    window.undo_action.trigger()
    assert [f.face_id for f in view.faces] == [face.face_id]
    # Show Eileen: the person's page
    choose(qtbot, view, 0, "Show Eileen")
    assert window.stack.currentWidget() is window.person_page
    assert window.faces_model.person_id == pid


def test_an_unsorted_face_has_no_not_this_person(qtbot, window, library_shown):
    window.open_photo(photo_id(window, library_shown / "trip/face_0.jpg"))
    view = window.photo_view
    window.library.edits.reject([view.faces[0].face_id], view.faces[0].person_id)
    window.refresh()
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.face_centre(0).toPoint())
    texts = {a.text(): a.isEnabled() for a in view.face_menu.actions()}
    assert texts == {"Name…": True, "Move to…": True, "Not this person": False, "Remove face": True}


def test_next_and_previous_go_through_the_persons_photos(qtbot, window, library_shown):
    pid = window.people_model.index(0).data(ID_ROLE)
    window.open_person(pid)
    select(window.person_page.view, [0])
    qtbot.mouseClick(window.person_page.open_photo, Qt.MouseButton.LeftButton)
    view = window.photo_view
    assert window.stack.currentWidget() is view and view.caption().startswith("1 / 5 · ")
    assert not view.prev_button.isEnabled() and view.next_button.isEnabled()
    seen = [view.caption().split(" · ")[1].split(" — ")[0]]
    qtbot.mouseClick(view.next_button, Qt.MouseButton.LeftButton)
    assert view.caption().startswith("2 / 5 · ") and view.prev_button.isEnabled()
    seen.append(view.caption().split(" · ")[1].split(" — ")[0])
    for _ in range(3):
        qtbot.keyClick(view, Qt.Key.Key_Right)
        seen.append(view.caption().split(" · ")[1].split(" — ")[0])
    assert view.caption().startswith("5 / 5 · ") and not view.next_button.isEnabled()
    assert sorted(seen) == [f"face_{i}.jpg" for i in range(5)]  # each of the person's photos
    qtbot.keyClick(view, Qt.Key.Key_Right)  # past the end: stays
    assert view.caption().startswith("5 / 5 · ")
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.caption().startswith("4 / 5 · ")
    assert view.faces[0].person_id == pid


def test_a_photo_opened_from_elsewhere_steps_through_every_photo(qtbot, window, library_shown):
    window.open_photo(photo_id(window, library_shown / "sky.jpg"))
    view = window.photo_view
    assert view.caption().startswith("1 / 7 · sky.jpg")  # by path: sky, small, trip/...
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.caption().startswith("2 / 7 · small.jpg")
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.caption().startswith("3 / 7 · face_0.jpg")
