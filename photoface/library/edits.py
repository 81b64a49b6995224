"""What the user says (name, merge, move, reject, apart, hide, cover, remove), each an undoable
logged edit.

Every edit snapshots the rows it may touch before and after; undo writes the "before" back and
redo the "after". The snapshot covers the faces' person, lock and removal, the people's name,
hidden flag and cover (or their absence), the rejections of the faces and people in scope, and
the "not the same person" pairs (`apart`) of the people in scope.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from photoface.errors import NotFoundError, PhotofaceError
from photoface.library.db import Database, chunks, in_clause
from photoface.library.faces import WITHDRAWN
from photoface.library.people import (
    drop_empty_auto_people,
    face_ids_of,
    last_person_id,
    new_person,
    person,
    person_by_name,
)
from photoface.library.photos import INSERT_FACE, face_row
from photoface.library.photos import photo as photo_of
from photoface.library.records import FaceRecord, Person
from photoface.names import clean_name

log = logging.getLogger(__name__)


class NameConflictError(PhotofaceError):
    """A merge of people with different names, with no name chosen for the result."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        quoted = ", ".join(f"'{n}'" for n in names)
        super().__init__(
            f"these people have different names ({quoted}); say which name the merged person "
            "keeps (photoface merge ... --name NAME), or rename one first"
        )


@dataclass
class _Scope:
    faces: set[int] = field(default_factory=set)
    people: set[int] = field(default_factory=set)


class Edits:
    """The undoable edits on one open library (`library.edits`), and its undo log."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def _conn(self) -> sqlite3.Connection:
        return self.db.conn

    def _person(self, person_id: int) -> Person:
        return person(self.db, person_id)

    def _person_by_name(self, name: str) -> Person | None:
        return person_by_name(self.db, name)

    def _face_ids_of(self, person_id: int) -> list[int]:
        return face_ids_of(self.db, person_id)

    # --- snapshots ----------------------------------------------------------------------------

    def _snapshot(self, scope: _Scope) -> dict[str, Any]:
        """The rows in scope as they are now. The people of the faces in scope join the scope,
        so that a restore never points a face at a person it does not also restore."""
        faces = sorted(scope.faces)
        snap: dict[str, Any] = {"faces": {}, "people": {}, "rejections": []}
        for chunk in chunks(faces):
            sql = (
                f"SELECT id, person_id, locked, removed FROM faces WHERE id {in_clause(len(chunk))}"
            )
            for fid, pid, locked, removed in self.db.query(sql, chunk):
                snap["faces"][str(fid)] = [pid, locked, removed]
                if pid is not None:
                    scope.people.add(int(pid))
        people = sorted(scope.people)
        for pid in people:
            row = self.db.query(
                "SELECT name, hidden, cover_face_id FROM people WHERE id = ?", (pid,)
            )
            snap["people"][str(pid)] = list(row[0]) if row else None
        snap["rejections"] = self._rejections_in(faces, people)
        snap["apart"] = self._apart_of(people)
        snap["scope"] = {"faces": faces, "people": people}
        return snap

    def _rejections_in(self, faces: list[int], people: list[int]) -> list[list[int]]:
        rows: set[tuple[int, int]] = set()
        sql = "SELECT face_id, person_id FROM rejections WHERE {} {}"
        for column, ids in (("face_id", faces), ("person_id", people)):
            for chunk in chunks(ids):
                rows.update(self.db.query(sql.format(column, in_clause(len(chunk))), chunk))
        return sorted([list(r) for r in rows])

    def _apart_of(self, people: list[int]) -> list[list[int]]:
        rows: set[tuple[int, int]] = set()
        sql = "SELECT person_a, person_b FROM apart WHERE {} {}"
        for column in ("person_a", "person_b"):
            for chunk in chunks(people):
                rows.update(self.db.query(sql.format(column, in_clause(len(chunk))), chunk))
        return sorted([list(r) for r in rows])

    def _restore(self, c: sqlite3.Connection, snap: dict[str, Any]) -> None:
        now = time.time()
        for pid, v in snap["people"].items():
            if v is not None:
                c.execute(
                    "INSERT INTO people(id, name, hidden, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET name = excluded.name, hidden = excluded.hidden",
                    (int(pid), v[0], v[1], now),
                )
                if len(v) > 2:  # a snapshot from before covers leaves the cover as it is
                    c.execute(
                        "UPDATE people SET cover_face_id = "
                        "(SELECT id FROM faces WHERE id = ?) WHERE id = ?",
                        (v[2], int(pid)),
                    )
        c.executemany(
            "UPDATE faces SET person_id = ?, locked = ?, removed = ? WHERE id = ?",
            [(v[0], v[1], v[2], int(fid)) for fid, v in snap["faces"].items()],
        )
        scope = snap["scope"]
        for chunk in chunks(scope["faces"]):
            c.execute(f"DELETE FROM rejections WHERE face_id {in_clause(len(chunk))}", chunk)
        for chunk in chunks(scope["people"]):
            c.execute(f"DELETE FROM rejections WHERE person_id {in_clause(len(chunk))}", chunk)
        c.executemany(
            "INSERT OR IGNORE INTO rejections(face_id, person_id) SELECT ?, ? "
            "WHERE EXISTS (SELECT 1 FROM people WHERE id = ?)",
            [(f, p, p) for f, p in snap["rejections"]],
        )
        if "apart" in snap:  # logged by a version that had no `apart` pairs: none to restore
            for chunk in chunks(scope["people"]):
                ids_in = in_clause(len(chunk))
                c.execute(
                    f"DELETE FROM apart WHERE person_a {ids_in} OR person_b {ids_in}", chunk * 2
                )
            c.executemany(
                "INSERT OR IGNORE INTO apart(person_a, person_b) SELECT ?, ? "
                "WHERE EXISTS (SELECT 1 FROM people WHERE id = ?) "
                "AND EXISTS (SELECT 1 FROM people WHERE id = ?)",
                [(a, b, a, b) for a, b in snap["apart"]],
            )
        for pid, v in snap["people"].items():
            if v is None:
                c.execute("DELETE FROM people WHERE id = ?", (int(pid),))
        drop_empty_auto_people(c, [int(p) for p in snap["people"]])

    @contextmanager
    def _edit(
        self,
        kind: str,
        description: str,
        faces: Iterable[int] = (),
        people: Iterable[int] = (),
        prepare: Callable[[sqlite3.Connection], Iterable[int]] | None = None,
    ) -> Iterator[_Scope]:
        """One logged edit of the rows in scope. `prepare` runs first in the same transaction
        and returns more faces for the scope: rows the edit makes, snapshotted as they are
        before it changes them (a drawn face, withdrawn until the edit shows it)."""
        with self.db.transaction() as c:
            made = list(prepare(c)) if prepare is not None else []
            scope = _Scope(set(faces) | set(made), set(people))
            # A person in scope brings all its faces, read under the write lock: a face a scan
            # put into it a moment ago is then in the snapshot too, and undo reverts it.
            for pid in sorted(scope.people):
                scope.faces.update(self._face_ids_of(pid))
            before = self._snapshot(scope)
            last_id = last_person_id(c)
            yield scope
            drop_empty_auto_people(c, scope.people)
            after = self._snapshot(scope)
            for pid in after["people"]:
                if pid in before["people"]:
                    continue
                # Only a person this edit created may be missing from "before": its id is new
                # (ids are never reused). Any other would be restored wrongly by an undo.
                if int(pid) <= last_id:
                    raise RuntimeError(f"edit {kind!r} touched person {pid} outside its scope")
                before["people"][pid] = None
            if scope.faces - {int(f) for f in before["faces"]}:
                raise RuntimeError(f"edit {kind!r} touched faces outside its scope")
            before["scope"] = after["scope"]
            c.execute("DELETE FROM ops WHERE undone = 1")  # a new edit ends the redo chain
            c.execute(
                "INSERT INTO ops(kind, description, before, after, at) VALUES (?, ?, ?, ?, ?)",
                (kind, description, json.dumps(before), json.dumps(after), time.time()),
            )

    # --- the edits --------------------------------------------------------------------------

    def _check_faces(self, face_ids: Sequence[int]) -> list[int]:
        ids = sorted({int(f) for f in face_ids})
        if not ids:
            raise PhotofaceError("no faces given")
        found = set()
        for chunk in chunks(ids):
            # A withdrawn face (a drawing undone) is not there: an edit must not bring it back.
            sql = f"SELECT id FROM faces WHERE removed != ? AND id {in_clause(len(chunk))}"
            rows = self.db.query(sql, (WITHDRAWN, *chunk))
            found.update(r[0] for r in rows)
        missing = [f for f in ids if f not in found]
        if missing:
            raise NotFoundError(f"no face with id {', '.join(map(str, missing))}")
        return ids

    def rename(self, person_id: int, name: str | None) -> None:
        """Name a person (None: forget the name). Naming locks its faces to it."""
        person = self._person(person_id)
        name = clean_name(name) if name else None  # "" or None forgets the name
        if name:
            self._check_name_free(name, {person_id})
        faces = self._face_ids_of(person_id)
        what = f"Rename {person.label} to {name}" if name else f"Clear the name of {person.label}"
        with self._edit("rename", what, faces, [person_id]):
            self._conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id))
            if name:
                self._conn.execute("UPDATE faces SET locked = 1 WHERE person_id = ?", (person_id,))

    def _check_name_free(self, name: str, allowed: set[int]) -> None:
        other = self._person_by_name(name)
        if other is not None and other.id not in allowed:
            ids = " ".join(str(i) for i in sorted(allowed))
            raise PhotofaceError(
                f"'{name}' is already the name of person {other.id}; to make them one "
                f"person, merge them (photoface merge {other.id} {ids})."
            )

    def merge(
        self, person_ids: Sequence[int], into: int | None = None, name: str | None = None
    ) -> int:
        """Merge people into one (by default the named or biggest); returns its id.

        People with different names are merged only with `name` given (one of theirs or a new
        one): a merge never drops a name the user gave without being told which to keep.
        """
        people = [self._person(p) for p in dict.fromkeys(int(p) for p in person_ids)]
        if into is not None:
            target = self._person(into)
            if target.id not in {p.id for p in people}:
                people.append(target)
        if len(people) < 2:
            raise PhotofaceError("merge needs at least two different people")
        if into is None:
            target = max(people, key=lambda p: (p.name is not None, p.face_count, -p.id))
        others = [p for p in people if p.id != target.id]
        names = list(dict.fromkeys(p.name for p in people if p.name))
        if name is not None:
            name = clean_name(name)
            self._check_name_free(name, {p.id for p in people})
        elif len({n.casefold() for n in names}) > 1:
            raise NameConflictError(names)
        else:
            name = target.name or (names[0] if names else None)
        faces = [f for p in people for f in self._face_ids_of(p.id)]
        what = f"Merge {', '.join(p.label for p in others)} into {name or target.label}"
        with self._edit("merge", what, faces, [p.id for p in people]):
            ids = [p.id for p in others]
            ids_in = in_clause(len(ids))
            self._conn.execute(
                f"UPDATE faces SET person_id = ?, locked = 1 WHERE person_id {ids_in}",
                (target.id, *ids),
            )
            self._conn.execute("UPDATE faces SET locked = 1 WHERE person_id = ?", (target.id,))
            self._conn.execute(
                f"UPDATE OR IGNORE rejections SET person_id = ? WHERE person_id {ids_in}",
                (target.id, *ids),
            )
            # The merge puts every face of these people in the target: a "not the target" said
            # of one of them before is overruled by this newer word (undo brings it back).
            for chunk in chunks(faces):
                faces_in = in_clause(len(chunk))
                self._conn.execute(
                    f"DELETE FROM rejections WHERE person_id = ? AND face_id {faces_in}",
                    (target.id, *chunk),
                )
            self._merge_apart([p.id for p in people], target.id)
            self._conn.execute(f"DELETE FROM people WHERE id {ids_in}", ids)
            self._conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, target.id))
        return target.id

    def _merge_apart(self, merged: list[int], target: int) -> None:
        """The "not the same person" pairs after a merge into `target`: a pair within the
        merged people goes (the user's merge by hand is the newer word), a pair with someone
        else now holds for the target."""
        rows = self._apart_of(merged)
        gone = set(merged)
        kept = set()
        for a, b in rows:
            a, b = (target if a in gone else a), (target if b in gone else b)
            if a != b:
                kept.add((min(a, b), max(a, b)))
        self._conn.executemany(
            "DELETE FROM apart WHERE person_a = ? AND person_b = ?", [tuple(r) for r in rows]
        )
        self._conn.executemany(
            "INSERT OR IGNORE INTO apart(person_a, person_b) VALUES (?, ?)", sorted(kept)
        )

    def keep_apart(self, person_a: int, person_b: int) -> None:
        """ "Not the same person": two people that no regroup ever merges (a merge by hand
        still may, and then the pair goes)."""
        a, b = self._person(person_a), self._person(person_b)
        if a.id == b.id:
            raise PhotofaceError("a person cannot be kept apart from itself")
        what = f"{a.label} ({a.id}) and {b.label} ({b.id}) are different people"
        with self._edit("apart", what, people=[a.id, b.id]):
            self._conn.execute(
                "INSERT OR IGNORE INTO apart(person_a, person_b) VALUES (?, ?)",
                (min(a.id, b.id), max(a.id, b.id)),
            )

    def move_faces(self, face_ids: Sequence[int], person_id: int | None) -> int:
        """Put faces into a person (None: a new one), locked there; returns the person's id."""
        ids = self._check_faces(face_ids)
        target = self._person(person_id) if person_id is not None else None
        label = target.label if target else "a new person"
        declared = [target.id] if target else []
        with self._edit("move", f"Move {len(ids)} face(s) to {label}", ids, declared) as scope:
            if target is None:
                person_id = new_person(self._conn)
            scope.people.add(int(person_id))
            for chunk in chunks(ids):
                ids_in = in_clause(len(chunk))
                self._conn.execute(
                    f"UPDATE faces SET person_id = ?, locked = 1, removed = 0 WHERE id {ids_in}",
                    (person_id, *chunk),
                )
                self._conn.execute(
                    f"DELETE FROM rejections WHERE person_id = ? AND face_id {ids_in}",
                    (person_id, *chunk),
                )
        return int(person_id)

    def reject(self, face_ids: Sequence[int], person_id: int) -> None:
        """ "Not this person": the faces leave it and never come back to it."""
        ids = self._check_faces(face_ids)
        person = self._person(person_id)
        with self._edit("reject", f"{len(ids)} face(s) are not {person.label}", ids, [person_id]):
            for chunk in chunks(ids):
                ids_in = in_clause(len(chunk))
                self._conn.execute(
                    f"UPDATE faces SET person_id = NULL, locked = 0 "
                    f"WHERE person_id = ? AND id {ids_in}",
                    (person_id, *chunk),
                )
            self._conn.executemany(
                "INSERT OR IGNORE INTO rejections(face_id, person_id) VALUES (?, ?)",
                [(f, person_id) for f in ids],
            )

    def hide(self, person_id: int, hidden: bool = True) -> None:
        """Hide a person (a stranger) or show it again; hiding keeps its faces together."""
        person = self._person(person_id)
        what = f"{'Hide' if hidden else 'Show'} {person.label}"
        faces = self._face_ids_of(person_id)
        with self._edit("hide", what, faces, [person_id]):
            self._conn.execute(
                "UPDATE people SET hidden = ? WHERE id = ?", (int(hidden), person_id)
            )
            if hidden:
                self._conn.execute("UPDATE faces SET locked = 1 WHERE person_id = ?", (person_id,))

    def set_cover(self, person_id: int, face_id: int) -> None:
        """Show a person by this face of theirs. The face is locked to the person, so a regroup
        keeps it there; should it leave later, the person falls back to their best face."""
        person = self._person(person_id)
        (fid,) = self._check_faces([face_id])
        owner = self.db.query("SELECT person_id FROM faces WHERE id = ?", (fid,))[0][0]
        if owner != person.id:
            raise PhotofaceError(f"face {fid} is not one of {person.label}'s faces")
        with self._edit(
            "cover", f"Use face {fid} as the cover of {person.label}", [fid], [person_id]
        ):
            self._conn.execute("UPDATE people SET cover_face_id = ? WHERE id = ?", (fid, person_id))
            self._conn.execute("UPDATE faces SET locked = 1 WHERE id = ?", (fid,))

    def remove_faces(self, face_ids: Sequence[int]) -> None:
        """Not a face at all (a false detection): hidden everywhere, kept for undo."""
        ids = self._check_faces(face_ids)
        with self._edit("remove", f"Remove {len(ids)} face(s)", ids):
            for chunk in chunks(ids):
                self._conn.execute(
                    f"UPDATE faces SET removed = 1 WHERE id {in_clause(len(chunk))}", chunk
                )

    def add_face(self, photo_id: int, face: FaceRecord, person_id: int | None) -> int:
        """A face the user drew on a photo (the detector missed it), stored as manual and put in
        person `person_id` (None: unsorted), not locked there; returns its id. Undo withdraws
        it (hidden everywhere, as if never drawn), redo brings it back."""
        photo = photo_of(self.db, photo_id)
        target = self._person(person_id) if person_id is not None else None
        what = f"Add a face on {os.path.basename(photo.path)}"
        what += f" to {target.label}" if target else " (unsorted)"
        made: list[int] = []

        def insert(c: sqlite3.Connection) -> list[int]:
            cur = c.execute(INSERT_FACE, (photo_id, *face_row(replace(face, manual=True))))
            made.append(int(cur.lastrowid))
            c.execute("UPDATE faces SET removed = ? WHERE id = ?", (WITHDRAWN, made[0]))
            return made

        declared = [target.id] if target else []
        with self._edit("add-face", what, (), declared, prepare=insert):
            self._conn.execute(
                "UPDATE faces SET removed = 0, person_id = ? WHERE id = ?", (person_id, made[0])
            )
        return made[0]

    def assign_names(
        self, names: dict[str, Sequence[int]], what: str | None = None
    ) -> dict[str, int]:
        """Put faces into people by name (existing, else new), locked there: one undoable edit
        (`what`: how the undo log says it). Returns name -> person id."""
        ids = self._check_faces([f for fs in names.values() for f in fs])
        existing = {n: self._person_by_name(n) for n in names}
        people = [p.id for p in existing.values() if p is not None]
        out: dict[str, int] = {}
        what = what or f"Name {len(ids)} face(s) from sidecars ({len(names)} people)"
        with self._edit("import", what, ids, people) as scope:
            for name, faces in names.items():
                person = existing[name]
                if person is None:
                    pid = new_person(self._conn, name)
                else:
                    pid = person.id
                scope.people.add(pid)
                out[name] = pid
                for chunk in chunks(list(faces)):
                    ids_in = in_clause(len(chunk))
                    self._conn.execute(
                        f"UPDATE faces SET person_id = ?, locked = 1 WHERE id {ids_in}",
                        (pid, *chunk),
                    )
                    self._conn.execute(
                        f"DELETE FROM rejections WHERE person_id = ? AND face_id {ids_in}",
                        (pid, *chunk),
                    )
        return out

    # --- undo / redo ------------------------------------------------------------------------

    def undo(self) -> str | None:
        """Undo the latest edit; returns what was undone, or None when there is nothing."""
        return self._step("undo")

    def redo(self) -> str | None:
        """Redo the earliest undone edit; returns what was redone, or None when there is none."""
        return self._step("redo")

    def _step(self, way: str) -> str | None:
        """Write back one logged edit's "before" (undo: the latest edit still done) or its
        "after" (redo: the earliest one undone), and flip its flag, in one transaction."""
        undo = way == "undo"
        column, flag, order = ("before", 0, "DESC") if undo else ("after", 1, "ASC")
        with self.db.transaction() as c:
            row = c.execute(
                f"SELECT id, description, {column} FROM ops WHERE undone = ? "
                f"ORDER BY id {order} LIMIT 1",
                (flag,),
            ).fetchone()
            if row is None:
                return None
            self._restore_or_explain(c, json.loads(row[2]), f"{way} {row[1]!r}")
            c.execute("UPDATE ops SET undone = ? WHERE id = ?", (1 - flag, row[0]))
            return str(row[1])

    def _restore_or_explain(self, c: sqlite3.Connection, snap: dict[str, Any], what: str) -> None:
        try:
            self._restore(c, snap)
        except sqlite3.IntegrityError as e:  # the transaction rolls back: nothing changes
            log.error("cannot %s: %s", what, e)
            raise PhotofaceError(f"cannot {what}: the library no longer matches it ({e})") from e

    def next_undo(self) -> str | None:
        """What `undo` would undo now (None: nothing)."""
        row = self.db.query("SELECT description FROM ops WHERE undone = 0 ORDER BY id DESC LIMIT 1")
        return str(row[0][0]) if row else None

    def next_redo(self) -> str | None:
        """What `redo` would redo now (None: nothing)."""
        row = self.db.query("SELECT description FROM ops WHERE undone = 1 ORDER BY id LIMIT 1")
        return str(row[0][0]) if row else None
