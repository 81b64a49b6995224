"""The face library: SQLite (WAL) with typed queries and undoable edits. One per thread."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
import unicodedata
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


def _live(alias: str) -> str:
    """The faces shown (in people, unsorted, counts, grouping, export): not removed by the
    user, and of a content still at some path (not retired)."""
    return (
        f"{alias}.removed = 0 AND {alias}.photo_id NOT IN "
        "(SELECT id FROM photos WHERE retired_at IS NOT NULL)"
    )


LIVE, LIVE2 = _live("f"), _live("f2")


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
    """One content. `path` is the first recorded path that holds the file now (else the first
    recorded one); `missing` says none does: deleted, on an unplugged drive, or retired."""

    id: int
    hash: str
    path: str
    width: int
    height: int
    missing: bool = False
    paths: tuple[str, ...] = ()  # every recorded path, those present at the last scan first


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
        if not stat.S_ISREG(self.path.stat().st_mode):  # a FIFO would block the open below
            raise LibraryError(f"{self.path} is not a regular file, so it cannot be a library")
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
        except BaseException as e:
            if self.conn.in_transaction:  # SQLite may have rolled back already (a full disk)
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error as rollback_error:
                    log.warning("rollback failed: %s", rollback_error)
            if isinstance(e, sqlite3.OperationalError) and _is_environment(e):
                raise _library_error(self.path, e) from e
            raise

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
    # A photo is its content (hash); photo_paths holds every path it was seen at, each path
    # belonging to one content. A path whose file is gone is marked missing, never deleted; a
    # content left without any path (its only path got other content) is retired: its faces
    # are out of people (see LIVE) with their rows untouched, so a content that comes back (a
    # file reverted, two files swapped) has its faces back where they were, names and all.
    # photos.path is the path last seen: what a retired content is shown by.

    def known_files(self) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime_ns) for every present path and recorded error: the rescan fast
        path. Missing paths are left out, so a file that comes back is read again."""
        rows = self._q("SELECT path, size, mtime_ns FROM photo_paths WHERE missing = 0")
        rows += self._q("SELECT path, size, mtime_ns FROM scan_errors")
        return {from_db(p): (s, m) for p, s, m in rows}

    def photos(self) -> list[Photo]:
        """Every photo that has a path (retired contents left out), by path."""
        rows = self._q(
            f"SELECT {_PHOTO_COLS} FROM photos p "
            "WHERE EXISTS (SELECT 1 FROM photo_paths pp WHERE pp.photo_id = p.id)"
        )
        return sorted(self._build_photos(rows, all_paths=True), key=lambda ph: ph.path)

    def missing_photos(self) -> list[Photo]:
        """Photos whose every path was found gone by the scans (retired ones left out)."""
        rows = self._q(
            f"SELECT {_PHOTO_COLS} FROM photos p WHERE p.id IN (SELECT photo_id FROM photo_paths "
            "GROUP BY photo_id HAVING min(missing) = 1)"
        )
        return sorted(self._build_photos(rows), key=lambda ph: ph.path)

    def photo_by_path(self, path: str) -> Photo | None:
        row = self._q("SELECT photo_id FROM photo_paths WHERE path = ?", (to_db(path),))
        return self.photo(row[0][0]) if row else None

    def path_owner(self, path: str) -> int | None:
        """The photo a path is recorded for, missing or not."""
        row = self._q("SELECT photo_id FROM photo_paths WHERE path = ?", (to_db(path),))
        return int(row[0][0]) if row else None

    def photo_hashes(self) -> set[str]:
        return {r[0] for r in self._q("SELECT hash FROM photos")}

    def photo_by_hash(self, digest: str) -> Photo | None:
        rows = self._q(f"SELECT {_PHOTO_COLS} FROM photos p WHERE hash = ?", (digest,))
        return self._build_photos(rows)[0] if rows else None

    def photo(self, photo_id: int) -> Photo:
        rows = self._q(f"SELECT {_PHOTO_COLS} FROM photos p WHERE id = ?", (photo_id,))
        if not rows:
            raise NotFoundError(f"no photo with id {photo_id}")
        return self._build_photos(rows)[0]

    def _paths_of(self, photo_ids: Sequence[int] | None) -> dict[int, list[str]]:
        """photo id -> its paths, those present at the last scan first, then in the order seen
        (None: every photo's)."""
        out: dict[int, list[str]] = {}
        sql = "SELECT photo_id, path FROM photo_paths {} ORDER BY missing, rowid"
        if photo_ids is None:
            rows = self._q(sql.format(""))
        else:
            rows = []
            ids = list(photo_ids)
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                where = f"WHERE photo_id IN ({','.join('?' * len(chunk))})"
                rows += self._q(sql.format(where), chunk)
        for pid, path in rows:
            out.setdefault(pid, []).append(from_db(path))
        return out

    def _build_photos(self, rows: list[tuple], all_paths: bool = False) -> list[Photo]:
        paths = self._paths_of(None if all_paths else [r[0] for r in rows])
        out = []
        for pid, digest, last_path, width, height in rows:
            mine = paths.get(pid, [])
            path, missing = _first_existing(mine, from_db(last_path))
            out.append(Photo(pid, digest, path, width, height, missing, tuple(mine)))
        return out

    def present_paths_under(self, root: Path | str) -> list[str]:
        """Paths under the folder `root` that were present at the last scan."""
        prefix = os.path.join(os.path.abspath(root), "")
        rows = self._q("SELECT path FROM photo_paths WHERE missing = 0")
        return [p for p in (from_db(r[0]) for r in rows) if p.startswith(prefix)]

    def mark_missing(self, paths: Iterable[str]) -> None:
        """These paths no longer hold their file; their photos are kept."""
        with self.transaction() as c:
            c.executemany(
                "UPDATE photo_paths SET missing = 1 WHERE path = ?", [(to_db(p),) for p in paths]
            )

    def add_path(self, photo_id: int, path: str, size: int, mtime_ns: int) -> int | None:
        """A known photo seen at `path` (a copy, a move, a file that came back): the path is
        now its own. Returns the photo the path belonged to before, if another one (see
        retire_orphans)."""
        with self.transaction() as c:
            before = self._take_path(c, path, photo_id)
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

    def _take_path(self, c: sqlite3.Connection, path: str, photo_id: int | None) -> int | None:
        """Free `path` for `photo_id` (None: a photo not stored yet); returns its former owner."""
        row = c.execute("SELECT photo_id FROM photo_paths WHERE path = ?", (to_db(path),))
        owner = row.fetchone()
        if owner is None or owner[0] == photo_id:
            return None
        c.execute("DELETE FROM photo_paths WHERE path = ?", (to_db(path),))
        return int(owner[0])

    def retire_orphans(self, candidates: Iterable[int] | None = None) -> int:
        """Retire the photos (of `candidates`, or all) left without any path because their
        path got other content; returns how many of their faces left people. Not an edit: no
        face row changes, and a content that comes back brings its faces back."""
        sql = (
            "SELECT id FROM photos p WHERE retired_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM photo_paths pp WHERE pp.photo_id = p.id)"
        )
        if candidates is None:
            ids = [r[0] for r in self._q(sql)]
        else:
            wanted = sorted({int(c) for c in candidates})
            ids = []
            for i in range(0, len(wanted), 500):
                chunk = wanted[i : i + 500]
                in_chunk = f"{sql} AND id IN ({','.join('?' * len(chunk))})"
                ids += [r[0] for r in self._q(in_chunk, chunk)]
        hidden = 0
        with self.transaction() as c:
            now = time.time()
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                c.execute(f"UPDATE photos SET retired_at = ? WHERE id IN ({marks})", (now, *chunk))
                hidden += c.execute(
                    f"SELECT count(*) FROM faces WHERE removed = 0 AND photo_id IN ({marks})", chunk
                ).fetchone()[0]
        return hidden

    def add_photo(self, photo: PhotoRecord, faces: Sequence[FaceRecord]) -> int:
        """Store one photo and its faces in one transaction; returns the photo id. Its path is
        taken from any photo it was recorded for (see retire_orphans).

        If another process stored the same content meanwhile, its row is kept (no duplicate).
        """
        try:
            return self._insert_photo(photo, faces)
        except sqlite3.IntegrityError:
            existing = self._q("SELECT id FROM photos WHERE hash = ?", (photo.hash,))
            if not existing:
                raise
            log.info("%s was stored by another scan meanwhile", photo.path)
            self.add_path(existing[0][0], photo.path, photo.size, photo.mtime_ns)
            return int(existing[0][0])

    def _insert_photo(self, photo: PhotoRecord, faces: Sequence[FaceRecord]) -> int:
        with self.transaction() as c:
            cur = c.execute(
                "INSERT INTO photos(hash, path, size, mtime_ns, width, height, detector, "
                "scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (photo.hash, to_db(photo.path), photo.size, photo.mtime_ns, photo.width,
                 photo.height, photo.detector, time.time()),
            )  # fmt: skip
            photo_id = int(cur.lastrowid)
            self._take_path(c, photo.path, None)
            c.execute(
                "INSERT INTO photo_paths(path, photo_id, size, mtime_ns, missing, seen_at) "
                "VALUES (?, ?, ?, ?, 0, ?)",
                (to_db(photo.path), photo_id, photo.size, photo.mtime_ns, time.time()),
            )
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
        """A file that cannot be read; a photo recorded at that path is marked missing there."""
        with self.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO scan_errors(path, size, mtime_ns, reason, at) "
                "VALUES (?, ?, ?, ?, ?)",
                (to_db(path), size, mtime_ns, reason, time.time()),
            )
            c.execute("UPDATE photo_paths SET missing = 1 WHERE path = ?", (to_db(path),))

    def scan_errors(self) -> list[tuple[str, str]]:
        rows = self._q("SELECT path, reason FROM scan_errors ORDER BY path")
        return [(from_db(p), r) for p, r in rows]

    def counts(self) -> dict[str, int]:
        """photos: those with a path; missing: of those, the ones no path held at the last
        scan; retired: contents whose path got other content."""
        one = lambda sql: self._q(sql)[0][0]  # noqa: E731
        return {
            "photos": one("SELECT count(DISTINCT photo_id) FROM photo_paths"),
            "faces": one(f"SELECT count(*) FROM faces f WHERE {LIVE}"),
            "people": one("SELECT count(*) FROM people"),
            "errors": one("SELECT count(*) FROM scan_errors"),
            "unsorted": one(f"SELECT count(*) FROM faces f WHERE {LIVE} AND f.person_id IS NULL"),
            "missing": one(
                "SELECT count(*) FROM (SELECT photo_id FROM photo_paths GROUP BY photo_id "
                "HAVING min(missing) = 1)"
            ),
            "retired": one("SELECT count(*) FROM photos WHERE retired_at IS NOT NULL"),
        }

    # --- faces ------------------------------------------------------------------------------

    # The face's path: its photo's first path present at the last scan (the photo's only one
    # needs no look at the disk), and how many paths the photo has.
    _FACE_COLS = (
        "f.id, f.photo_id, coalesce((SELECT pp.path FROM photo_paths pp WHERE pp.photo_id = p.id "
        "ORDER BY pp.missing, pp.rowid LIMIT 1), p.path), f.x, f.y, f.w, f.h, f.landmarks, "
        "f.score, f.quality, f.person_id, f.locked, f.model_id, "
        "(SELECT count(*) FROM photo_paths pp WHERE pp.photo_id = p.id)"
    )

    def _faces(self, where: str, args: Sequence[object] = ()) -> list[Face]:
        rows = self._q(
            f"SELECT {self._FACE_COLS} FROM faces f JOIN photos p ON p.id = f.photo_id "
            f"WHERE {LIVE} AND {where} ORDER BY f.quality DESC, f.id",
            args,
        )
        copies = self._paths_of(sorted({r[1] for r in rows if r[13] > 1}))
        path_of = {pid: _first_existing(ps, ps[0])[0] for pid, ps in copies.items()}
        return [
            Face(id=r[0], photo_id=r[1], path=path_of.get(r[1]) or from_db(r[2]),
                 box=(r[3], r[4], r[5], r[6]),
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
            "SELECT id, photo_id, embedding, coalesce(person_id, -1), locked, quality "
            f"FROM faces f WHERE {LIVE} AND embedding IS NOT NULL AND model_id IN ({marks}) "
            "ORDER BY id",
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
            f"(SELECT f2.id FROM faces f2 WHERE f2.person_id = pe.id AND {LIVE2} "
            " ORDER BY f2.quality DESC LIMIT 1) "
            f"FROM people pe JOIN faces f ON f.person_id = pe.id AND {LIVE} "
            f"WHERE 1 {where} GROUP BY pe.id ORDER BY count(f.id) DESC, pe.id",
            args,
        )
        return [Person(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]

    def person(self, person_id: int) -> Person:
        row = self._q(
            "SELECT pe.id, pe.name, pe.hidden, "
            f"(SELECT count(*) FROM faces f WHERE f.person_id = pe.id AND {LIVE}), "
            f"(SELECT f2.id FROM faces f2 WHERE f2.person_id = pe.id AND {LIVE2} "
            " ORDER BY f2.quality DESC LIMIT 1) FROM people pe WHERE pe.id = ?",
            (person_id,),
        )
        if not row:
            raise NotFoundError(f"no person with id {person_id}")
        r = row[0]
        return Person(r[0], r[1], bool(r[2]), r[3], r[4])

    def person_by_name(self, name: str) -> Person | None:
        """The person with this name, case folded as Unicode does ("Émile" is "émile"; SQLite's
        NOCASE folds only ASCII)."""
        want = unicodedata.normalize("NFC", name).casefold()
        rows = self._q("SELECT id, name FROM people WHERE name IS NOT NULL ORDER BY id")
        found = next((pid for pid, n in rows if unicodedata.normalize("NFC", n).casefold() == want),
                     None)  # fmt: skip
        return self.person(found) if found is not None else None

    def photos_of_person(self, person_id: int) -> list[Photo]:
        self.person(person_id)
        rows = self._q(
            f"SELECT DISTINCT {_PHOTO_COLS} FROM photos p "
            f"JOIN faces f ON f.photo_id = p.id WHERE f.person_id = ? AND {LIVE}",
            (person_id,),
        )
        return sorted(self._build_photos(rows), key=lambda ph: ph.path)

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


_PHOTO_COLS = "p.id, p.hash, p.path, p.width, p.height"


def _first_existing(paths: Sequence[str], fallback: str) -> tuple[str, bool]:
    """(the first of `paths` that exists now, False), else (the first path, True)."""
    for p in paths:
        if os.path.exists(p):
            return p, False
    return (paths[0] if paths else fallback), True


def _is_environment(e: sqlite3.OperationalError) -> bool:
    """A write failed because of the disk or the file (full, read-only, locked), not a bug."""
    name = getattr(e, "sqlite_errorname", "") or ""
    return name.startswith(_ENVIRONMENT_ERRORS)


_ENVIRONMENT_ERRORS = (
    "SQLITE_FULL",
    "SQLITE_READONLY",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_CANTOPEN",
)


def _like_escape(text: str) -> str:
    """`text` matched literally by LIKE ... ESCAPE '\\': its wildcards `%` and `_` escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _library_error(path: Path, e: sqlite3.OperationalError) -> LibraryError:
    if "full" in str(e) or getattr(e, "sqlite_errorname", "") == "SQLITE_FULL":
        return LibraryError(
            f"the disk holding the library {path} is full: free some space and run it again "
            "(what was stored before is kept)."
        )
    if "locked" in str(e) or "busy" in str(e):
        return LibraryError(
            f"the library {path} is busy: another photoface is writing to it. "
            "Close the other instance or wait, then try again."
        )
    if "readonly" in str(e) or "read-only" in str(e):
        return LibraryError(f"the library {path} is read-only; check the file's permissions.")
    return LibraryError(f"the library {path} cannot be used: {e}")
