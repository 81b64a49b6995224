"""What the user says (name, merge, move, reject, hide, remove), each an undoable logged edit.

Every edit snapshots the rows it may touch before and after; undo writes the "before" back and
redo the "after". The snapshot covers the faces' person, lock and removal, the people's name and
hidden flag (or their absence), and the rejections of the faces and people in scope.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from photoface.errors import NotFoundError, PhotofaceError

if TYPE_CHECKING:
    from photoface.store import Person

log = logging.getLogger(__name__)


@dataclass
class _Scope:
    faces: set[int] = field(default_factory=set)
    people: set[int] = field(default_factory=set)


def _marks(n: int) -> str:
    return ",".join("?" * n)


class EditsMixin:
    """Undoable edits on a Library (needs its `conn`, `transaction`, `_q` and `person`)."""

    conn: sqlite3.Connection

    # --- snapshots ----------------------------------------------------------------------------

    def _snapshot(self, scope: _Scope) -> dict[str, Any]:
        faces, people = sorted(scope.faces), sorted(scope.people)
        snap: dict[str, Any] = {"faces": {}, "people": {}, "rejections": []}
        for chunk in _chunks(faces):
            sql = "SELECT id, person_id, locked, removed FROM faces WHERE id IN ({})"
            for fid, pid, locked, removed in self._q(sql.format(_marks(len(chunk))), chunk):
                snap["faces"][str(fid)] = [pid, locked, removed]
        for pid in people:
            row = self._q("SELECT name, hidden FROM people WHERE id = ?", (pid,))
            snap["people"][str(pid)] = list(row[0]) if row else None
        snap["rejections"] = self._rejections_in(faces, people)
        snap["scope"] = {"faces": faces, "people": people}
        return snap

    def _rejections_in(self, faces: list[int], people: list[int]) -> list[list[int]]:
        rows: set[tuple[int, int]] = set()
        sql = "SELECT face_id, person_id FROM rejections WHERE {} IN ({})"
        for column, ids in (("face_id", faces), ("person_id", people)):
            for chunk in _chunks(ids):
                rows.update(self._q(sql.format(column, _marks(len(chunk))), chunk))
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
        c.executemany(
            "UPDATE faces SET person_id = ?, locked = ?, removed = ? WHERE id = ?",
            [(v[0], v[1], v[2], int(fid)) for fid, v in snap["faces"].items()],
        )
        scope = snap["scope"]
        for chunk in _chunks(scope["faces"]):
            c.execute(f"DELETE FROM rejections WHERE face_id IN ({_marks(len(chunk))})", chunk)
        for chunk in _chunks(scope["people"]):
            c.execute(f"DELETE FROM rejections WHERE person_id IN ({_marks(len(chunk))})", chunk)
        c.executemany(
            "INSERT OR IGNORE INTO rejections(face_id, person_id) SELECT ?, ? "
            "WHERE EXISTS (SELECT 1 FROM people WHERE id = ?)",
            [(f, p, p) for f, p in snap["rejections"]],
        )
        for pid, v in snap["people"].items():
            if v is None:
                c.execute("DELETE FROM people WHERE id = ?", (int(pid),))

    @contextmanager
    def _edit(
        self, kind: str, description: str, faces: Iterable[int] = (), people: Iterable[int] = ()
    ) -> Iterator[_Scope]:
        with self.transaction() as c:
            scope = _Scope(set(faces), set(people))
            before = self._snapshot(scope)
            yield scope
            after = self._snapshot(scope)
            for pid in after["people"]:  # people the edit created did not exist before it
                before["people"].setdefault(pid, None)
            before["scope"] = after["scope"]
            extra = sorted(scope.faces - {int(f) for f in before["faces"]})
            for fid in extra:  # faces pulled into scope by the edit itself
                before["faces"][str(fid)] = after["faces"].get(str(fid))
            c.execute("DELETE FROM ops WHERE undone = 1")  # a new edit ends the redo chain
            c.execute(
                "INSERT INTO ops(kind, description, before, after, at) VALUES (?, ?, ?, ?, ?)",
                (kind, description, json.dumps(before), json.dumps(after), time.time()),
            )

    # --- the edits --------------------------------------------------------------------------

    def _face_ids_of(self, person_id: int) -> list[int]:
        return [r[0] for r in self._q("SELECT id FROM faces WHERE person_id = ?", (person_id,))]

    def _check_faces(self, face_ids: Sequence[int]) -> list[int]:
        ids = sorted({int(f) for f in face_ids})
        if not ids:
            raise PhotofaceError("no faces given")
        found = set()
        for chunk in _chunks(ids):
            found.update(r[0] for r in self._q(
                f"SELECT id FROM faces WHERE id IN ({_marks(len(chunk))})", chunk))  # fmt: skip
        missing = [f for f in ids if f not in found]
        if missing:
            raise NotFoundError(f"no face with id {', '.join(map(str, missing))}")
        return ids

    def rename(self, person_id: int, name: str | None) -> None:
        """Name a person (None: forget the name). Naming locks its faces to it."""
        person = self.person(person_id)
        name = name.strip() if name else None
        if name:
            other = self.person_by_name(name)
            if other is not None and other.id != person_id:
                raise PhotofaceError(
                    f"'{name}' is already the name of person {other.id}; to make them one "
                    f"person, merge them (photoface merge {other.id} {person_id})."
                )
        faces = self._face_ids_of(person_id)
        what = f"Rename {person.label} to {name}" if name else f"Clear the name of {person.label}"
        with self._edit("rename", what, faces, [person_id]):
            self.conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id))
            if name:
                self.conn.execute("UPDATE faces SET locked = 1 WHERE person_id = ?", (person_id,))

    def merge(self, person_ids: Sequence[int], into: int | None = None) -> int:
        """Merge people into one (by default the named or biggest); returns its id."""
        people = [self.person(p) for p in dict.fromkeys(int(p) for p in person_ids)]
        if len(people) < 2:
            raise PhotofaceError("merge needs at least two different people")
        if into is None:
            target = max(people, key=lambda p: (p.name is not None, p.face_count, -p.id))
        else:
            target = self.person(into)
            if target.id not in {p.id for p in people}:
                people.append(target)
        others = [p for p in people if p.id != target.id]
        faces = [f for p in people for f in self._face_ids_of(p.id)]
        name = target.name or next((p.name for p in others if p.name), None)
        what = f"Merge {', '.join(p.label for p in others)} into {target.label}"
        with self._edit("merge", what, faces, [p.id for p in people]):
            ids = [p.id for p in others]
            m = _marks(len(ids))
            self.conn.execute(
                f"UPDATE faces SET person_id = ?, locked = 1 WHERE person_id IN ({m})",
                (target.id, *ids),
            )
            self.conn.execute("UPDATE faces SET locked = 1 WHERE person_id = ?", (target.id,))
            self.conn.execute(
                f"UPDATE OR IGNORE rejections SET person_id = ? WHERE person_id IN ({m})",
                (target.id, *ids),
            )
            self.conn.execute(f"DELETE FROM people WHERE id IN ({m})", ids)
            self.conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, target.id))
        return target.id

    def move_faces(self, face_ids: Sequence[int], person_id: int | None) -> int:
        """Put faces into a person (None: a new one), locked there; returns the person's id."""
        ids = self._check_faces(face_ids)
        target = self.person(person_id) if person_id is not None else None
        label = target.label if target else "a new person"
        with self._edit("move", f"Move {len(ids)} face(s) to {label}", ids) as scope:
            if target is None:
                cur = self.conn.execute("INSERT INTO people(created_at) VALUES (?)", (time.time(),))
                person_id = int(cur.lastrowid)
            scope.people.add(int(person_id))
            for chunk in _chunks(ids):
                m = _marks(len(chunk))
                self.conn.execute(
                    f"UPDATE faces SET person_id = ?, locked = 1, removed = 0 WHERE id IN ({m})",
                    (person_id, *chunk),
                )
                self.conn.execute(
                    f"DELETE FROM rejections WHERE person_id = ? AND face_id IN ({m})",
                    (person_id, *chunk),
                )
        return int(person_id)

    def reject(self, face_ids: Sequence[int], person_id: int) -> None:
        """ "Not this person": the faces leave it and never come back to it."""
        ids = self._check_faces(face_ids)
        person = self.person(person_id)
        with self._edit("reject", f"{len(ids)} face(s) are not {person.label}", ids, [person_id]):
            for chunk in _chunks(ids):
                m = _marks(len(chunk))
                self.conn.execute(
                    f"UPDATE faces SET person_id = NULL, locked = 0 "
                    f"WHERE person_id = ? AND id IN ({m})",
                    (person_id, *chunk),
                )
            self.conn.executemany(
                "INSERT OR IGNORE INTO rejections(face_id, person_id) VALUES (?, ?)",
                [(f, person_id) for f in ids],
            )

    def hide(self, person_id: int, hidden: bool = True) -> None:
        """Hide a person (a stranger) or show it again; hiding keeps its faces together."""
        person = self.person(person_id)
        what = f"{'Hide' if hidden else 'Show'} {person.label}"
        faces = self._face_ids_of(person_id)
        with self._edit("hide", what, faces, [person_id]):
            self.conn.execute("UPDATE people SET hidden = ? WHERE id = ?", (int(hidden), person_id))
            if hidden:
                self.conn.execute("UPDATE faces SET locked = 1 WHERE person_id = ?", (person_id,))

    def remove_faces(self, face_ids: Sequence[int]) -> None:
        """Not a face at all (a false detection): hidden everywhere, kept for undo."""
        ids = self._check_faces(face_ids)
        with self._edit("remove", f"Remove {len(ids)} face(s)", ids):
            for chunk in _chunks(ids):
                self.conn.execute(
                    f"UPDATE faces SET removed = 1 WHERE id IN ({_marks(len(chunk))})", chunk
                )

    def assign_names(self, names: dict[str, Sequence[int]]) -> dict[str, int]:
        """Put faces into people by name (existing, else new), locked there: one undoable edit.
        Returns name -> person id."""
        ids = self._check_faces([f for fs in names.values() for f in fs])
        existing = {n: self.person_by_name(n) for n in names}
        people = [p.id for p in existing.values() if p is not None]
        out: dict[str, int] = {}
        what = f"Name {len(ids)} face(s) from sidecars ({len(names)} people)"
        with self._edit("import", what, ids, people) as scope:
            for name, faces in names.items():
                person = existing[name]
                if person is None:
                    cur = self.conn.execute(
                        "INSERT INTO people(name, created_at) VALUES (?, ?)", (name, time.time())
                    )
                    pid = int(cur.lastrowid)
                else:
                    pid = person.id
                scope.people.add(pid)
                out[name] = pid
                for chunk in _chunks(list(faces)):
                    m = _marks(len(chunk))
                    self.conn.execute(
                        f"UPDATE faces SET person_id = ?, locked = 1 WHERE id IN ({m})",
                        (pid, *chunk),
                    )
                    self.conn.execute(
                        f"DELETE FROM rejections WHERE person_id = ? AND face_id IN ({m})",
                        (pid, *chunk),
                    )
        return out

    def retire_photos(self, photo_ids: Sequence[int]) -> int:
        """Photos whose path now holds other content (edited in place): their faces leave their
        people and are hidden, kept so undo brings them back; the photos are marked retired (a
        mark undo leaves, so a later scan does not retire them again). Returns faces retired."""
        ids = sorted({int(p) for p in photo_ids})
        faces: list[int] = []
        people: set[int] = set()
        for chunk in _chunks(ids):
            sql = "SELECT id, person_id FROM faces WHERE removed = 0 AND photo_id IN ({})"
            for fid, pid in self._q(sql.format(_marks(len(chunk))), chunk):
                faces.append(fid)
                if pid is not None:
                    people.add(pid)

        def mark_retired(c: sqlite3.Connection) -> None:
            now = time.time()
            for chunk in _chunks(ids):
                c.execute(
                    f"UPDATE photos SET retired_at = ? WHERE id IN ({_marks(len(chunk))})",
                    (now, *chunk),
                )

        if not faces:
            with self.transaction() as c:
                mark_retired(c)
            return 0
        what = f"Retire {len(faces)} face(s) of {len(ids)} photo(s) changed on disk"
        with self._edit("retire", what, faces, people):
            for chunk in _chunks(faces):
                self.conn.execute(
                    "UPDATE faces SET removed = 1, person_id = NULL, locked = 0 "
                    f"WHERE id IN ({_marks(len(chunk))})",
                    chunk,
                )
            mark_retired(self.conn)
        return len(faces)

    # --- undo / redo ------------------------------------------------------------------------

    def undo(self) -> str | None:
        """Undo the latest edit; returns what was undone, or None when there is nothing."""
        with self.transaction() as c:
            row = c.execute(
                "SELECT id, description, before FROM ops WHERE undone = 0 ORDER BY id DESC LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self._restore(c, json.loads(row[2]))
            c.execute("UPDATE ops SET undone = 1 WHERE id = ?", (row[0],))
            return str(row[1])

    def redo(self) -> str | None:
        with self.transaction() as c:
            row = c.execute(
                "SELECT id, description, after FROM ops WHERE undone = 1 ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self._restore(c, json.loads(row[2]))
            c.execute("UPDATE ops SET undone = 0 WHERE id = ?", (row[0],))
            return str(row[1])

    def next_undo(self) -> str | None:
        """What `undo` would undo now (None: nothing)."""
        row = self._q("SELECT description FROM ops WHERE undone = 0 ORDER BY id DESC LIMIT 1")
        return str(row[0][0]) if row else None

    def next_redo(self) -> str | None:
        """What `redo` would redo now (None: nothing)."""
        row = self._q("SELECT description FROM ops WHERE undone = 1 ORDER BY id LIMIT 1")
        return str(row[0][0]) if row else None

    def undo_history(self, limit: int = 20) -> list[tuple[int, str, bool]]:
        rows = self._q("SELECT id, description, undone FROM ops ORDER BY id DESC LIMIT ?", (limit,))
        return [(r[0], r[1], bool(r[2])) for r in rows]

    if TYPE_CHECKING:  # provided by Library

        def _q(self, sql: str, args: Sequence[object] = ()) -> list[tuple]: ...
        def transaction(self) -> Any: ...
        def person(self, person_id: int) -> Person: ...
        def person_by_name(self, name: str) -> Person | None: ...


def _chunks(ids: Sequence[int], size: int = 500) -> Iterator[list[int]]:
    ids = list(ids)
    for i in range(0, len(ids), size):
        yield ids[i : i + size]
