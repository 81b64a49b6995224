"""A model upgrade as a user meets it: a compatible (harmonic) model just works on the old
vectors; an incompatible one re-embeds the stored crops in the background, names kept."""

from __future__ import annotations

import pytest

from photoface.settings import Settings
from photoface.ui.main_window import MainWindow
from photoface.ui.models import ID_ROLE
from tests.fakes import FakeEmbedder
from tests.photos import face_photo, save_jpeg
from tests.ui.test_window import names, scanned

pytestmark = pytest.mark.gui


def open_window(qtbot, path, home, detector, embedder) -> MainWindow:
    w = MainWindow(
        path, Settings(), home, detector_factory=lambda: detector, embedder_factory=lambda: embedder
    )
    qtbot.addWidget(w)
    w.show()
    return w


def models_in(window) -> set[str]:
    return {r[0] for r in window.library.query("SELECT DISTINCT model_id FROM faces")}


@pytest.fixture
def named_v1_library(qtbot, tmp_path, home, detector, album):
    """A library scanned with v1, its one person named by the user; the window closed."""
    path = tmp_path / "lib.sqlite3"
    w = open_window(qtbot, path, home, detector, FakeEmbedder("v1"))
    scanned(qtbot, w, album)
    w.rename_person(w.people_model.index(0).data(ID_ROLE), "Eileen Collins")
    assert names(w) == ["Eileen Collins"]
    w.close()
    return path


def test_a_compatible_model_uses_the_old_vectors_without_re_embedding(
    qtbot, home, detector, named_v1_library, tmp_path
):
    v2 = FakeEmbedder("v2", compatible_with=("v1",))
    w = open_window(qtbot, named_v1_library, home, detector, v2)
    qtbot.wait(50)
    assert not w.runner.busy and v2.calls == 0  # nothing to redo
    assert models_in(w) == {"v1"} and names(w) == ["Eileen Collins"]
    for i in (20, 21):  # two more photos of her
        save_jpeg(face_photo(i), tmp_path / "more" / f"new_{i}.jpg")
    scanned(qtbot, w, tmp_path / "more")  # new faces get v2 vectors and join the v1 person
    assert models_in(w) == {"v1", "v2"}
    assert w.library.person_by_name("Eileen Collins").face_count == 7
    w.close()


def test_an_incompatible_model_re_embeds_in_the_background_and_keeps_names(
    qtbot, home, detector, named_v1_library
):
    v3 = FakeEmbedder("v3")
    w = open_window(qtbot, named_v1_library, home, detector, v3)
    # It starts by itself (and may finish before a poll sees it busy).
    qtbot.waitUntil(lambda: not w.runner.busy and models_in(w) == {"v3"}, timeout=60_000)
    assert v3.calls > 0
    assert names(w) == ["Eileen Collins"]
    assert w.library.person_by_name("Eileen Collins").face_count == 5
    assert "updated for the new model" in w.status_label.text()
    w.close()
