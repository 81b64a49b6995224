"""People appear while a scan runs (grouping every few photos) and after a cancel."""

from __future__ import annotations

import threading

from photoface import jobs
from photoface.core.cluster import ClusterParams
from photoface.core.pipeline import ScanOptions
from photoface.jobs import GroupingStarted, LiveGrouping, PeopleGrouped, ScanProgress, drain
from photoface.library import Library
from tests.fakes import FakeEmbedder
from tests.photos import make_album

PARAMS = ClusterParams(0.9, 3)
OPTIONS = ScanOptions(batch_photos=2)  # faces stored every two photos
EVERY_3 = LiveGrouping(photos=3, seconds=1e9)


def partition(lib: Library) -> set[frozenset[str]]:
    """The people as sets of photo file names (ids differ between libraries)."""
    return {
        frozenset(f.path.rsplit("/", 1)[-1] for f in lib.faces_of_person(p.id))
        for p in lib.people()
    }


def test_people_appear_while_the_scan_runs_and_end_as_one_grouping_would(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=12, broken=False)
    seen: list[tuple[int, int, int]] = []  # (photos done, of total, people in the library then)
    kinds: list[type] = []

    def watch(p):
        kinds.append(type(p))
        if isinstance(p, ScanProgress):
            seen.append((p.done, p.total, len(lib.people())))

    job = jobs.scan_folder(
        lib, tmp_path / "album", detector, FakeEmbedder(), PARAMS, None, OPTIONS, EVERY_3
    )
    result = drain(job, watch)
    assert any(people > 0 and done < total for done, total, people in seen), seen
    assert kinds.count(PeopleGrouped) >= 2 and kinds[-1] is GroupingStarted
    assert result.grouping is not None and not result.scan.cancelled
    # The same photos scanned with one grouping at the end make the same people.
    with Library(tmp_path / "once.sqlite3") as once:
        drain(jobs.scan_folder(once, tmp_path / "album", detector, FakeEmbedder(), PARAMS))
        assert partition(lib) == partition(once) and partition(lib)


def test_after_a_cancel_the_faces_found_so_far_are_grouped(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=10, broken=False)
    cancel = threading.Event()

    def press_cancel(p):
        if isinstance(p, ScanProgress) and p.done == 5:
            cancel.set()

    live = LiveGrouping(photos=1000, seconds=1e9)  # no grouping before the cancel
    job = jobs.scan_folder(
        lib, tmp_path / "album", detector, FakeEmbedder(), PARAMS, cancel, OPTIONS, live
    )
    result = drain(job, press_cancel)
    assert result.scan.cancelled and result.scan.done == 5
    assert result.grouping is not None and result.grouping.people == 1
    (person,) = lib.people()
    assert lib.counts()["faces"] == 4 and person.face_count >= 3  # sky.jpg has none


def test_a_rescan_with_nothing_new_does_not_group_live(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=6, broken=False)
    drain(jobs.scan_folder(lib, tmp_path / "album", detector, FakeEmbedder(), PARAMS))
    steps: list[object] = []
    job = jobs.scan_folder(
        lib, tmp_path / "album", detector, FakeEmbedder(), PARAMS, None, OPTIONS, EVERY_3
    )
    drain(job, steps.append)
    assert not any(isinstance(s, PeopleGrouped) for s in steps)
