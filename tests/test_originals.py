"""The originals are never opened for writing, renamed or removed: a whole session through the
CLI (scan, rescan, names, merges, undo, XMP export and import, JSON export) watched by a Python
audit hook that sees every file the process opens, and every photo checksummed before and after.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from photoface.cli import main
from tests.photos import make_album

WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


class _Watch:
    """Records writes under a folder; the audit hook stays installed, so it is switched off."""

    def __init__(self) -> None:
        self.root: str | None = None
        self.events: list[tuple[str, str]] = []

    def __call__(self, event: str, args: tuple) -> None:
        if self.root is None:
            return
        if event == "open":
            path, mode, flags = args
            if not isinstance(path, str | bytes | os.PathLike):
                return
            writes = (mode is not None and any(c in str(mode) for c in "wax+")) or bool(
                flags & WRITE_FLAGS
            )
            if writes:
                self._note("open for writing", path)
        elif event in ("os.rename", "os.replace"):
            self._note(event, args[1])
            self._note(event + " (source)", args[0])
        elif event in ("os.remove", "os.unlink", "os.truncate", "os.chmod", "os.utime"):
            self._note(event, args[0])

    def _note(self, what: str, path: object) -> None:
        if isinstance(path, int):
            return
        p = os.fsdecode(os.fspath(path))
        if os.path.abspath(p).startswith(self.root):
            self.events.append((what, p))


WATCH = _Watch()
sys.addaudithook(WATCH)


def _checksums(root: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(".xmp")
    }


def _is_ours(path: str) -> bool:
    """What photoface may write beside the photos: sidecars and their temporary files."""
    name = os.path.basename(path)
    return name.endswith(".xmp") or (name.startswith(".") and name.endswith(".tmp"))


@pytest.fixture
def watched(tmp_path):
    album = tmp_path / "album"
    make_album(album, n_faces=6)
    WATCH.root = str(album.resolve())
    WATCH.events.clear()
    yield album
    WATCH.root = None


def test_a_whole_session_never_writes_a_photo(watched, with_model, tmp_path, capsys):
    lib = ["--library", str(tmp_path / "lib.sqlite3")]
    before = _checksums(watched)
    assert main([*lib, "scan", "-q", str(watched)]) == 0
    assert main([*lib, "scan", "-q", str(watched)]) == 0  # the rescan
    capsys.readouterr()
    main([*lib, "people", "--json"])
    people = __import__("json").loads(capsys.readouterr().out)
    assert people, "the album should give at least one person"
    pid = str(people[0]["id"])
    for argv in (
        ["name", pid, "Ada"],
        ["xmp-export"],
        ["undo"],
        ["redo"],
        ["xmp-import"],
        ["export", "--json", "-o", str(tmp_path / "people.json")],
        ["xmp-export"],
    ):
        assert main([*lib, *argv]) in (0, 1), argv
    assert list(watched.rglob("*.xmp")), "the export should have written sidecars"
    writes = [(what, p) for what, p in WATCH.events if not _is_ours(p)]
    assert writes == []
    assert _checksums(watched) == before
