"""What grouping reads from the library, and its result written back."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np

from photoface.core.grouping import NO_PERSON
from photoface.library.db import Database, in_clause
from photoface.library.faces import LIVE
from photoface.library.people import drop_empty_auto_people, new_person
from photoface.library.records import ClusterInput

log = logging.getLogger(__name__)


def cluster_input(db: Database, model_ids: Iterable[str]) -> ClusterInput:
    """The live faces with a vector of one of `model_ids`, what the user said about them, and
    the people the user named."""
    ok = list(model_ids)
    rows = db.query(
        "SELECT id, photo_id, embedding, coalesce(person_id, ?), locked, quality "
        f"FROM faces f WHERE {LIVE} AND embedding IS NOT NULL AND model_id {in_clause(len(ok))} "
        "ORDER BY id",
        [NO_PERSON, *ok],
    )
    n = len(rows)
    dim = len(rows[0][2]) if n else 0
    emb = np.frombuffer(b"".join(r[2] for r in rows), np.int8).reshape(n, dim)
    rej = [(f, p) for f, p in db.query("SELECT face_id, person_id FROM rejections")]
    named = {r[0] for r in db.query("SELECT id FROM people WHERE name IS NOT NULL")}
    return ClusterInput(
        face_ids=np.array([r[0] for r in rows], np.int64),
        photo_ids=np.array([r[1] for r in rows], np.int64),
        embeddings=emb,
        person_ids=np.array([r[3] for r in rows], np.int64),
        locked=np.array([bool(r[4]) for r in rows], bool),
        quality=np.array([r[5] for r in rows], np.float32),
        rejections=rej,
        named=named,
        apart=[(a, b) for a, b in db.query("SELECT person_a, person_b FROM apart")],
    )


def write_grouping(db: Database, face_ids: np.ndarray, person: np.ndarray, new: np.ndarray) -> None:
    """Store a grouping of the unlocked faces: face i goes to person `person[i]`, to the new
    person numbered `person[i]` (0, 1, ...) where `new[i]`, or to no one (NO_PERSON)."""
    with db.transaction() as c:
        # Made highest number first, the order earlier versions made them in, so a library
        # grouped by this version gets the same person ids.
        made = {k: new_person(c) for k in sorted(set(person[new].tolist()), reverse=True)}
        rows = []
        for f, p, is_new in zip(face_ids.tolist(), person.tolist(), new.tolist(), strict=True):
            pid = made[p] if is_new else (None if p == NO_PERSON else p)
            rows.append((pid, f))
        c.executemany("UPDATE faces SET person_id = ? WHERE id = ? AND locked = 0", rows)
        # Auto people that lost every face go; named or hidden ones stay for the user, and so
        # do those a face was said not to be (deleting them would forget that "no").
        drop_empty_auto_people(c, None)


def write_clustering(db: Database, face_ids: np.ndarray, labels: np.ndarray) -> None:
    """write_grouping in one array, the short form tests and tools write by hand: a person id,
    0 for no one, or -1 - k for the new person numbered k."""
    new = labels < 0
    person = np.where(new, -1 - labels, np.where(labels == 0, NO_PERSON, labels))
    write_grouping(db, face_ids, person, new)
