"""Scans in worker processes: the same faces as one process, errors and RAW files recorded the
same way, Cancel and a closed scan stop every worker, a killed scan leaves none, no Qt in them."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from photoface.bench import formats
from photoface.core.embed import OnnxEmbedder
from photoface.core.pipeline import ScanOptions
from photoface.jobs import drain, scan, scan_workers
from photoface.jobs.scan_workers import WorkerPool, model_spec
from photoface.library import Library
from tests.fakes import FakeEmbedder
from tests.photos import face_photo, save_jpeg, two_faces_photo
from tests.test_kill import stored_photos

ONE = ScanOptions(workers=1)
TWO = ScanOptions(workers=2, parallel_from=0)


def make_folder(root: Path, n: int = 10) -> Path:
    """Face photos, one with two faces, one without, a copy, a broken file."""
    for i in range(n):
        save_jpeg(face_photo(i), root / f"p{i:02d}.jpg")
    save_jpeg(two_faces_photo(), root / "two.jpg")
    save_jpeg(np.full((240, 320, 3), 200, np.uint8), root / "sky.jpg")
    (root / "copy.jpg").write_bytes((root / "p03.jpg").read_bytes())
    (root / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return root


def stored(db: Path) -> tuple[list[tuple], np.ndarray]:
    """(photo, box, model) of every face, in path order, and their int8 vectors."""
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT p.path, f.x, f.y, f.w, f.h, f.model_id, f.embedding FROM faces f"
        " JOIN photos p ON p.id = f.photo_id ORDER BY p.path, f.x"
    ).fetchall()
    conn.close()
    faces = [(Path(r[0]).name, *(round(v, 3) for v in r[1:5]), r[5]) for r in rows]
    codes = np.stack([np.frombuffer(r[6], np.int8) for r in rows]).astype(int)
    return faces, codes


@pytest.fixture
def embedder(tiny_model: Path) -> OnnxEmbedder:
    return OnnxEmbedder(tiny_model, threads=1)


def test_two_workers_store_what_one_process_stores(tmp_path, detector, embedder):
    folder = make_folder(tmp_path / "photos")
    results = {}
    for name, options in (("one", ONE), ("two", TWO)):
        with Library(tmp_path / f"{name}.sqlite3") as lib:
            results[name] = drain(scan(lib, folder, detector, embedder, options=options))
            errors = lib.scan_errors()
        assert [Path(p).name for p, _ in errors] == ["broken.jpg"]
    one, two = results["one"], results["two"]
    counts = ("total", "new_photos", "faces", "moved", "errors")
    assert [getattr(two, k) for k in counts] == [getattr(one, k) for k in counts]
    assert (two.total, two.faces, two.moved, two.errors) == (14, 12, 1, 1)
    faces_one, codes_one = stored(tmp_path / "one.sqlite3")
    faces_two, codes_two = stored(tmp_path / "two.sqlite3")
    assert faces_two == faces_one
    # Embedded per photo in a worker, in batches of many photos in one process: the float
    # sums may differ in their last bit, so a code may move by one step of the int8 scale.
    assert np.abs(codes_two - codes_one).max() <= 1


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_workers_option_is_refused_before_anything_is_scanned(tmp_path, capsys, value):
    from photoface.cli import main

    save_jpeg(face_photo(0), tmp_path / "photos" / "a.jpg")
    with pytest.raises(SystemExit) as e:
        main(["scan", str(tmp_path / "photos"), "--workers", value])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--workers: must be a whole number from 1 to" in err and "Traceback" not in err


def test_a_raw_file_is_scanned_by_a_worker(tmp_path, detector, embedder, lib):
    pytest.importorskip("rawpy")
    pytest.importorskip("tifffile")
    pytest.importorskip("imagecodecs")
    from PIL import Image

    face = np.asarray(Image.fromarray(face_photo(0)).resize((960, 720)))
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.dng").write_bytes(
        formats.dng_with_preview(face, preview_side=480, orientation=6)
    )
    save_jpeg(face, tmp_path / "photos" / "b.jpg")
    result = drain(scan(lib, tmp_path / "photos", detector, embedder, options=TWO))
    assert (result.new_photos, result.faces, result.errors) == (2, 2, 0)
    # The DNG holds the photo turned (orientation 6) with a half-size preview: its face box,
    # mapped back to the upright sensor's pixels, lands on the JPEG's.
    boxes = {}
    for name in ("a.dng", "b.jpg"):
        photo = lib.photo_by_path(str(tmp_path / "photos" / name))
        assert photo is not None and (photo.width, photo.height) == (960, 720)
        (face_,) = lib.faces_of_photo(photo.id)
        boxes[name] = np.array(face_.box)
    assert np.abs(boxes["a.dng"] - boxes["b.jpg"]).max() < 0.02 * 960


def test_new_photos_among_many_unchanged_are_all_scanned(
    tmp_path, detector, embedder, lib, monkeypatch
):
    """A rescan finds a few new photos between known ones, past how far it looks ahead: each
    batch is handed out even when it has not filled up."""
    folder = tmp_path / "photos"
    for i in range(30):
        save_jpeg(face_photo(i), folder / f"p{i:02d}.jpg")
    drain(scan(lib, folder, detector, embedder, options=ONE))
    for name, variant in (("p05a", 40), ("p17a", 41), ("p29a", 42)):
        save_jpeg(face_photo(variant), folder / f"{name}.jpg")
    monkeypatch.setattr(scan_workers, "BATCH_PHOTOS", 4)
    monkeypatch.setattr(scan_workers, "BATCH_BYTES", 1 << 40)
    monkeypatch.setattr(scan_workers, "LOOKAHEAD", 0)
    again = drain(scan(lib, folder, detector, embedder, options=TWO))
    assert (again.unchanged, again.new_photos, again.faces) == (30, 3, 3)
    assert lib.counts()["faces"] == 33


def scan_until(lib, folder, detector, embedder, stop_after: int, how: str):
    """Start a 2-worker scan and stop it (Cancel or close) after `stop_after` photos."""
    cancel = threading.Event()
    job = scan(lib, folder, detector, embedder, cancel, options=TWO)
    for p in job:
        if p.done == stop_after:
            assert multiprocessing.active_children(), "the workers are running"
            if how == "close":
                job.close()
                return None
            cancel.set()
    return None


@pytest.mark.parametrize("how", ["cancel", "close"])
def test_stopping_a_scan_stops_its_workers_and_keeps_what_came_back(
    tmp_path, detector, embedder, lib, how
):
    folder = tmp_path / "photos"
    for i in range(40):
        save_jpeg(face_photo(i), folder / f"p{i:02d}.jpg")
    scan_until(lib, folder, detector, embedder, 3, how)
    assert multiprocessing.active_children() == []
    kept = lib.counts()["photos"]
    assert 3 <= kept < 40
    again = drain(scan(lib, folder, detector, embedder, options=TWO))
    assert (again.unchanged, again.new_photos) == (kept, 40 - kept)
    assert multiprocessing.active_children() == []
    assert lib.counts()["photos"] == lib.counts()["faces"] == 40


def test_models_only_this_process_holds_scan_in_this_process(tmp_path, detector, lib):
    make_folder(tmp_path / "photos")
    assert model_spec(detector, FakeEmbedder()) is None
    job = scan(lib, tmp_path / "photos", detector, FakeEmbedder(), options=TWO)
    next(job)
    assert multiprocessing.active_children() == []
    assert drain(job).faces == 12


def _modules_loaded() -> list[str]:
    return sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))


def test_workers_load_no_qt_even_when_the_window_has(detector, embedder):
    pytest.importorskip("PySide6.QtCore")
    import PySide6.QtCore  # noqa: F401  (the window's process has Qt loaded)

    spec = model_spec(detector, embedder)
    assert spec is not None
    pool = WorkerPool(spec, set(), TWO, workers=1)
    try:
        assert pool._pool is not None
        assert pool._pool.apply(_modules_loaded) == []
    finally:
        pool.terminate()


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")
def test_a_killed_scan_leaves_no_worker_behind(tmp_path, tiny_model):
    album = tmp_path / "album"
    for i in range(200):
        save_jpeg(face_photo(i), album / f"p{i:03d}.jpg")
    env = dict(os.environ, PHOTOFACE_HOME=str(tmp_path / "home"), PHOTOFACE_MODEL=str(tiny_model))
    cmd = [sys.executable, "-m", "photoface", "scan", str(album), "-q", "--workers", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "home" / "library.sqlite3"
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if stored_photos(db):
                workers = children_of(proc.pid)
                break
            time.sleep(0.02)
        assert len(workers) >= 2, "the scan ran in worker processes"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    # Each worker sees its task pipe close and exits; a hang would leave it here for good.
    deadline = time.monotonic() + 60
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [w for w in workers if alive(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert left == []
