"""The library's SQLite schema as ordered migrations; PRAGMA user_version is the version."""

from __future__ import annotations

import sqlite3

APPLICATION_ID = 0x70664643  # "pfFC": marks a database file as a photoface library

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        hash TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        detector TEXT NOT NULL,
        scanned_at REAL NOT NULL
    );
    CREATE INDEX photos_path ON photos(path);
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT,
        hidden INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE TABLE faces (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL, h REAL NOT NULL,
        landmarks BLOB NOT NULL,
        score REAL NOT NULL,
        quality REAL NOT NULL,
        crop BLOB NOT NULL,
        embedding BLOB,
        model_id TEXT,
        person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
        locked INTEGER NOT NULL DEFAULT 0,
        removed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX faces_photo ON faces(photo_id);
    CREATE INDEX faces_person ON faces(person_id);
    CREATE TABLE rejections (
        face_id INTEGER NOT NULL REFERENCES faces(id) ON DELETE CASCADE,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        PRIMARY KEY (face_id, person_id)
    );
    CREATE TABLE scan_errors (
        path TEXT PRIMARY KEY,
        size INTEGER,
        mtime_ns INTEGER,
        reason TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE TABLE ops (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        description TEXT NOT NULL,
        before TEXT NOT NULL,
        after TEXT NOT NULL,
        undone INTEGER NOT NULL DEFAULT 0,
        at REAL NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: every path a content was seen at (copies), files gone missing, retired contents.
    # A path belongs to one content; a content whose last path got other content is retired
    # (retired_at set: its faces are out of people, their rows untouched, and back as they were
    # if the content comes back). Of the duplicate rows an older version could leave for one
    # path, the newest keeps the path and the others are retired.
    """
    CREATE TABLE photo_paths (
        path TEXT PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        missing INTEGER NOT NULL DEFAULT 0,
        seen_at REAL NOT NULL
    );
    CREATE INDEX photo_paths_photo ON photo_paths(photo_id);
    ALTER TABLE photos ADD COLUMN retired_at REAL;
    CREATE INDEX photos_retired ON photos(retired_at) WHERE retired_at IS NOT NULL;
    INSERT INTO photo_paths(path, photo_id, size, mtime_ns, missing, seen_at)
        SELECT path, id, size, mtime_ns, 0, scanned_at FROM photos AS p
        WHERE id = (SELECT max(id) FROM photos AS q WHERE q.path = p.path)
        ORDER BY id;
    UPDATE photos SET retired_at = scanned_at
        WHERE id NOT IN (SELECT photo_id FROM photo_paths);
    """,
    # 3: review. `apart`: two people the user said are not the same person (a < b), kept apart
    # by every regroup; `review_skips`: questions the user skipped, not asked again until the
    # next full regroup.
    """
    CREATE TABLE apart (
        person_a INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        person_b INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        PRIMARY KEY (person_a, person_b),
        CHECK (person_a < person_b)
    );
    CREATE INDEX apart_b ON apart(person_b);
    CREATE TABLE review_skips (question TEXT PRIMARY KEY, at REAL NOT NULL);
    """,
    # 4: the people list (count and cover of each person's live faces) read from one index,
    # with no sort and no look at the rows: 0.7 s -> 0.04 s at 100,000 faces.
    """
    CREATE INDEX faces_person_live ON faces(person_id, removed, quality, photo_id);
    """,
    # 5: faces a user drew around a face the detector missed (manual = 1). A photo's faces are
    # found once per content, so a rescan never drops them. removed = 2 marks a drawn face whose
    # drawing was undone: the row is kept only so its id is never given to another face and a
    # redo can bring it back.
    """
    ALTER TABLE faces ADD COLUMN manual INTEGER NOT NULL DEFAULT 0;
    """,
    # 6: the face the user chose to show a person by (NULL: the best-quality face). It counts
    # only while that face is live and still in the person, so it falls back by itself.
    """
    ALTER TABLE people ADD COLUMN cover_face_id INTEGER REFERENCES faces(id) ON DELETE SET NULL;
    """,
    # 7: faces(person_id) alone goes: faces_person_live (step 4) begins with person_id and
    # serves every lookup it served, and each of the million UPDATEs of a full regroup at a
    # million faces changed both (writing the grouping: 29.7 s -> 15.3 s).
    """
    DROP INDEX faces_person;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the library up to SCHEMA_VERSION, one transaction per step.

    Each step takes the write lock first and reads the version inside it, so two processes
    opening a new library at once cannot both run the same step. An up-to-date library is only
    read, so opening it never waits for another process that is writing.
    """
    while conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version >= SCHEMA_VERSION:
                conn.execute("COMMIT")
                return
            migrate_step(conn, version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def migrate_step(conn: sqlite3.Connection, version: int) -> None:
    """Run migration `version` -> `version + 1` inside the caller's open transaction."""
    for statement in _statements(MIGRATIONS[version]):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {version + 1}")
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit the open transaction)."""
    out, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete statement in a migration: {pending!r}")
    return out
