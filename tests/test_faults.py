"""A fault corpus the tests make: every bad file is recorded with a reason or scanned right, and
the scan never stops. Plus two scans of one library at once."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoface.core.detect import make_detector
from photoface.jobs import drain, scan
from photoface.library import Library
from tests.fakes import FakeEmbedder, astronaut
from tests.photos import encode, face_photo, png_with_size, save_jpeg


def build_corpus(root: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, expected outcome): 'face' (scanned, one face), 'ok' (scanned) or an
    error-reason fragment."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    c: dict[str, tuple[Path, str]] = {}

    def put(name: str, data: bytes, expect: str) -> None:
        p = root / name
        p.write_bytes(data)
        c[name] = (p, expect)

    good = encode(face_photo(0), "JPEG")
    put("zero.jpg", b"", "empty")
    put("truncated.jpg", good[: len(good) // 3], "decode")
    put("png-named.jpg", encode(face_photo(1), "PNG"), "face")  # wrong extension: still read
    put("random.jpg", rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(), "not an image")
    put("bomb.png", png_with_size(30_000, 30_000), "too many pixels")
    face = face_photo(2)
    deep = (face.astype(np.uint16) * 257).mean(axis=2).astype(np.uint16)
    buf = Path(root / "deep16.png")
    Image.fromarray(deep).save(buf)
    c["deep16.png"] = (buf, "face")
    Image.fromarray(face_photo(3)).convert("CMYK").save(root / "cmyk.jpg")
    c["cmyk.jpg"] = (root / "cmyk.jpg", "face")
    Image.fromarray(face_photo(4)).convert("P", palette=Image.Palette.ADAPTIVE).save(
        root / "palette.png"
    )
    c["palette.png"] = (root / "palette.png", "face")
    rgba = np.dstack([face_photo(5), np.full((480, 480), 200, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(root / "alpha.png")
    c["alpha.png"] = (root / "alpha.png", "face")
    frames = [Image.fromarray(face_photo(6)), Image.fromarray(face_photo(7)[::-1])]
    frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:], duration=50)
    c["anim.gif"] = (root / "anim.gif", "face")
    for o in range(1, 9):
        path = save_jpeg(face_photo(10 + o), root / f"orient{o}.jpg", orientation=o)
        c[path.name] = (path, "ok")
    pano = np.tile(np.asarray(Image.fromarray(astronaut()).resize((400, 400))), (1, 50, 1))
    c["panorama.jpg"] = (save_jpeg(pano, root / "panorama.jpg", quality=70), "ok")  # 20,000 px
    c["locked.jpg"] = (save_jpeg(face_photo(20), root / "locked.jpg"), "permission denied")
    (root / "dangling.jpg").symlink_to(root / "gone.jpg")
    c["dangling.jpg"] = (root / "dangling.jpg", "not found")
    (root / "loop_a.jpg").symlink_to(root / "loop_b.jpg")
    (root / "loop_b.jpg").symlink_to(root / "loop_a.jpg")
    c["loop_a.jpg"] = (root / "loop_a.jpg", "cannot read")
    c["loop_b.jpg"] = (root / "loop_b.jpg", "cannot read")
    odd = os.fsdecode(b"caf\xe9-latin1.jpg")  # a name that is not UTF-8
    c["latin1"] = (save_jpeg(face_photo(21), root / odd), "face")
    long_name = "x" * 240 + ".jpg"
    c["long"] = (save_jpeg(face_photo(22), root / long_name), "face")
    return c


@pytest.fixture
def deny_locked(monkeypatch):
    """Root reads any file, so 'unreadable' is simulated at the one place files are read."""
    from photoface import fileio

    real = fileio.read_regular

    def read_regular(path: Path | str, max_bytes: int = fileio.MAX_READ_BYTES) -> bytes:
        if Path(path).name == "locked.jpg":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, max_bytes)

    monkeypatch.setattr(fileio, "read_regular", read_regular)


def test_every_fault_is_recorded_or_scanned_and_the_scan_goes_on(tmp_path, deny_locked):
    corpus = build_corpus(tmp_path / "corpus")
    with Library(tmp_path / "lib.sqlite3") as lib:
        last = drain(scan(lib, tmp_path / "corpus", make_detector("yunet"), FakeEmbedder()))
        assert not last.cancelled and last.done == last.total == len(corpus)
        errors = dict(lib.scan_errors())
        stored = {p.path: p for p in lib.photos()}
        for name, (path, expect) in corpus.items():
            key = os.path.abspath(path)
            if expect in ("face", "ok"):
                assert key in stored, f"{name} should have been scanned: {errors.get(key)}"
                if expect == "face":
                    assert len(lib.faces_of_photo(stored[key].id)) == 1, name
            else:
                assert expect in errors.get(key, ""), f"{name}: {errors.get(key)}"
        pano = stored[os.path.abspath(corpus["panorama.jpg"][0])]
        assert (pano.width, pano.height) == (20_000, 400)
        assert lib.counts()["faces"] >= 8


def test_two_scans_of_one_library_at_once_store_each_photo_once(tmp_path, tiny_model):
    album = tmp_path / "album"
    for i in range(30):
        save_jpeg(face_photo(i), album / f"p{i:02d}.jpg")
    env = dict(os.environ, PHOTOFACE_HOME=str(tmp_path / "home"), PHOTOFACE_MODEL=str(tiny_model))
    cmd = [sys.executable, "-m", "photoface", "scan", str(album), "-q"]
    procs = [
        subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        # Each either finishes or says clearly that the library is busy; never a traceback.
        assert p.returncode == 0 or "busy" in err, err
        assert "Traceback" not in err
    conn = sqlite3.connect(tmp_path / "home" / "library.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*), count(DISTINCT hash) FROM photos").fetchone() == (30, 30)
    assert conn.execute("SELECT count(*) FROM faces").fetchone()[0] == 30


def _limit_memory() -> None:
    """In the child: a reader that slurps /dev/zero hits MemoryError, not the machine's RAM."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))


def test_fifos_devices_and_huge_files_are_recorded_and_the_scan_finishes(tmp_path, tiny_model):
    album = tmp_path / "album"
    save_jpeg(face_photo(0), album / "a.jpg")
    os.mkfifo(album / "b_fifo.jpg")  # nothing ever writes to it: reading it would wait forever
    (album / "c_zero.jpg").symlink_to("/dev/zero")  # endless bytes
    with open(album / "d_huge.jpg", "wb") as f:
        f.truncate(600 << 20)  # sparse: over the size cap without using the disk
    save_jpeg(face_photo(1), album / "e.jpg")
    photos = {p: p.read_bytes() for p in (album / "a.jpg", album / "e.jpg")}
    env = dict(os.environ, PHOTOFACE_HOME=str(tmp_path / "home"), PHOTOFACE_MODEL=str(tiny_model))
    cmd = [sys.executable, "-m", "photoface", "scan", str(album), "-q", "--no-cluster"]
    try:
        # A hang fails the test (and the scan is killed) instead of hanging the suite.
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory
        )
    finally:
        with contextlib.suppress(OSError):  # let a reader stuck on the FIFO go
            os.close(os.open(album / "b_fifo.jpg", os.O_WRONLY | os.O_NONBLOCK))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    with Library(tmp_path / "home" / "library.sqlite3") as lib:
        errors = dict(lib.scan_errors())
        assert "not a regular file (a FIFO)" in errors[str(album / "b_fifo.jpg")]
        assert "not a regular file (a device)" in errors[str(album / "c_zero.jpg")]
        assert "too large" in errors[str(album / "d_huge.jpg")]
        assert {p.path for p in lib.photos()} == {str(album / "a.jpg"), str(album / "e.jpg")}
        assert lib.counts()["faces"] == 2
    assert all(p.read_bytes() == data for p, data in photos.items())
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "5 unchanged" in again.stdout, "recorded, not read again"


class FullDiskLibrary(Library):
    """A library whose disk fills up after a few more pages (SQLite's max_page_count)."""

    def __init__(self, path: Path | str, **kw: bool) -> None:
        super().__init__(path, **kw)
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        self.conn.execute(f"PRAGMA max_page_count = {pages + 12}")


class ReadOnlyLibrary(Library):
    """A library file SQLite can only read (as a read-only file is, for a user who is not root)."""

    def __init__(self, path: Path | str, **kw: bool) -> None:
        super().__init__(path, **kw)
        self.db.conn.close()
        self.db.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None)


def _library_state(db: Path) -> tuple:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    state = (
        conn.execute("SELECT id, hash FROM photos ORDER BY id").fetchall(),
        conn.execute("SELECT id, photo_id, person_id, embedding FROM faces ORDER BY id").fetchall(),
    )
    conn.close()
    return state


FAKE_DISKS = [(FullDiskLibrary, "is full"), (ReadOnlyLibrary, "read-only")]


@pytest.mark.parametrize(("fake", "message"), FAKE_DISKS)
def test_a_full_disk_or_a_read_only_library_stops_the_scan_clearly(
    tmp_path, with_model, monkeypatch, capsys, fake, message
):
    import photoface.cli as cli
    from photoface.jobs import opening  # where every command opens its library

    first, second = tmp_path / "first", tmp_path / "second"
    for i in range(3):
        save_jpeg(face_photo(i), first / f"p{i}.jpg")
    for i in range(3, 23):
        save_jpeg(face_photo(i), second / f"p{i}.jpg")
    assert cli.main(["scan", str(first), "-q"]) == 0
    db = Path(os.environ["PHOTOFACE_HOME"]) / "library.sqlite3"
    stored = _library_state(db)
    capsys.readouterr()

    monkeypatch.setattr(opening, "Library", fake)
    assert cli.main(["scan", str(second), "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("photoface: error: ") and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    photos, faces = _library_state(db)
    assert set(photos) >= set(stored[0]) and set(faces) >= set(stored[1]), "nothing lost"

    monkeypatch.setattr(opening, "Library", Library)
    assert cli.main(["scan", str(second), "-q"]) == 0
    photos, faces = _library_state(db)
    assert len(photos) == len({h for _, h in photos}) == 23 and len(faces) == 23
