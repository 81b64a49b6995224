"""How the window behaves on a big library: open, scroll, filter (prints figures).

    QT_QPA_PLATFORM=offscreen python -m photoface.bench.window --faces 20000

Builds a synthetic library (clustering benchmark's faces and grouping, real crops replaced by a
grey JPEG), then times: window construction + first paint, a full scroll of the people grid in
pages, a full scroll of the biggest person's faces, and filtering by name.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--faces", type=int, default=20000)
    ap.add_argument(
        "--library", type=Path, help="time on this library (e.g. bench.clustering --keep's)"
    )
    args = ap.parse_args(argv)
    from photoface.bench.clustering import INFO, bulk_fill, synthetic
    from photoface.core.cluster import ClusterParams
    from photoface.jobs import recluster
    from photoface.library import Library
    from photoface.ui.timing import time_window  # Qt stays in photoface.ui

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.sqlite3"
        if args.library is not None:
            shutil.copyfile(args.library, path)  # the window may write (settings, names)
            with Library(path) as lib:
                args.faces = lib.counts()["faces"]
                for i, p in enumerate(lib.people()[:200]):
                    lib.edits.rename(p.id, f"Person {i:03d}")
        else:
            with Library(path) as lib:
                x, person = synthetic(args.faces)
                bulk_fill(lib, x, person=person)
                recluster(lib, INFO, ClusterParams(1.0))
                for i, p in enumerate(lib.people()[:200]):
                    lib.edits.rename(p.id, f"Person {i:03d}")
        t = time_window(path, Path(tmp), search="Person 1")
    people, person, unsorted = t.people_scroll, t.person_scroll, t.unsorted_scroll
    print(
        f"{args.faces} faces, {t.people} people: window open + first paint {t.open_s:.2f}s; "
        f"people grid scrolled in {people.pages} pages, {people.per_page_ms():.1f} ms a page; "
        f"filter 'Person 1' -> {t.filter_matches} people in {1000 * t.filter_s:.0f} ms; "
        f"biggest person ({t.biggest_faces} faces) opened in {1000 * t.person_open_s:.0f} ms, "
        f"scrolled {person.pages} pages at {person.per_page_ms():.1f} ms a page; "
        f"unsorted ({t.unsorted_faces} faces) opened in {1000 * t.unsorted_open_s:.0f} ms, "
        f"scrolled {unsorted.pages} pages at {unsorted.per_page_ms():.1f} ms a page"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
