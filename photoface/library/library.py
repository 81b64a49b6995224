"""The face library: one SQLite file (WAL) with typed queries and undoable edits. One per thread."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import numpy as np

from photoface.library import clustering, faces, people, photos, together
from photoface.library.db import Database
from photoface.library.edits import Edits
from photoface.library.faces import LIVE
from photoface.library.records import (
    ClusterInput,
    Face,
    FaceRecord,
    Person,
    Photo,
    PhotoRecord,
)

log = logging.getLogger(__name__)


class Library:
    """A photoface library file. Not thread-safe: each thread opens its own.

    Queries and the scan's writes are methods; the user's undoable edits (rename, merge,
    move, reject, hide, remove, undo, redo) are on `library.edits`.
    """

    def __init__(self, path: Path | str, *, create: bool = True) -> None:
        self.db = Database(path, create=create)
        self.path = self.db.path
        self.edits = Edits(self.db)

    @property
    def conn(self) -> sqlite3.Connection:
        return self.db.conn

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction (see Database.transaction)."""
        return self.db.transaction()

    def query(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        """The rows of one SQL statement: for tests and tools; the app uses the typed queries."""
        return self.db.query(sql, args)

    def counts(self) -> dict[str, int]:
        """photos: those with a path; missing: of those, the ones no path held at the last
        scan; retired: contents whose path got other content."""
        one = lambda sql: self.db.query(sql)[0][0]  # noqa: E731
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

    # --- photos (see photos.py) -------------------------------------------------------------

    def photos(self) -> list[Photo]:
        return photos.photos(self.db)

    def missing_photos(self) -> list[Photo]:
        return photos.missing_photos(self.db)

    def photo(self, photo_id: int) -> Photo:
        return photos.photo(self.db, photo_id)

    def photo_by_path(self, path: str) -> Photo | None:
        return photos.photo_by_path(self.db, path)

    def photo_by_hash(self, digest: str) -> Photo | None:
        return photos.photo_by_hash(self.db, digest)

    def photo_hashes(self) -> set[str]:
        return photos.photo_hashes(self.db)

    def path_owner(self, path: str) -> int | None:
        return photos.path_owner(self.db, path)

    def known_files(self) -> dict[str, tuple[int, int]]:
        return photos.known_files(self.db)

    def present_paths_under(self, root: Path | str) -> list[str]:
        return photos.present_paths_under(self.db, root)

    def scan_errors(self) -> list[tuple[str, str]]:
        return photos.scan_errors(self.db)

    def add_photo(self, photo: PhotoRecord, faces: Sequence[FaceRecord]) -> int:
        return photos.add_photo(self.db, photo, faces)

    def add_path(self, photo_id: int, path: str, size: int, mtime_ns: int) -> int | None:
        return photos.add_path(self.db, photo_id, path, size, mtime_ns)

    def mark_missing(self, paths: Iterable[str]) -> None:
        photos.mark_missing(self.db, paths)

    def retire_orphans(self, candidates: Iterable[int] | None = None) -> int:
        return photos.retire_orphans(self.db, candidates)

    def record_error(self, path: str, size: int | None, mtime_ns: int | None, reason: str) -> None:
        photos.record_error(self.db, path, size, mtime_ns, reason)

    # --- faces (see faces.py) ---------------------------------------------------------------

    def face(self, face_id: int) -> Face:
        return faces.face(self.db, face_id)

    def faces_of_person(self, person_id: int) -> list[Face]:
        people.person(self.db, person_id)  # NotFoundError for a person that is not there
        return faces.faces_where(self.db, "f.person_id = ?", (person_id,))

    def unsorted_faces(self) -> list[Face]:
        return faces.faces_where(self.db, "f.person_id IS NULL")

    def faces_of_photo(self, photo_id: int) -> list[Face]:
        return faces.faces_where(self.db, "f.photo_id = ?", (photo_id,))

    def face_crop(self, face_id: int) -> bytes:
        return faces.face_crop(self.db, face_id)

    def crops(self, face_ids: Sequence[int]) -> list[bytes]:
        return faces.crops(self.db, face_ids)

    def faces_to_embed(self, model_ids: Iterable[str]) -> list[int]:
        return faces.faces_to_embed(self.db, model_ids)

    def set_embeddings(self, face_ids: Sequence[int], codes: np.ndarray, model_id: str) -> None:
        faces.set_embeddings(self.db, face_ids, codes, model_id)

    def embeddings(self) -> np.ndarray:
        return faces.embeddings(self.db)

    # --- people (see people.py) -------------------------------------------------------------

    def people(self, include_hidden: bool = False, search: str = "") -> list[Person]:
        return people.people(self.db, include_hidden, search)

    def person(self, person_id: int) -> Person:
        return people.person(self.db, person_id)

    def person_by_name(self, name: str) -> Person | None:
        return people.person_by_name(self.db, name)

    def photos_together(
        self, person_ids: Sequence[int], only: bool = False, quality_floor: float = 0.0
    ) -> list[Photo]:
        return together.photos_together(self.db, person_ids, only, quality_floor)

    # --- grouping (see clustering.py) -------------------------------------------------------

    def cluster_input(self, model_ids: Iterable[str]) -> ClusterInput:
        return clustering.cluster_input(self.db, model_ids)

    def write_grouping(self, face_ids: np.ndarray, person: np.ndarray, new: np.ndarray) -> None:
        clustering.write_grouping(self.db, face_ids, person, new)

    def write_clustering(self, face_ids: np.ndarray, labels: np.ndarray) -> None:
        clustering.write_clustering(self.db, face_ids, labels)
