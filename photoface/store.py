"""The face library: SQLite (WAL) with typed queries and undoable edits. One per thread."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoface import schema
from photoface.edits import EMPTY_AUTO_PEOPLE, EditsMixin, new_person
from photoface.errors import LibraryError, NotFoundError

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class FaceRecord:
    """A face as the pipeline hands it to the library."""

    box: tuple[float, float, float, float]
    landmarks: np.ndarray  # (5, 2) original pixels
    score: float
    quality: float
    crop_jpeg: bytes
    embedding: np.ndarray | None  # int8 (D,) or None when no model was available
    model_id: str | None


@dataclass(frozen=True)
class PhotoRecord:
    hash: str
    path: str
    size: int
    mtime_ns: int
    width: int
    height: int
    detector: str


@dataclass(frozen=True)
class Person:
    id: int
    name: str | None
    hidden: bool
    face_count: int
    cover_face_id: int | None

    @property
    def label(self) -> str:
        return self.name or "Unnamed"


@dataclass(frozen=True)
class Face:
    id: int
    photo_id: int
    path: str
    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float
    quality: float
    person_id: int | None
    locked: bool
    model_id: str | None


@dataclass(frozen=True)
class Photo:
    id: int
    hash: str
    path: str
    width: int
    height: int


@dataclass(frozen=True)
class ClusterInput:
    """Everything clustering needs, as arrays aligned by row."""

    face_ids: np.ndarray  # int64 (n,)
    photo_ids: np.ndarray  # int64 (n,)
    embeddings: np.ndarray  # int8 (n, D)
    person_ids: np.ndarray  # int64 (n,), -1 for none
    locked: np.ndarray  # bool (n,)
    quality: np.ndarray  # float32 (n,)
    rejections: list[tuple[int, int]]  # (face_id, person_id)
    named: set[int]  # people the user named


class Library(EditsMixin):
    """A photoface library file. Not thread-safe: each thread opens its own.

    The undoable edits (rename, merge, move, reject, hide, remove, undo, redo) are in edits.py.
    """

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.path = Path(path)
        self._check_file(create)
        try:
            self.conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            app_id = self.conn.execute("PRAGMA application_id").fetchone()[0]
            tables = self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise LibraryError(f"{self.path} cannot be opened as a library: {e}") from e
        if tables and app_id != schema.APPLICATION_ID:
            self.conn.close()
            raise LibraryError(
                f"{self.path} is an SQLite database but not a photoface library; left untouched."
            )
        if version > schema.SCHEMA_VERSION:
            self.conn.close()
            raise LibraryError(
                f"{self.path} was written by a newer photoface (schema {version}, this version "
                f"reads up to {schema.SCHEMA_VERSION}); upgrade photoface. The file is untouched."
            )
        try:
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            schema.migrate(self.conn)
        except sqlite3.OperationalError as e:
            raise _library_error(self.path, e) from e

    def _check_file(self, create: bool) -> None:
        if not self.path.exists():
            if not create:
                raise LibraryError(f"no library at {self.path}")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        if self.path.is_dir():
            raise LibraryError(f"{self.path} is a folder, not a library file")
        with open(self.path, "rb") as f:
            head = f.read(len(SQLITE_MAGIC))
        if head and head != SQLITE_MAGIC:
            raise LibraryError(
                f"{self.path} is not a photoface library (not an SQLite database); "
                "it was left untouched. Choose another library location."
            )

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            raise _library_error(self.path, e) from e
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError as e:
            # A write refused half-way (a read-only file, a full disk, another writer) is the
            # library's state, not a bug: the same message as when the transaction cannot start.
            self._rollback()
            raise _library_error(self.path, e) from e
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        # SQLite itself rolls back on some errors (a full disk, an I/O error).
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def _q(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        return self.conn.execute(sql, args).fetchall()

    # --- meta -------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self._q("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0][0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # --- photos -----------------------------------------------------------------------------

    def known_files(self) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime_ns) for every photo and recorded error: the rescan fast path."""
        rows = self._q("SELECT path, size, mtime_ns FROM photos")
        rows += self._q("SELECT path, size, mtime_ns FROM scan_errors")
        return {from_db(p): (s, m) for p, s, m in rows}

    def photos(self) -> list[Photo]:
        rows = self._q("SELECT id, hash, path, width, height FROM photos ORDER BY path")
        return [_photo(r) for r in rows]

    def photo_by_path(self, path: str) -> Photo | None:
        sql = "SELECT id, hash, path, width, height FROM photos WHERE path = ?"
        rows = self._q(sql, (to_db(path),))
        return _photo(rows[0]) if rows else None

    def photo_hashes(self) -> set[str]:
        return {r[0] for r in self._q("SELECT hash FROM photos")}

    def photo_by_hash(self, digest: str) -> Photo | None:
        row = self._q("SELECT id, hash, path, width, height FROM photos WHERE hash = ?", (digest,))
        return _photo(row[0]) if row else None

    def photo(self, photo_id: int) -> Photo:
        row = self._q("SELECT id, hash, path, width, height FROM photos WHERE id = ?", (photo_id,))
        if not row:
            raise NotFoundError(f"no photo with id {photo_id}")
        return _photo(row[0])

    def relocate_photo(self, photo_id: int, path: str, size: int, mtime_ns: int) -> None:
        """A known photo seen at a new path (moved or renamed): keep its faces."""
        with self.transaction() as c:
            c.execute(
                "UPDATE photos SET path = ?, size = ?, mtime_ns = ? WHERE id = ?",
                (to_db(path), size, mtime_ns, photo_id),
            )
            c.execute("DELETE FROM scan_errors WHERE path = ?", (to_db(path),))

    def add_photo(self, photo: PhotoRecord, faces: Sequence[FaceRecord]) -> int:
        """Store one photo and its faces in one transaction; returns the photo id.

        If another process stored the same content meanwhile, its row is kept (no duplicate).
        """
        try:
            return self._insert_photo(photo, faces)
        except sqlite3.IntegrityError:
            existing = self.photo_by_hash(photo.hash)
            if existing is None:
                raise
            log.info("%s was stored by another scan meanwhile", photo.path)
            return existing.id

    def _insert_photo(self, photo: PhotoRecord, faces: Sequence[FaceRecord]) -> int:
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO photos(hash, path, size, mtime_ns, width, height, detector, "
                "scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (photo.hash, to_db(photo.path), photo.size, photo.mtime_ns, photo.width,
                 photo.height, photo.detector, time.time()),
            )  # fmt: skip
            photo_id = int(cur.lastrowid)
            c.executemany(
                "INSERT INTO faces(photo_id, x, y, w, h, landmarks, score, quality, crop, "
                "embedding, model_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (photo_id, *map(float, f.box),
                     np.asarray(f.landmarks, np.float32).tobytes(), f.score, f.quality,
                     f.crop_jpeg, None if f.embedding is None else f.embedding.tobytes(),
                     f.model_id)
                    for f in faces
                ],
            )  # fmt: skip
            c.execute("DELETE FROM scan_errors WHERE path = ?", (to_db(photo.path),))
        return photo_id

    def record_error(self, path: str, size: int | None, mtime_ns: int | None, reason: str) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO scan_errors(path, size, mtime_ns, reason, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (to_db(path), size, mtime_ns, reason, time.time()),
            )

    def scan_errors(self) -> list[tuple[str, str]]:
        rows = self._q("SELECT path, reason FROM scan_errors ORDER BY path")
        return [(from_db(p), r) for p, r in rows]

    def counts(self) -> dict[str, int]:
        one = lambda sql: self._q(sql)[0][0]  # noqa: E731
        return {
            "photos": one("SELECT count(*) FROM photos"),
            "faces": one("SELECT count(*) FROM faces WHERE removed = 0"),
            "people": one("SELECT count(*) FROM people"),
            "errors": one("SELECT count(*) FROM scan_errors"),
            "unsorted": one("SELECT count(*) FROM faces WHERE removed = 0 AND person_id IS NULL"),
        }

    # --- faces ------------------------------------------------------------------------------

    _FACE_COLS = (
        "f.id, f.photo_id, p.path, f.x, f.y, f.w, f.h, f.landmarks, f.score, f.quality, "
        "f.person_id, f.locked, f.model_id"
    )

    def _faces(self, where: str, args: Sequence[object] = ()) -> list[Face]:
        rows = self._q(
            f"SELECT {self._FACE_COLS} FROM faces f JOIN photos p ON p.id = f.photo_id "
            f"WHERE f.removed = 0 AND {where} ORDER BY f.quality DESC, f.id",
            args,
        )
        return [
            Face(id=r[0], photo_id=r[1], path=from_db(r[2]), box=(r[3], r[4], r[5], r[6]),
                 landmarks=np.frombuffer(r[7], np.float32).reshape(5, 2), score=r[8],
                 quality=r[9], person_id=r[10], locked=bool(r[11]), model_id=r[12])
            for r in rows
        ]  # fmt: skip

    def face(self, face_id: int) -> Face:
        found = self._faces("f.id = ?", (face_id,))
        if not found:
            raise NotFoundError(f"no face with id {face_id}")
        return found[0]

    def faces_of_person(self, person_id: int) -> list[Face]:
        self.person(person_id)
        return self._faces("f.person_id = ?", (person_id,))

    def unsorted_faces(self) -> list[Face]:
        return self._faces("f.person_id IS NULL")

    def faces_of_photo(self, photo_id: int) -> list[Face]:
        return self._faces("f.photo_id = ?", (photo_id,))

    def face_crop(self, face_id: int) -> bytes:
        row = self._q("SELECT crop FROM faces WHERE id = ?", (face_id,))
        if not row:
            raise NotFoundError(f"no face with id {face_id}")
        return row[0][0]

    def faces_to_embed(self, model_id: str, compatible: Iterable[str] = ()) -> list[int]:
        """Faces with no vector, or one from a model that cannot be compared with `model_id`."""
        ok = [model_id, *compatible]
        marks = ",".join("?" * len(ok))
        rows = self._q(
            f"SELECT id FROM faces WHERE embedding IS NULL OR model_id NOT IN ({marks}) "
            "ORDER BY id",
            ok,
        )
        return [r[0] for r in rows]

    def crops(self, face_ids: Sequence[int]) -> list[bytes]:
        out = []
        for i in range(0, len(face_ids), 500):
            chunk = list(face_ids[i : i + 500])
            marks = ",".join("?" * len(chunk))
            got = dict(self._q(f"SELECT id, crop FROM faces WHERE id IN ({marks})", chunk))
            out.extend(got[f] for f in chunk)
        return out

    def set_embeddings(self, face_ids: Sequence[int], codes: np.ndarray, model_id: str) -> None:
        with self.transaction() as c:
            c.executemany(
                "UPDATE faces SET embedding = ?, model_id = ? WHERE id = ?",
                [(codes[i].tobytes(), model_id, int(f)) for i, f in enumerate(face_ids)],
            )

    def cluster_input(self, model_ids: Iterable[str]) -> ClusterInput:
        ok = list(model_ids)
        marks = ",".join("?" * len(ok))
        rows = self._q(
            "SELECT id, photo_id, embedding, coalesce(person_id, -1), locked, quality FROM faces "
            f"WHERE removed = 0 AND embedding IS NOT NULL AND model_id IN ({marks}) ORDER BY id",
            ok,
        )
        n = len(rows)
        dim = len(rows[0][2]) if n else 0
        emb = np.frombuffer(b"".join(r[2] for r in rows), np.int8).reshape(n, dim)
        rej = [(f, p) for f, p in self._q("SELECT face_id, person_id FROM rejections")]
        named = {r[0] for r in self._q("SELECT id FROM people WHERE name IS NOT NULL")}
        return ClusterInput(
            face_ids=np.array([r[0] for r in rows], np.int64),
            photo_ids=np.array([r[1] for r in rows], np.int64),
            embeddings=emb,
            person_ids=np.array([r[3] for r in rows], np.int64),
            locked=np.array([bool(r[4]) for r in rows], bool),
            quality=np.array([r[5] for r in rows], np.float32),
            rejections=rej,
            named=named,
        )

    # --- people -----------------------------------------------------------------------------

    def people(self, include_hidden: bool = False, search: str = "") -> list[Person]:
        """People with at least one face, biggest first."""
        where = "" if include_hidden else "AND pe.hidden = 0"
        args: list[object] = []
        if search:
            where += " AND pe.name LIKE ? ESCAPE '\\'"
            args.append("%" + _like_escape(search) + "%")
        rows = self._q(
            "SELECT pe.id, pe.name, pe.hidden, count(f.id), "
            "(SELECT f2.id FROM faces f2 WHERE f2.person_id = pe.id AND f2.removed = 0 "
            " ORDER BY f2.quality DESC LIMIT 1) "
            "FROM people pe JOIN faces f ON f.person_id = pe.id AND f.removed = 0 "
            f"WHERE 1 {where} GROUP BY pe.id ORDER BY count(f.id) DESC, pe.id",
            args,
        )
        return [Person(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    def person(self, person_id: int) -> Person:
        row = self._q(
            "SELECT pe.id, pe.name, pe.hidden, "
            "(SELECT count(*) FROM faces f WHERE f.person_id = pe.id AND f.removed = 0), "
            "(SELECT f2.id FROM faces f2 WHERE f2.person_id = pe.id AND f2.removed = 0 "
            " ORDER BY f2.quality DESC LIMIT 1) FROM people pe WHERE pe.id = ?",
            (person_id,),
        )
        if not row:
            raise NotFoundError(f"no person with id {person_id}")
        r = row[0]
        return Person(r[0], r[1], bool(r[2]), r[3], r[4])

    def person_by_name(self, name: str) -> Person | None:
        row = self._q("SELECT id FROM people WHERE name = ? COLLATE NOCASE LIMIT 1", (name,))
        return self.person(row[0][0]) if row else None

    def photos_of_person(self, person_id: int) -> list[Photo]:
        self.person(person_id)
        rows = self._q(
            "SELECT DISTINCT p.id, p.hash, p.path, p.width, p.height FROM photos p "
            "JOIN faces f ON f.photo_id = p.id WHERE f.person_id = ? AND f.removed = 0 "
            "ORDER BY p.path",
            (person_id,),
        )
        return [_photo(r) for r in rows]

    def write_clustering(self, face_ids: np.ndarray, labels: np.ndarray) -> None:
        """Store a clustering of the unlocked faces; `labels` holds person ids (existing ones
        kept), negative numbers for new clusters (one new person each) and 0 for unsorted."""
        with self.transaction() as c:
            new_ids: dict[int, int] = {}
            for lab in sorted({int(v) for v in labels if v < 0}):
                new_ids[lab] = new_person(c)
            rows = []
            for f, lab in zip(face_ids.tolist(), labels.tolist(), strict=True):
                pid = new_ids[lab] if lab < 0 else (lab or None)
                rows.append((pid, f))
            c.executemany("UPDATE faces SET person_id = ? WHERE id = ? AND locked = 0", rows)
            # Auto people that lost every face go; named or hidden ones stay for the user, and
            # so do those a face was said not to be (deleting them would forget that "no").
            c.execute(EMPTY_AUTO_PEOPLE.format(where="1"))


def to_db(path: str) -> str:
    """A path as stored: itself, or (a name that is not UTF-8) NUL + the hex of its bytes."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return "\x00" + os.fsencode(path).hex()


def from_db(stored: str) -> str:
    return os.fsdecode(bytes.fromhex(stored[1:])) if stored.startswith("\x00") else stored


def _photo(row: tuple) -> Photo:
    return Photo(row[0], row[1], from_db(row[2]), row[3], row[4])


def _like_escape(text: str) -> str:
    """`text` matched literally by LIKE ... ESCAPE '\\': its wildcards `%` and `_` escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _library_error(path: Path, e: sqlite3.OperationalError) -> LibraryError:
    if "locked" in str(e) or "busy" in str(e):
        return LibraryError(
            f"the library {path} is busy: another photoface is writing to it. "
            "Close the other instance or wait, then try again."
        )
    if "readonly" in str(e) or "read-only" in str(e):
        return LibraryError(f"the library {path} is read-only; check the file's permissions.")
    return LibraryError(f"the library {path} cannot be used: {e}")
