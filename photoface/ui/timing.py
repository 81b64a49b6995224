"""Times the real window on a library: open, scroll, filter, open a person (for the window
benchmark, `python -m photoface.bench.window`, which builds the library and prints)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QAbstractItemView, QApplication

from photoface.settings import Settings
from photoface.ui.main_window import MainWindow


@dataclass(frozen=True)
class Scroll:
    seconds: float
    pages: int

    def per_page_ms(self) -> float:
        return 1000 * self.seconds / max(self.pages, 1)


@dataclass(frozen=True)
class WindowTimings:
    people: int  # rows of the people grid
    open_s: float  # window construction + first paint
    people_scroll: Scroll
    filter_s: float
    filter_matches: int
    biggest_faces: int
    person_open_s: float
    person_scroll: Scroll
    unsorted_faces: int
    unsorted_open_s: float
    unsorted_scroll: Scroll


def _scroll(app: QApplication, view: QAbstractItemView) -> Scroll:
    bar = view.verticalScrollBar()
    t = time.perf_counter()
    view.doItemsLayout()  # a freshly reset model lays out lazily; count that in the time
    pages, still = 0, 0
    while still < 3:  # the grid lays out in batches: the end moves until it is done
        if bar.value() < bar.maximum():
            bar.setValue(bar.value() + bar.pageStep())
            view.viewport().repaint()
            pages, still = pages + 1, 0
        else:
            still += 1
        app.processEvents()
    return Scroll(time.perf_counter() - t, pages)


def time_window(library: Path, data_dir: Path, search: str) -> WindowTimings:
    """Open the window on `library`, scroll the people, filter by `search`, open the biggest
    person and the unsorted faces, scrolling each; the window is closed afterwards."""
    app = QApplication.instance() or QApplication([])
    t0 = time.perf_counter()
    w = MainWindow(library, Settings(), data_dir, embedder_factory=lambda: None)
    w.resize(1280, 800)
    w.show()
    app.processEvents()
    open_s = time.perf_counter() - t0
    rows = w.people_model.rowCount()
    people_scroll = _scroll(app, w.people_page.view)
    t = time.perf_counter()
    w.people_page.search.setText(search)
    app.processEvents()
    filter_s = time.perf_counter() - t
    matches = w.people_model.rowCount()
    w.people_page.search.clear()
    biggest = w.library.people()[0]
    t = time.perf_counter()
    w.open_person(biggest.id)
    app.processEvents()
    person_open_s = time.perf_counter() - t
    person_scroll = _scroll(app, w.person_page.view)
    t = time.perf_counter()
    w.open_person(None)  # the Unsorted section: the longest face list
    app.processEvents()
    unsorted_open_s = time.perf_counter() - t
    unsorted = w.faces_model.rowCount()
    unsorted_scroll = _scroll(app, w.person_page.view)
    w.close()
    return WindowTimings(
        people=rows,
        open_s=open_s,
        people_scroll=people_scroll,
        filter_s=filter_s,
        filter_matches=matches,
        biggest_faces=biggest.face_count,
        person_open_s=person_open_s,
        person_scroll=person_scroll,
        unsorted_faces=unsorted,
        unsorted_open_s=unsorted_open_s,
        unsorted_scroll=unsorted_scroll,
    )
