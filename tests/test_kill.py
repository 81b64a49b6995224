"""A scan process killed with SIGKILL at random points resumes with nothing lost or doubled."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.photos import face_photo, save_jpeg

pytestmark = pytest.mark.slow


def stored_photos(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1)
        n = conn.execute("SELECT count(*) FROM photos").fetchone()[0]
        conn.close()
        return n
    except sqlite3.Error:
        return 0


def scan_cmd(album: Path, workers: str = "1") -> list[str]:
    cli = [sys.executable, "-m", "photoface", "scan", str(album), "-q", "--no-cluster"]
    return cli + ["--workers", workers]


def kill_scans(
    album: Path, env: dict[str, str], db: Path, runs: int, seed: int, workers: str = "1"
) -> int:
    """Start scans and SIGKILL each once it has stored something new; returns kills made."""
    rng = np.random.default_rng(seed)
    kills = 0
    for _ in range(runs):
        before = stored_photos(db)
        proc = subprocess.Popen(
            scan_cmd(album, workers), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 60
        target = before + int(rng.integers(1, 4))
        while proc.poll() is None and time.monotonic() < deadline:
            if stored_photos(db) >= target:
                time.sleep(float(rng.uniform(0, 0.05)))  # somewhere inside the next photo
                os.kill(proc.pid, signal.SIGKILL)
                kills += 1
                break
            time.sleep(0.005)
        proc.wait(timeout=60)
    return kills


@pytest.mark.parametrize("workers", ["1", "2"])
def test_killed_scans_resume_with_every_photo_and_face_once(tmp_path, tiny_model, workers):
    album = tmp_path / "album"
    n = 400
    for i in range(n):
        save_jpeg(face_photo(i), album / f"p{i:03d}.jpg")
    env = dict(os.environ, PHOTOFACE_HOME=str(tmp_path / "home"), PHOTOFACE_MODEL=str(tiny_model))
    db = tmp_path / "home" / "library.sqlite3"
    kills = kill_scans(album, env, db, runs=10, seed=0, workers=workers)
    # The user works between two crashes: groups what is there and names someone.
    cli = [sys.executable, "-m", "photoface"]
    subprocess.run(
        cli + ["recluster", "--threshold", "3.9"], env=env, check=True, capture_output=True
    )
    conn = sqlite3.connect(db)
    pid = conn.execute("SELECT person_id FROM faces WHERE person_id IS NOT NULL").fetchone()[0]
    named = {r[0] for r in conn.execute("SELECT id FROM faces WHERE person_id = ?", (pid,))}
    conn.close()
    subprocess.run(cli + ["name", str(pid), "Ada"], env=env, check=True, capture_output=True)
    kills += kill_scans(album, env, db, runs=10, seed=1, workers=workers)
    assert kills >= 20
    assert stored_photos(db) < n
    subprocess.run(scan_cmd(album, workers), env=env, check=True, capture_output=True)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*), count(DISTINCT hash) FROM photos").fetchone() == (n, n)
    per_photo = conn.execute("SELECT photo_id, count(*) FROM faces GROUP BY photo_id").fetchall()
    assert len(per_photo) == n and all(c == 1 for _, c in per_photo)
    assert conn.execute("SELECT name FROM people WHERE id = ?", (pid,)).fetchone() == ("Ada",)
    rows = conn.execute("SELECT id FROM faces WHERE person_id = ? AND locked = 1", (pid,))
    still = {r[0] for r in rows}
    assert still == named


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_stops_a_scan_at_once_and_keeps_what_it_did(tmp_path, tiny_model, workers):
    """SIGINT, as Ctrl+C sends, even with a FIFO (a read that would block) in the folder."""
    album = tmp_path / "album"
    n = 150
    for i in range(n):
        save_jpeg(face_photo(i), album / f"p{i:03d}.jpg")
    os.mkfifo(album / "p003_fifo.jpg")
    env = dict(os.environ, PHOTOFACE_HOME=str(tmp_path / "home"), PHOTOFACE_MODEL=str(tiny_model))
    db = tmp_path / "home" / "library.sqlite3"
    pipes = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = subprocess.Popen(scan_cmd(album, workers), env=env, **pipes)
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and stored_photos(db) == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # a few more photos decoded, waiting to be stored
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)  # a hang fails here rather than hanging
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    done = int(re.search(r"interrupted after (\d+) of 151 photos", err).group(1))
    assert done < 151
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    photos = conn.execute("SELECT count(*) FROM photos").fetchone()[0]
    errors = conn.execute("SELECT count(*) FROM scan_errors").fetchone()[0]
    conn.close()
    assert photos + errors >= done, "every photo the scan got through is stored"
    again = subprocess.run(
        scan_cmd(album, workers), env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*), count(DISTINCT hash) FROM photos").fetchone() == (n, n)
    assert conn.execute("SELECT count(*) FROM faces").fetchone()[0] == n
