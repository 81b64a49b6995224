"""GUI tests run offscreen, each with a fresh data dir (the autouse `home` fixture)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def detector():
    from photoface.core.detect import make_detector

    return make_detector("yunet")


@pytest.fixture
def window(qtbot, tmp_path, home, detector):
    from photoface.settings import Settings
    from photoface.ui.main_window import MainWindow
    from tests.fakes import FakeEmbedder

    w = MainWindow(
        tmp_path / "lib.sqlite3",
        Settings(),
        home,
        detector_factory=lambda: detector,
        embedder_factory=lambda: FakeEmbedder(),
    )
    qtbot.addWidget(w)
    w.show()
    yield w
    w.runner.wait()


@pytest.fixture
def album(tmp_path):
    """Five astronaut faces and three broken files."""
    from tests.photos import make_album

    make_album(tmp_path / "album", n_faces=5)
    return tmp_path / "album"


@pytest.fixture
def warnings(monkeypatch) -> list[str]:
    """The warning boxes the window showed (recorded, not shown: an unexpected one would
    otherwise wait for a click that never comes)."""
    from PySide6.QtWidgets import QMessageBox

    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a: shown.append(text))
    return shown


@pytest.fixture
def people_window(qtbot, tmp_path, home):
    """A window on a library with Ada (4 faces), Bob (3), an unnamed pair, an unnamed single
    and 2 unsorted faces; nothing in the undo log yet."""
    import numpy as np

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
