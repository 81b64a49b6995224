"""People: the queries, and person ids that are never given out twice."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
import unicodedata
from collections.abc import Iterable

from photoface.errors import NotFoundError
from photoface.library.db import Database, chunks, in_clause
from photoface.library.faces import LIVE, LIVE2
from photoface.library.records import Person

log = logging.getLogger(__name__)

LAST_PERSON_ID = "last_person_id"

# An automatic person (no name, not hidden, no "not this person" or "not the same person"
# about it) exists only through its faces; one left with none is gone, as a regroup would
# leave it.
_EMPTY_AUTO_PEOPLE = (
    "DELETE FROM people WHERE name IS NULL AND hidden = 0 AND {where} "
    "AND NOT EXISTS (SELECT 1 FROM faces f WHERE f.person_id = people.id) "
    "AND NOT EXISTS (SELECT 1 FROM rejections r WHERE r.person_id = people.id) "
    "AND NOT EXISTS (SELECT 1 FROM apart a WHERE people.id IN (a.person_a, a.person_b))"
)

# A person's cover: the face the user chose while it is live and still theirs, else their
# best-quality face (read from the faces_person_live index).
_COVER = (
    f"coalesce((SELECT f2.id FROM faces f2 WHERE f2.id = pe.cover_face_id "
    f"AND f2.person_id = pe.id AND {LIVE2}), "
    f"(SELECT f2.id FROM faces f2 WHERE f2.person_id = pe.id AND {LIVE2} "
    "ORDER BY f2.quality DESC LIMIT 1))"
)

# --- reading --------------------------------------------------------------------------------


def people(db: Database, include_hidden: bool = False, search: str = "") -> list[Person]:
    """People with at least one face, biggest first."""
    where = "" if include_hidden else "AND pe.hidden = 0"
    args: list[object] = []
    if search:
        where += " AND pe.name LIKE ? ESCAPE '\\'"
        args.append("%" + _like_escape(search) + "%")
    rows = db.query(
        f"SELECT pe.id, pe.name, pe.hidden, count(f.id), {_COVER} "
        f"FROM people pe JOIN faces f ON f.person_id = pe.id AND {LIVE} "
        f"WHERE 1 {where} GROUP BY pe.id ORDER BY count(f.id) DESC, pe.id",
        args,
    )
    return [Person(r[0], r[1], bool(r[2]), r[3], r[4]) for r in rows]


def person(db: Database, person_id: int) -> Person:
    row = db.query(
        "SELECT pe.id, pe.name, pe.hidden, "
        f"(SELECT count(*) FROM faces f WHERE f.person_id = pe.id AND {LIVE}), "
        f"{_COVER} FROM people pe WHERE pe.id = ?",
        (person_id,),
    )
    if not row:
        raise NotFoundError(f"no person with id {person_id}")
    r = row[0]
    return Person(r[0], r[1], bool(r[2]), r[3], r[4])


def person_by_name(db: Database, name: str) -> Person | None:
    """The person with this name, case folded as Unicode does ("Émile" is "émile"; SQLite's
    NOCASE folds only ASCII)."""
    want = unicodedata.normalize("NFC", name).casefold()
    rows = db.query("SELECT id, name FROM people WHERE name IS NOT NULL ORDER BY id")
    same = (pid for pid, n in rows if unicodedata.normalize("NFC", n).casefold() == want)
    found = next(same, None)
    return person(db, found) if found is not None else None


def face_ids_of(db: Database, person_id: int) -> list[int]:
    """Every face in this person, live or not."""
    return [r[0] for r in db.query("SELECT id FROM faces WHERE person_id = ?", (person_id,))]


def _like_escape(text: str) -> str:
    """`text` matched literally by LIKE ... ESCAPE '\\': its wildcards `%` and `_` escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --- writing, inside the caller's transaction ---------------------------------------------------


def last_person_id(c: sqlite3.Connection) -> int:
    """The highest person id ever given out in this library (0: none yet), inside the
    caller's transaction. A library from before this mark was kept learns it once from its
    people and its undo log, which may still name people deleted since."""
    row = c.execute("SELECT value FROM meta WHERE key = ?", (LAST_PERSON_ID,)).fetchone()
    top = int(c.execute("SELECT coalesce(max(id), 0) FROM people").fetchone()[0])
    if row is not None:
        return max(int(row[0]), top)
    for before, after in c.execute("SELECT before, after FROM ops"):
        for snap in (json.loads(before), json.loads(after)):
            ids = [int(p) for p in snap.get("people", {})]
            ids += [int(v[0]) for v in snap.get("faces", {}).values() if v and v[0] is not None]
            ids += [int(r[1]) for r in snap.get("rejections", [])]
            top = max([top, *ids])
    c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (LAST_PERSON_ID, str(top)))
    return top


def new_person(c: sqlite3.Connection, name: str | None = None) -> int:
    """Create a person with an id never used before in this library, inside the caller's
    transaction. SQLite would hand out a deleted top id again, and an undo that restores the
    old person would then write onto someone else."""
    pid = last_person_id(c) + 1
    c.execute("INSERT INTO people(id, name, created_at) VALUES (?, ?, ?)", (pid, name, time.time()))
    c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (LAST_PERSON_ID, str(pid)))
    return pid


def drop_empty_auto_people(c: sqlite3.Connection, people_ids: Iterable[int] | None) -> None:
    """Delete the automatic people left without faces: of `people_ids`, or (None) all."""
    if people_ids is None:
        c.execute(_EMPTY_AUTO_PEOPLE.format(where="1"))
        return
    for chunk in chunks(sorted(people_ids)):
        c.execute(_EMPTY_AUTO_PEOPLE.format(where=f"id {in_clause(len(chunk))}"), chunk)
