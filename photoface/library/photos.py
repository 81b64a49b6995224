"""Photos and their paths: what a scan records (contents, paths, errors) and what it reads back.

A photo is its content (hash); photo_paths holds every path it was seen at, each path belonging
to one content. A path whose file is gone is marked missing, never deleted; a content left
without any path (its only path got other content) is retired: its faces are out of people (see
faces.LIVE) with their rows untouched, so a content that comes back (a file reverted, two files
swapped) has its faces back where they were, names and all. photos.path is the path last seen:
what a retired content is shown by.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from photoface.errors import NotFoundError
from photoface.library.db import Database, chunks, in_clause
from photoface.library.records import FaceRecord, Photo, PhotoRecord, from_db, to_db

log = logging.getLogger(__name__)

PHOTO_COLS = "p.id, p.hash, p.path, p.width, p.height"

# --- reading --------------------------------------------------------------------------------


def known_files(db: Database) -> dict[str, tuple[int, int]]:
    """path -> (size, mtime_ns) for every present path and recorded error: the rescan fast
    path. Missing paths are left out, so a file that comes back is read again."""
    rows = db.query("SELECT path, size, mtime_ns FROM photo_paths WHERE missing = 0")
    rows += db.query("SELECT path, size, mtime_ns FROM scan_errors")
    return {from_db(p): (s, m) for p, s, m in rows}


def photos(db: Database) -> list[Photo]:
    """Every photo that has a path (retired contents left out), by path."""
    rows = db.query(
        f"SELECT {PHOTO_COLS} FROM photos p "
        "WHERE EXISTS (SELECT 1 FROM photo_paths pp WHERE pp.photo_id = p.id)"
    )
    return sorted(_build_photos(db, rows, all_paths=True), key=lambda ph: ph.path)


def missing_photos(db: Database) -> list[Photo]:
    """Photos whose every path was found gone by the scans (retired ones left out)."""
    rows = db.query(
        f"SELECT {PHOTO_COLS} FROM photos p WHERE p.id IN (SELECT photo_id FROM photo_paths "
        "GROUP BY photo_id HAVING min(missing) = 1)"
    )
    return sorted(_build_photos(db, rows), key=lambda ph: ph.path)


def photo_by_path(db: Database, path: str) -> Photo | None:
    owner = path_owner(db, path)
    return photo(db, owner) if owner is not None else None


def path_owner(db: Database, path: str) -> int | None:
    """The photo a path is recorded for, missing or not."""
    row = db.query("SELECT photo_id FROM photo_paths WHERE path = ?", (to_db(path),))
    return int(row[0][0]) if row else None


def photo_hashes(db: Database) -> set[str]:
    return {r[0] for r in db.query("SELECT hash FROM photos")}


def photo_by_hash(db: Database, digest: str) -> Photo | None:
    rows = db.query(f"SELECT {PHOTO_COLS} FROM photos p WHERE hash = ?", (digest,))
    return _build_photos(db, rows)[0] if rows else None


def photo(db: Database, photo_id: int) -> Photo:
    rows = db.query(f"SELECT {PHOTO_COLS} FROM photos p WHERE id = ?", (photo_id,))
    if not rows:
        raise NotFoundError(f"no photo with id {photo_id}")
    return _build_photos(db, rows)[0]


def present_paths_under(db: Database, root: Path | str) -> list[str]:
    """Paths under the folder `root` that were present at the last scan."""
    prefix = os.path.join(os.path.abspath(root), "")
    rows = db.query("SELECT path FROM photo_paths WHERE missing = 0")
    return [p for p in (from_db(r[0]) for r in rows) if p.startswith(prefix)]


def scan_errors(db: Database) -> list[tuple[str, str]]:
    """(path, reason) of every file a scan could not read, by path."""
    rows = db.query("SELECT path, reason FROM scan_errors ORDER BY path")
    return [(from_db(p), r) for p, r in rows]


def paths_of(db: Database, photo_ids: Sequence[int] | None) -> dict[int, list[str]]:
    """photo id -> its paths, those present at the last scan first, then in the order seen
    (None: every photo's)."""
    out: dict[int, list[str]] = {}
    sql = "SELECT photo_id, path FROM photo_paths {} ORDER BY missing, rowid"
    if photo_ids is None:
        rows = db.query(sql.format(""))
    else:
        rows = []
        for chunk in chunks(photo_ids):
            rows += db.query(sql.format(f"WHERE photo_id {in_clause(len(chunk))}"), chunk)
    for pid, path in rows:
        out.setdefault(pid, []).append(from_db(path))
    return out


def first_existing(paths: Sequence[str], fallback: str) -> tuple[str, bool]:
    """(the first of `paths` that exists now, False), else (the first path, True)."""
    for p in paths:
        if os.path.exists(p):
            return p, False
    return (paths[0] if paths else fallback), True


def _build_photos(db: Database, rows: list[tuple], all_paths: bool = False) -> list[Photo]:
    paths = paths_of(db, None if all_paths else [r[0] for r in rows])
    out = []
    for pid, digest, last_path, width, height in rows:
        mine = paths.get(pid, [])
        path, missing = first_existing(mine, from_db(last_path))
        out.append(Photo(pid, digest, path, width, height, missing, tuple(mine)))
    return out


# --- what a scan records ----------------------------------------------------------------------


def mark_missing(db: Database, paths: Iterable[str]) -> None:
    """These paths no longer hold their file; their photos are kept."""
    with db.transaction() as c:
        c.executemany(
            "UPDATE photo_paths SET missing = 1 WHERE path = ?", [(to_db(p),) for p in paths]
        )


def add_path(db: Database, photo_id: int, path: str, size: int, mtime_ns: int) -> int | None:
    """A known photo seen at `path` (a copy, a move, a file that came back): the path is now
    its own. Returns the photo the path belonged to before, if another one (see
    retire_orphans)."""
    with db.transaction() as c:
        before = _take_path(c, path, photo_id)
        c.execute(
            "INSERT INTO photo_paths(path, photo_id, size, mtime_ns, missing, seen_at) "
            "VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT(path) DO UPDATE SET size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, missing = 0, seen_at = excluded.seen_at",
            (to_db(path), photo_id, size, mtime_ns, time.time()),
        )
        # Seen here now: paths of this photo marked gone were moves, done.
        c.execute("DELETE FROM photo_paths WHERE photo_id = ? AND missing = 1", (photo_id,))
        c.execute(
            "UPDATE photos SET path = ?, retired_at = NULL WHERE id = ?",
            (to_db(path), photo_id),
        )
        c.execute("DELETE FROM scan_errors WHERE path = ?", (to_db(path),))
    return before


def _take_path(c: sqlite3.Connection, path: str, photo_id: int | None) -> int | None:
    """Free `path` for `photo_id` (None: a photo not stored yet); returns its former owner."""
    owner = c.execute("SELECT photo_id FROM photo_paths WHERE path = ?", (to_db(path),)).fetchone()
    if owner is None or owner[0] == photo_id:
        return None
    c.execute("DELETE FROM photo_paths WHERE path = ?", (to_db(path),))
    return int(owner[0])


def retire_orphans(db: Database, candidates: Iterable[int] | None = None) -> int:
    """Retire the photos (of `candidates`, or all) left without any path because their path
    got other content; returns how many of their faces left people. Not an edit: no face row
    changes, and a content that comes back brings its faces back."""
    sql = (
        "SELECT id FROM photos p WHERE retired_at IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM photo_paths pp WHERE pp.photo_id = p.id)"
    )
    if candidates is None:
        ids = [r[0] for r in db.query(sql)]
    else:
        ids = []
        for chunk in chunks(sorted({int(c) for c in candidates})):
            ids += [r[0] for r in db.query(f"{sql} AND id {in_clause(len(chunk))}", chunk)]
    hidden = 0
    with db.transaction() as c:
        now = time.time()
        for chunk in chunks(ids):
            ids_in = in_clause(len(chunk))
            c.execute(f"UPDATE photos SET retired_at = ? WHERE id {ids_in}", (now, *chunk))
            hidden += c.execute(
                f"SELECT count(*) FROM faces WHERE removed = 0 AND photo_id {ids_in}", chunk
            ).fetchone()[0]
    return hidden


def add_photo(db: Database, photo: PhotoRecord, faces: Sequence[FaceRecord]) -> int:
    """Store one photo and its faces in one transaction; returns the photo id. Its path is
    taken from any photo it was recorded for (see retire_orphans).

    If another process stored the same content meanwhile, its row is kept (no duplicate).
    """
    try:
        return _insert_photo(db, photo, faces)
    except sqlite3.IntegrityError:
        existing = db.query("SELECT id FROM photos WHERE hash = ?", (photo.hash,))
        if not existing:
            raise
        log.info("%s was stored by another scan meanwhile", photo.path)
        add_path(db, existing[0][0], photo.path, photo.size, photo.mtime_ns)
        return int(existing[0][0])


def _insert_photo(db: Database, photo: PhotoRecord, faces: Sequence[FaceRecord]) -> int:
    photo_row = (
        photo.hash,
        to_db(photo.path),
        photo.size,
        photo.mtime_ns,
        photo.width,
        photo.height,
        photo.detector,
        time.time(),
    )
    face_rows = [face_row(f) for f in faces]
    with db.transaction() as c:
        cur = c.execute(
            "INSERT INTO photos(hash, path, size, mtime_ns, width, height, detector, "
            "scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            photo_row,
        )
        photo_id = int(cur.lastrowid)
        _take_path(c, photo.path, None)
        c.execute(
            "INSERT INTO photo_paths(path, photo_id, size, mtime_ns, missing, seen_at) "
            "VALUES (?, ?, ?, ?, 0, ?)",
            (to_db(photo.path), photo_id, photo.size, photo.mtime_ns, time.time()),
        )
        c.executemany(INSERT_FACE, [(photo_id, *row) for row in face_rows])
        c.execute("DELETE FROM scan_errors WHERE path = ?", (to_db(photo.path),))
    return photo_id


INSERT_FACE = (
    "INSERT INTO faces(photo_id, x, y, w, h, landmarks, score, quality, crop, embedding, "
    "model_id, manual) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def face_row(f: FaceRecord) -> tuple:
    """A face's columns as INSERT_FACE takes them after the photo id."""
    return (
        *map(float, f.box),
        np.asarray(f.landmarks, np.float32).tobytes(),
        f.score,
        f.quality,
        f.crop_jpeg,
        None if f.embedding is None else f.embedding.tobytes(),
        f.model_id,
        int(f.manual),
    )


def record_error(
    db: Database, path: str, size: int | None, mtime_ns: int | None, reason: str
) -> None:
    """A file that cannot be read; a photo recorded at that path is marked missing there."""
    with db.transaction() as c:
        c.execute(
            "INSERT OR REPLACE INTO scan_errors(path, size, mtime_ns, reason, at) "
            "VALUES (?, ?, ?, ?, ?)",
            (to_db(path), size, mtime_ns, reason, time.time()),
        )
        c.execute("UPDATE photo_paths SET missing = 1 WHERE path = ?", (to_db(path),))
