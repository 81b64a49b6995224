"""Shared by the CLI tests: a small library with people, its stored state, the CLI in a
subprocess."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np

from photoface.library import Library
from tests.fakes import fill_library, people_embeddings

ROOT = Path(__file__).resolve().parents[1]


def make_library(path: Path, n_people: int = 3, per_person: int = 3) -> Path:
    """A library with `n_people` unnamed people of `per_person` faces each (ids 1..n)."""
    with Library(path) as lib:
        x, labels = people_embeddings(n_people, per_person)
        fill_library(lib, x, np.arange(len(labels)))
        face_ids = np.array([r[0] for r in lib.query("SELECT id FROM faces ORDER BY id")])
        lib.write_clustering(face_ids, -1 - labels)
    return path


def stored_state(path: Path) -> dict[str, object]:
    """What a bad command must leave as it was: the counts, every person, the edit log."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        one = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
        return {
            "photos": one("SELECT count(*) FROM photos"),
            "faces": one("SELECT id, person_id, locked, removed FROM faces ORDER BY id"),
            "people": one("SELECT id, name, hidden FROM people ORDER BY id"),
            "ops": one("SELECT count(*) FROM ops"),
        }
    finally:
        conn.close()


def run_cli(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m photoface ARGS` in a fresh process, this checkout first on the path."""
    full_env = {**os.environ, "PHOTOFACE_HOME": str(home), "PYTHONPATH": str(ROOT)}
    full_env.pop("PHOTOFACE_MODEL", None)
    full_env.update(env or {})
    command = [sys.executable, "-m", "photoface", *args]
    return subprocess.run(command, env=full_env, cwd=ROOT, capture_output=True, text=True)


def assert_one_line_error(err: str, *words: str) -> None:
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("photoface: error: "), err
    for w in words:
        assert w in lines[0], err
