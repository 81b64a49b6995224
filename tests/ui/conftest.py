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
