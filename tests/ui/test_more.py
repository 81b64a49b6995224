"""Real LFW photos through the window, the empty state without a model, tiles and scrolling."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QPoint, Qt

from photoface.ui.dialogs import NameDialog
from photoface.ui.models import ID_ROLE, TILE
from tests.photos import make_album
from tests.ui.test_window import names, scanned, select

pytestmark = pytest.mark.gui


@pytest.mark.data
def test_real_photos_are_scanned_named_and_merged(qtbot, window, shared_data, tmp_path):
    lfw = shared_data / "lfw" / "lfw-deepfunneled"
    folder = tmp_path / "lfw"
    folder.mkdir()
    for person in ("Colin_Powell", "Serena_Williams", "Hugo_Chavez"):
        for f in sorted((lfw / person).glob("*.jpg"))[:4]:
            shutil.copy(f, folder / f.name)
    scanned(qtbot, window, folder)
    assert window.library.counts()["faces"] >= 12
    assert window.errors_list.count() == 0
    ids = [
        window.people_model.index(r).data(ID_ROLE) for r in range(window.people_model.rowCount())
    ]
    assert ids, "the fake embedder groups at least some faces"
    window.rename_person(ids[0], "Colin Powell")
    assert "Colin Powell" in names(window)
    if len(ids) > 1:
        select(window.people_page.view, [0, 1])
        window.merge_selected()
        assert len(names(window)) == len(ids) - 1
        window.undo()
        assert len(names(window)) == len(ids)


def test_without_a_model_faces_are_kept_and_the_window_says_so(qtbot, tmp_path, home, detector):
    from photoface.settings import Settings
    from photoface.ui.main_window import MainWindow

    w = MainWindow(
        tmp_path / "lib.sqlite3",
        Settings(),
        home,
        detector_factory=lambda: detector,
        embedder_factory=lambda: None,
    )
    qtbot.addWidget(w)
    w.show()
    assert "model" in w.empty.notice.text()
    make_album(tmp_path / "album", n_faces=3, broken=False)
    scanned(qtbot, w, tmp_path / "album")
    assert w.library.counts()["faces"] == 3
    assert "no embedding model" in w.status_label.text()
    w.runner.wait()


def test_tiles_get_the_whole_cell_and_a_person_opens_at_the_top(qtbot, window, tmp_path):
    make_album(tmp_path / "album", n_faces=40, broken=False)
    scanned(qtbot, window, tmp_path / "album")
    pid = window.people_model.index(0).data(ID_ROLE)
    assert window.people_model.index(0).data(Qt.ItemDataRole.SizeHintRole) == TILE
    window.rename_person(pid, "Arnold Alois Schwarzenegger the Long-Named")
    view = window.person_page.view
    window.resize(420, 320)
    window.open_person(pid)
    qtbot.wait(50)
    view.doItemsLayout()
    assert view.verticalScrollBar().maximum() > 0
    view.verticalScrollBar().setValue(view.verticalScrollBar().maximum())
    window.open_person(None)
    window.open_person(pid)
    assert view.verticalScrollBar().value() == 0


def test_keyboard_names_undoes_and_redoes(qtbot, window, album, monkeypatch):
    scanned(qtbot, window, album)
    view = window.people_page.view
    view.setFocus()
    select(view, [0])
    monkeypatch.setattr(NameDialog, "get_name", staticmethod(lambda *a: ("Eileen Collins", True)))
    qtbot.keyClick(view, Qt.Key.Key_F2)
    assert names(window) == ["Eileen Collins"]
    qtbot.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert names(window) == ["Unnamed"]
    ctrl_shift = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    qtbot.keyClick(view, Qt.Key.Key_Z, ctrl_shift)
    assert names(window) == ["Eileen Collins"]


def test_settings_regroup_on_the_worker_and_keep_names(qtbot, window, album, monkeypatch):
    from photoface.ui import main_window

    scanned(qtbot, window, album)
    pid = window.people_model.index(0).data(ID_ROLE)
    window.rename_person(pid, "Eileen Collins")

    class Accepting:  # the dialog, answered: a stricter threshold, 2 faces a person
        def __init__(self, *a, **k) -> None:
            pass

        def exec(self) -> bool:
            return True

        def values(self):
            return 0.5, 2, ""

    monkeypatch.setattr(main_window, "SettingsDialog", Accepting)
    window.open_settings()
    assert window.runner.busy
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    assert window.settings.cluster_threshold == 0.5 and window.settings.min_faces == 2
    assert "Eileen Collins" in names(window)
    assert window.library.person(pid).face_count == 5  # what the user named stays together


def test_view_benchmark_smoke(qtbot, capsys):
    from photoface.bench import window as bench_window

    assert bench_window.main(["--faces", "600"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("600 faces,") and "first paint" in out and "unsorted" in out


def test_double_click_names_on_the_name_and_opens_on_the_face(qtbot, window, album, monkeypatch):
    scanned(qtbot, window, album)
    monkeypatch.setattr(NameDialog, "get_name", staticmethod(lambda *a: ("Eileen Collins", True)))
    view = window.people_page.view
    rect = view.visualRect(window.people_model.index(0))
    label = rect.center().x(), rect.bottom() - 6
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(*label))
    assert names(window) == ["Eileen Collins"]
    assert window.stack.currentWidget() is window.people_page
    view.doItemsLayout()  # naming refreshed the grid
    rect = view.visualRect(window.people_model.index(0))
    face = QPoint(rect.center().x(), rect.top() + 20)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=face)  # a real double
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=face)  # click: 2 presses
    assert window.stack.currentWidget() is window.person_page
    monkeypatch.setattr(
        NameDialog, "get_name", staticmethod(lambda *a: ("Eileen M. Collins", True))
    )
    qtbot.mouseClick(window.person_page.name_button, Qt.MouseButton.LeftButton)
    assert window.person_page.title.text().startswith("Eileen M. Collins")
    window.open_person(None)
    assert not window.person_page.name_button.isEnabled()  # the unsorted faces are no one
