"""Photos that several people appear in together, optionally with nobody else."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from photoface.library.db import Database, in_clause
from photoface.library.faces import LIVE, LIVE2
from photoface.library.photos import PHOTO_COLS, _build_photos
from photoface.library.records import Photo

log = logging.getLogger(__name__)


def photos_together(
    db: Database, person_ids: Sequence[int], only: bool = False, quality_floor: float = 0.0
) -> list[Photo]:
    """The photos (with a path, by path) holding a live face of every one of `person_ids`.

    `only`: and no live face of anybody else, where "anybody else" is any other person (hidden
    people too: a hidden stranger is still in the photo) or an unsorted face of at least
    `quality_floor` (the grouping's seed quality): the tiny, blurred faces in the background
    that never make a person do not spoil "only them"."""
    people = sorted(set(person_ids))
    if not people:
        return []
    inn = in_clause(len(people))
    others = ""
    args: list[object] = [*people]
    if only:
        others = (
            f"AND NOT EXISTS (SELECT 1 FROM faces f2 WHERE f2.photo_id = f.photo_id AND {LIVE2} "
            f"AND (f2.person_id NOT {inn} OR (f2.person_id IS NULL AND f2.quality >= ?)))"
        )
        args += [*people, quality_floor]
    args.append(len(people))
    rows = db.query(
        f"SELECT {PHOTO_COLS} FROM photos p WHERE p.id IN ("
        f"SELECT f.photo_id FROM faces f WHERE {LIVE} AND f.person_id {inn} {others} "
        "GROUP BY f.photo_id HAVING count(DISTINCT f.person_id) = ?) "
        "AND EXISTS (SELECT 1 FROM photo_paths pp WHERE pp.photo_id = p.id)",
        args,
    )
    return sorted(_build_photos(db, rows), key=lambda ph: ph.path)
