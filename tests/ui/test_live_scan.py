"""People appear on the People page while the first scan runs, and after Cancel."""

from __future__ import annotations

import pytest

from photoface.jobs import LiveGrouping, ScanProgress
from photoface.jobs.scan import PeopleGrouped
from tests.photos import make_album
from tests.ui.test_window import drop_folder

pytestmark = pytest.mark.gui


def watch_scan(window, monkeypatch, on_progress=None) -> list[tuple[str, int, bool]]:
    """(what, people tiles shown, People page shown) after each step the window shows: "scan"
    for scan progress, "grouped" for a grouping made while the scan runs (the scan yields it
    only before its last photo; the worker passes it on unthrottled, unlike scan progress)."""
    seen: list[tuple[str, int, bool]] = []
    shown = window.scanning.progress

    def watch(p):
        shown(p)
        page = window.stack.currentWidget() is window.people_page
        if isinstance(p, ScanProgress | PeopleGrouped):
            what = "grouped" if isinstance(p, PeopleGrouped) else "scan"
            seen.append((what, window.people_model.rowCount(), page))
        if isinstance(p, ScanProgress) and on_progress is not None:
            on_progress(p)

    monkeypatch.setattr(window.scanning, "progress", watch)
    return seen


def test_people_appear_while_the_first_scan_runs(qtbot, window, tmp_path, monkeypatch):
    make_album(tmp_path / "album", n_faces=40, broken=False)
    window.scanning.live = LiveGrouping(photos=3, seconds=1e9)
    seen = watch_scan(window, monkeypatch)
    drop_folder(window, tmp_path / "album")
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=120_000)
    during = [s for s in seen if s[0] == "grouped"]
    assert any(people > 0 and page for _, people, page in during), seen
    assert window.people_model.rowCount() >= 1
    assert window.status_label.text().startswith("Done: 41/41 photos")


def test_after_cancel_the_faces_found_so_far_are_people(qtbot, window, tmp_path, monkeypatch):
    make_album(tmp_path / "album", n_faces=40, broken=False)
    window.scanning.live = LiveGrouping(photos=1000, seconds=1e9)  # none before the cancel

    def cancel_at_20(p):
        if p.done >= 20:
            window.runner.cancel()

    watch_scan(window, monkeypatch, cancel_at_20)
    drop_folder(window, tmp_path / "album")
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=120_000)
    assert window.status_label.text().startswith("Cancelled:")
    assert window.stack.currentWidget() is window.people_page
    assert window.people_model.rowCount() >= 1
    faces = window.library.counts()["faces"]
    assert 16 <= faces < 40
    assert window.people_model.index(0).data().endswith("faces")
