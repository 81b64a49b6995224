"""How the window behaves on a big library: open, scroll, filter (prints figures).

    QT_QPA_PLATFORM=offscreen python -m photoface.bench.window --faces 20000

Builds a synthetic library (clustering benchmark's faces and grouping, real crops replaced by a
grey JPEG), then times: window construction + first paint, a full scroll of the people grid in
pages, a full scroll of the biggest person's faces, and filtering by name.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QAbstractItemView


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--faces", type=int, default=20000)
    args = ap.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from photoface.bench.clustering import INFO, bulk_fill, synthetic
    from photoface.core.cluster import ClusterParams
    from photoface.jobs import recluster
    from photoface.library import Library
    from photoface.settings import Settings
    from photoface.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.sqlite3"
        with Library(path) as lib:
            x, person = synthetic(args.faces)
            bulk_fill(lib, x, person=person)
            recluster(lib, INFO, ClusterParams(1.0))
            for i, p in enumerate(lib.people()[:200]):
                lib.edits.rename(p.id, f"Person {i:03d}")
        t0 = time.perf_counter()
        w = MainWindow(path, Settings(), Path(tmp), embedder_factory=lambda: None)
        w.resize(1280, 800)
        w.show()
        app.processEvents()
        t_open = time.perf_counter() - t0
        view = w.people_page.view
        rows = w.people_model.rowCount()

        def scroll(v: QAbstractItemView) -> tuple[float, int]:
            bar = v.verticalScrollBar()
            t = time.perf_counter()
            v.doItemsLayout()  # a freshly reset model lays out lazily; count that in the time
            pages, still = 0, 0
            while still < 3:  # the grid lays out in batches: the end moves until it is done
                if bar.value() < bar.maximum():
                    bar.setValue(bar.value() + bar.pageStep())
                    v.viewport().repaint()
                    pages, still = pages + 1, 0
                else:
                    still += 1
                app.processEvents()
            return time.perf_counter() - t, pages

        t_people, pages = scroll(view)
        t = time.perf_counter()
        w.people_page.search.setText("Person 1")
        app.processEvents()
        t_filter = time.perf_counter() - t
        matched = w.people_model.rowCount()
        w.people_page.search.clear()
        biggest = w.library.people()[0]
        t = time.perf_counter()
        w.open_person(biggest.id)
        app.processEvents()
        t_person = time.perf_counter() - t
        t_faces, face_pages = scroll(w.person_page.view)
        t = time.perf_counter()
        w.open_person(None)  # the Unsorted section: the longest face list
        app.processEvents()
        t_unsorted = time.perf_counter() - t
        n_unsorted = w.faces_model.rowCount()
        t_u, u_pages = scroll(w.person_page.view)
        print(
            f"{args.faces} faces, {rows} people: window open + first paint {t_open:.2f}s; "
            f"people grid scrolled in {pages} pages, {1000 * t_people / max(pages, 1):.1f} ms "
            f"a page; filter 'Person 1' -> {matched} people in {1000 * t_filter:.0f} ms; "
            f"biggest person ({biggest.face_count} faces) opened in {1000 * t_person:.0f} ms, "
            f"scrolled {face_pages} pages at {1000 * t_faces / max(face_pages, 1):.1f} ms a "
            f"page; unsorted ({n_unsorted} faces) opened in {1000 * t_unsorted:.0f} ms, "
            f"scrolled {u_pages} pages at {1000 * t_u / max(u_pages, 1):.1f} ms a page"
        )
        w.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
