"""Faces: the ones shown, their crops and their vectors."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import numpy as np

from photoface.errors import NotFoundError
from photoface.library.db import Database, chunks, in_clause
from photoface.library.photos import first_existing, paths_of
from photoface.library.records import Face, from_db

log = logging.getLogger(__name__)


def live(alias: str) -> str:
    """The faces shown (in people, unsorted, counts, grouping, export): not removed by the
    user, and of a content still at some path (not retired)."""
    return (
        f"{alias}.removed = 0 AND {alias}.photo_id NOT IN "
        "(SELECT id FROM photos WHERE retired_at IS NOT NULL)"
    )


LIVE, LIVE2 = live("f"), live("f2")
# faces.removed: 0 shown, 1 removed by the user ("not a face"), WITHDRAWN a drawn face whose
# drawing was undone (as if never drawn; its row keeps its id from being given out again).
REMOVED, WITHDRAWN = 1, 2

# The face's path: its photo's first path present at the last scan (the photo's only one needs
# no look at the disk), and how many paths the photo has.
_FACE_COLS = (
    "f.id, f.photo_id, coalesce((SELECT pp.path FROM photo_paths pp WHERE pp.photo_id = p.id "
    "ORDER BY pp.missing, pp.rowid LIMIT 1), p.path), f.x, f.y, f.w, f.h, f.landmarks, "
    "f.score, f.quality, f.person_id, f.locked, f.model_id, "
    "(SELECT count(*) FROM photo_paths pp WHERE pp.photo_id = p.id), f.manual"
)


def faces_where(db: Database, where: str, args: Sequence[object] = ()) -> list[Face]:
    """The live faces matching `where` (over faces f), best quality first."""
    rows = db.query(
        f"SELECT {_FACE_COLS} FROM faces f JOIN photos p ON p.id = f.photo_id "
        f"WHERE {LIVE} AND {where} ORDER BY f.quality DESC, f.id",
        args,
    )
    copies = paths_of(db, sorted({r[1] for r in rows if r[13] > 1}))
    path_of = {pid: first_existing(ps, ps[0])[0] for pid, ps in copies.items()}
    return [
        Face(
            id=r[0],
            photo_id=r[1],
            path=path_of.get(r[1]) or from_db(r[2]),
            box=(r[3], r[4], r[5], r[6]),
            landmarks=np.frombuffer(r[7], np.float32).reshape(5, 2),
            score=r[8],
            quality=r[9],
            person_id=r[10],
            locked=bool(r[11]),
            model_id=r[12],
            manual=bool(r[14]),
        )
        for r in rows
    ]


def face(db: Database, face_id: int) -> Face:
    found = faces_where(db, "f.id = ?", (face_id,))
    if not found:
        raise NotFoundError(f"no face with id {face_id}")
    return found[0]


def face_crop(db: Database, face_id: int) -> bytes:
    row = db.query("SELECT crop FROM faces WHERE id = ?", (face_id,))
    if not row:
        raise NotFoundError(f"no face with id {face_id}")
    return row[0][0]


def crops(db: Database, face_ids: Sequence[int]) -> list[bytes]:
    """The stored crops of these faces, in their order."""
    out = []
    for chunk in chunks(face_ids):
        sql = f"SELECT id, crop FROM faces WHERE id {in_clause(len(chunk))}"
        got = dict(db.query(sql, chunk))
        out.extend(got[f] for f in chunk)
    return out


def faces_to_embed(db: Database, model_ids: Iterable[str]) -> list[int]:
    """Faces with no vector, or one from none of `model_ids` (ModelInfo.comparable_ids)."""
    ok = list(model_ids)
    rows = db.query(
        f"SELECT id FROM faces WHERE embedding IS NULL OR model_id NOT {in_clause(len(ok))} "
        "ORDER BY id",
        ok,
    )
    return [r[0] for r in rows]


def set_embeddings(db: Database, face_ids: Sequence[int], codes: np.ndarray, model_id: str) -> None:
    with db.transaction() as c:
        c.executemany(
            "UPDATE faces SET embedding = ?, model_id = ? WHERE id = ?",
            [(codes[i].tobytes(), model_id, int(f)) for i, f in enumerate(face_ids)],
        )


def embeddings(db: Database) -> np.ndarray:
    """Every stored vector (removed and retired faces too), int8 (n, D), by face id. All of
    one model, or the shapes do not line up."""
    rows = db.query("SELECT embedding FROM faces WHERE embedding IS NOT NULL ORDER BY id")
    dim = len(rows[0][0]) if rows else 0
    return np.frombuffer(b"".join(r[0] for r in rows), np.int8).reshape(len(rows), dim)
