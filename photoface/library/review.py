"""Review: the questions that fix a library in a few answers, and their answers as edits.

The API the CLI and the window use (one `Review` per open library and thread; keep it open: it
keeps the vectors between calls and reads only who is where again)::

    review = Review(library, info.comparable_ids, params.threshold)
    qs = review.questions(limit=20)   # best first: list[core.review.Question]
    n = review.count()                # how many questions there are now ("23 questions")
    done = review.answer(qs[0].id, "yes")   # "yes" | "no" | "skip"; returns what was done
    library.edits.undo()              # an answer (yes or no) is one edit in the undo log

A question is `Question(id, kind, a, b, distance, p_yes, score)`; `kind` is "same-person"
(`a` and `b` are two people, each `Side(person, faces)` with a few typical faces to show) or
"is-this-person" (`a` is one face: `a.person` is None for an unsorted face, or the person the
grouping put it in, for an outlier; `b` is the person asked about, with faces to show). Ids are
stable strings: "same:A:B" (people A < B) and "face:F:P" (is face F person P?).

Answers. same-person: yes merges the two (as `edits.merge`: the named or bigger one keeps its
id), no keeps them apart for good (`edits.keep_apart`: no regroup merges them; a later merge by
hand still may). is-this-person: yes puts the face in the person, locked (`edits.move_faces`),
no is "not this person" (`edits.reject`: the face leaves it if it was in it, and never goes
back). A question answered no is never asked again. Skip is not an edit (undo does not see it):
the question is left out of the list until the next full regroup (`jobs.recluster`), which may
ask it again. Questions are recomputed from the stored embeddings on every call, so they follow
every edit made meanwhile; an id whose people or face changed since it was listed (merged,
removed, already answered) is refused with a `StaleQuestionError`, one line that says why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from photoface.core import review as core
from photoface.core.grouping import NO_PERSON
from photoface.core.review import IS, SAME, Question, ReviewParams
from photoface.errors import NotFoundError, PhotofaceError
from photoface.library.clustering import cluster_input
from photoface.library.db import in_clause
from photoface.library.faces import LIVE
from photoface.library.records import ClusterInput

if TYPE_CHECKING:
    from photoface.library.library import Library

log = logging.getLogger(__name__)

ANSWERS = ("yes", "no", "skip")


class StaleQuestionError(PhotofaceError):
    """A question whose people or face changed since it was asked."""

    def __init__(self, qid: str, why: str) -> None:
        super().__init__(f"question {qid} is out of date ({why}); list the questions again")


class Review:
    """The questions about one library and their answers."""

    def __init__(
        self,
        library: Library,
        model_ids: Iterable[str],
        threshold: float,
        params: ReviewParams | None = None,
    ) -> None:
        self.library = library
        self.model_ids = list(model_ids)
        self.threshold = threshold
        self.params = params or ReviewParams()
        # ((face ids, their model ids), face ids, int8 rows) as last read
        self._vectors: tuple[tuple[list[int], list[str]], np.ndarray, np.ndarray] | None = None

    def questions(self, limit: int | None = None) -> list[Question]:
        """The questions worth asking now, best first (at most `limit`)."""
        return self._rank().top(limit)

    def count(self) -> int:
        """How many questions there are now."""
        return len(self._rank())

    def questions_and_count(self, limit: int | None = None) -> tuple[list[Question], int]:
        """`questions(limit)` and `count()` from one ranking (the window shows both after every
        answer: ranking twice would double its wait)."""
        ranking = self._rank()
        return ranking.top(limit), len(ranking)

    def _rank(self) -> core.Ranking:
        db = self.library.db
        ci = self._inputs()
        hidden = {r[0] for r in db.query("SELECT id FROM people WHERE hidden = 1")}
        skipped = {r[0] for r in db.query("SELECT question FROM review_skips")}
        return core.rank(
            ci, self.threshold, hidden=hidden, named=ci.named, skipped=skipped, params=self.params
        )

    def _inputs(self) -> ClusterInput:
        """What grouping reads, with the vectors kept from the last call: an answer changes
        people, not vectors, so they are read again only when the faces or their models
        changed (a scan, a removal, a re-embed)."""
        ok = self.model_ids
        rows = self.library.db.query(
            "SELECT id, photo_id, coalesce(person_id, ?), locked, quality, model_id FROM faces f "
            f"WHERE {LIVE} AND embedding IS NOT NULL AND model_id {in_clause(len(ok))} "
            "ORDER BY id",
            [NO_PERSON, *ok],
        )
        face_ids = np.array([r[0] for r in rows], np.int64)
        models = [r[5] for r in rows]
        if self._vectors is None or (face_ids.tolist(), models) != self._vectors[0]:
            # New faces, faces gone, or vectors of another model: read them all again.
            ci = cluster_input(self.library.db, ok)
            same = np.array_equal(ci.face_ids, face_ids)  # else a scan wrote in between
            self._vectors = ((face_ids.tolist(), models), ci.face_ids, ci.embeddings)
            if not same:
                self._vectors = None
            return ci
        _, known, vectors = self._vectors
        db = self.library.db
        return ClusterInput(
            face_ids=face_ids,
            photo_ids=np.array([r[1] for r in rows], np.int64),
            embeddings=vectors[np.searchsorted(known, face_ids)],
            person_ids=np.array([r[2] for r in rows], np.int64),
            locked=np.array([bool(r[3]) for r in rows], bool),
            quality=np.array([r[4] for r in rows], np.float32),
            rejections=[(f, p) for f, p in db.query("SELECT face_id, person_id FROM rejections")],
            named={r[0] for r in db.query("SELECT id FROM people WHERE name IS NOT NULL")},
            apart=[(a, b) for a, b in db.query("SELECT person_a, person_b FROM apart")],
        )

    def answer(self, qid: str, answer: str) -> str:
        """Answer one question: "yes", "no" or "skip". Returns what was done, in words."""
        if answer not in ANSWERS:
            raise PhotofaceError(f"the answer must be yes, no or skip, not {answer!r}")
        try:
            kind, x, y = core.parse_id(qid)
        except ValueError as e:
            raise PhotofaceError(str(e)) from None
        if kind == SAME:
            return self._answer_same(qid, x, y, answer)
        assert kind == IS
        return self._answer_face(qid, x, y, answer)

    def _person_exists(self, qid: str, person_id: int) -> None:
        try:
            self.library.person(person_id)
        except NotFoundError:
            raise StaleQuestionError(qid, f"person {person_id} no longer exists") from None

    def _answer_same(self, qid: str, a: int, b: int, answer: str) -> str:
        self._person_exists(qid, a)
        self._person_exists(qid, b)
        db = self.library.db
        if db.query("SELECT 1 FROM apart WHERE person_a = ? AND person_b = ?", (a, b)):
            raise StaleQuestionError(qid, f"people {a} and {b} were already said to differ")
        if answer == "skip":
            return self._skip(qid)
        if answer == "yes":
            kept = self.library.edits.merge([a, b])
            return f"merged people {a} and {b} into {kept}"
        self.library.edits.keep_apart(a, b)
        return f"people {a} and {b} are kept apart"

    def _answer_face(self, qid: str, face: int, person: int, answer: str) -> str:
        db = self.library.db
        row = db.query(f"SELECT person_id, locked FROM faces f WHERE id = ? AND {LIVE}", (face,))
        if not row:
            raise StaleQuestionError(qid, f"face {face} is no longer in the library")
        self._person_exists(qid, person)
        if db.query("SELECT 1 FROM rejections WHERE face_id = ? AND person_id = ?", (face, person)):
            raise StaleQuestionError(qid, f"face {face} was already said not to be {person}")
        if row[0][0] == person and row[0][1]:
            raise StaleQuestionError(qid, f"face {face} was already put in person {person}")
        if answer == "skip":
            return self._skip(qid)
        if answer == "yes":
            self.library.edits.move_faces([face], person)
            return f"face {face} is in person {person}"
        self.library.edits.reject([face], person)
        return f"face {face} is not person {person}"

    def _skip(self, qid: str) -> str:
        with self.library.db.transaction() as c:
            c.execute(
                "INSERT OR REPLACE INTO review_skips(question, at) VALUES (?, ?)",
                (qid, time.time()),
            )
        return f"skipped {qid}"


def clear_skips(library: Library) -> None:
    """Forget the skipped questions (after a full regroup they may be worth asking again)."""
    with library.db.transaction() as c:
        c.execute("DELETE FROM review_skips")
