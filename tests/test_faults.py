"""A fault corpus the tests make: every bad file is recorded with a reason or scanned right, and
the scan never stops. Plus two scans of one library at once."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photoface.core.detect import make_detector
from photoface.core.pipeline import scan
from photoface.store import Library
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
        c[f"orient{o}.jpg"] = (save_jpeg(face_photo(10 + o), root / f"orient{o}.jpg",
                                         orientation=o), "ok")  # fmt: skip
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
        last = list(scan(lib, tmp_path / "corpus", make_detector("yunet"), FakeEmbedder()))[-1]
        assert last.finished and last.done == last.total == len(corpus)
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
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]  # fmt: skip
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        # Each either finishes or says clearly that the library is busy; never a traceback.
        assert p.returncode == 0 or "busy" in err, err
        assert "Traceback" not in err
    conn = sqlite3.connect(tmp_path / "home" / "library.sqlite3")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*), count(DISTINCT hash) FROM photos").fetchone() == (30, 30)
    assert conn.execute("SELECT count(*) FROM faces").fetchone()[0] == 30
