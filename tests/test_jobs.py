"""The jobs layer: each job yields typed progress and returns its typed result; a cancel
leaves the library whole; the library and model are opened by one set of rules."""

from __future__ import annotations

import threading

import pytest

from photoface import jobs, paths
from photoface.core.cluster import ClusterParams
from photoface.errors import LibraryError
from photoface.jobs import (
    EmbedProgress,
    GroupingResult,
    GroupingStarted,
    ReembedResult,
    RegroupResult,
    ScanFolderResult,
    ScanProgress,
    ScanResult,
    drain,
)
from photoface.library import Library
from tests.fakes import FakeEmbedder
from tests.photos import face_photo, make_album, save_jpeg

PARAMS = ClusterParams(threshold=1.0, min_size=3)


def run_job(job):
    """Every yield and the generator's return value (StopIteration.value)."""
    steps = []
    while True:
        try:
            steps.append(next(job))
        except StopIteration as stop:
            return steps, stop.value


def test_scan_yields_progress_per_photo_and_returns_its_result(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=3)
    steps, result = run_job(jobs.scan(lib, tmp_path / "album", detector, FakeEmbedder()))
    assert all(type(p) is ScanProgress for p in steps)
    assert [p.done for p in steps] == list(range(1, 8))  # 3 faces, the sky, 3 broken files
    assert type(result) is ScanResult and not result.cancelled
    assert (result.total, result.new_photos, result.faces, result.errors) == (7, 4, 3, 3)
    assert len(result.error_list) == 3 and lib.counts()["faces"] == 3


def test_scan_folder_embeds_scans_groups_and_returns_all_three(tmp_path, lib, detector):
    make_album(tmp_path / "old", n_faces=3, broken=False)
    drain(jobs.scan(lib, tmp_path / "old", detector, FakeEmbedder("v1")))
    for i in (20, 21):  # two photos of new content
        save_jpeg(face_photo(i), tmp_path / "new" / f"new_{i}.jpg")
    v2 = FakeEmbedder("v2")
    job = jobs.scan_folder(lib, tmp_path / "new", detector, v2, PARAMS)
    steps, result = run_job(job)
    kinds = [type(p) for p in steps]
    # Stale faces first, then the scan, then the grouping, in that order.
    assert kinds == [EmbedProgress] + [ScanProgress] * 2 + [GroupingStarted]
    assert type(result) is ScanFolderResult
    assert result.reembedded == ReembedResult(3, 3, "v2")
    assert result.scan.new_photos == 2 and result.scan.faces == 2
    assert type(result.grouping) is GroupingResult and result.grouping.faces == 5
    assert lib.faces_to_embed(["v2"]) == []
    assert lib.counts()["unsorted"] == 5 - result.grouping.assigned


def test_scan_folder_without_a_model_or_params_does_not_group(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=2, broken=False)
    steps, result = run_job(jobs.scan_folder(lib, tmp_path / "album", detector, None, None))
    assert {type(p) for p in steps} == {ScanProgress}
    assert result.reembedded is None and result.grouping is None and result.scan.faces == 2
    _, again = run_job(jobs.scan_folder(lib, tmp_path / "album", detector, FakeEmbedder(), None))
    assert again.reembedded == ReembedResult(2, 2, "fake-v1") and again.grouping is None
    assert lib.counts()["people"] == 0


def test_reembed_and_regroup_return_their_results(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=4, broken=False)
    drain(jobs.scan(lib, tmp_path / "album", detector, FakeEmbedder("v1")))
    steps, done = run_job(jobs.reembed(lib, FakeEmbedder("v2"), batch=3))
    assert steps == [EmbedProgress(3, 4), EmbedProgress(4, 4)]
    assert done == ReembedResult(embedded=4, total=4, model_id="v2")
    steps, regrouped = run_job(jobs.regroup(lib, FakeEmbedder("v3"), PARAMS))
    assert steps[-1] == GroupingStarted(everything=True)
    assert {type(p) for p in steps[:-1]} == {EmbedProgress}
    assert type(regrouped) is RegroupResult and regrouped.reembedded.embedded == 4
    assert regrouped.grouping is not None and regrouped.grouping.faces == 4


def assert_whole(lib: Library) -> None:
    """The library after a stop: intact, each stored photo with all its faces, each with a
    vector, no face twice."""
    assert lib.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = lib.query("SELECT photo_id, count(*), count(embedding) FROM faces GROUP BY photo_id")
    assert all(n == with_vector == 1 for _, n, with_vector in rows)
    ((photos, contents),) = lib.query("SELECT count(*), count(DISTINCT hash) FROM photos")
    assert photos == contents


def test_a_cancelled_scan_folder_leaves_a_whole_library_and_groups_nothing(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=8, broken=False)
    cancel = threading.Event()
    from photoface.core.pipeline import ScanOptions

    job = jobs.scan_folder(
        lib,
        tmp_path / "album",
        detector,
        FakeEmbedder(),
        PARAMS,
        cancel,
        ScanOptions(batch_photos=3),
    )

    def press_cancel(p):
        if isinstance(p, ScanProgress) and p.done == 4:
            cancel.set()

    result = drain(job, press_cancel)
    assert result.scan.cancelled and result.scan.done == 4 and result.grouping is None
    assert lib.counts()["photos"] == 4 and lib.counts()["people"] == 0
    assert_whole(lib)
    again = drain(jobs.scan_folder(lib, tmp_path / "album", detector, FakeEmbedder(), PARAMS))
    assert again.scan.unchanged == 4 and again.scan.new_photos == 5
    assert lib.counts()["faces"] == 8 and again.grouping is not None
    assert_whole(lib)


def test_a_regroup_cancelled_while_re_embedding_groups_nothing(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=4, broken=False)
    drain(jobs.scan_folder(lib, tmp_path / "album", detector, FakeEmbedder("v1"), PARAMS))
    people = lib.query("SELECT id, person_id FROM faces ORDER BY id")
    cancel = threading.Event()
    cancel.set()  # pressed as it starts (one batch holds all four faces)
    result = drain(jobs.regroup(lib, FakeEmbedder("v2"), PARAMS, cancel))
    assert result.grouping is None and result.reembedded.cancelled
    assert result.reembedded.embedded == 0 < result.reembedded.total == 4
    assert lib.query("SELECT id, person_id FROM faces ORDER BY id") == people
    assert len(lib.faces_to_embed(["v2"])) == 4


def test_open_library_creates_only_when_asked_and_makes_only_the_default_folder(tmp_path):
    elsewhere = tmp_path / "lib.sqlite3"
    with pytest.raises(LibraryError, match=r"^no library at .*: scan a folder into it first"):
        jobs.open_library(elsewhere, create=False)
    unplugged = tmp_path / "drive" / "lib.sqlite3"
    with pytest.raises(LibraryError, match="does not exist .*nothing was written"):
        jobs.open_library(unplugged, create=True)
    assert not elsewhere.exists() and not unplugged.parent.exists()
    with jobs.open_library(elsewhere, create=True) as made:
        assert made.path == elsewhere


def test_open_library_makes_the_default_folder_even_to_read(tmp_path, monkeypatch):
    default = tmp_path / "data" / "library.sqlite3"
    monkeypatch.setattr(paths, "default_library_path", lambda: default)
    with jobs.open_library(default, create=False):
        assert default.is_file()


def test_open_library_says_why_a_file_cannot_be_used(tmp_path, monkeypatch):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    default = blocker / "library.sqlite3"
    monkeypatch.setattr(paths, "default_library_path", lambda: default)
    with pytest.raises(LibraryError, match=r"^cannot use .*library.sqlite3 as the library: "):
        jobs.open_library(default, create=True)
    assert blocker.read_text() == "a file where the data folder should be"


def test_library_path_explicit_then_settings_then_default(tmp_path):
    from photoface.settings import Settings

    conf = Settings()
    assert jobs.library_path(conf) == paths.default_library_path()
    conf.library = "~/pf.sqlite3"
    assert jobs.library_path(conf).name == "pf.sqlite3" and "~" not in str(jobs.library_path(conf))
    assert jobs.library_path(conf, str(tmp_path / "x.sqlite3")) == tmp_path / "x.sqlite3"


def test_optional_embedder_is_none_without_a_model(tmp_path, monkeypatch, tiny_model):
    monkeypatch.setattr(paths, "bundled_models_dir", lambda: tmp_path)
    assert jobs.optional_embedder() is None
    monkeypatch.setenv("PHOTOFACE_MODEL", str(tiny_model))
    assert jobs.optional_embedder().path == tiny_model
