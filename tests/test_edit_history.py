"""Random edit histories (hypothesis state machine): names, merges, moves, rejections, people
kept apart, review answers, hiding, removals, faces drawn by the user, photos edited in place,
regroups and scans of more photos, with undo and redo anywhere between them.

After every step the library is sound (integrity and foreign keys, no person id given out twice);
an undo right after an edit restores exactly the state before it and a redo right after an undo
exactly the state before that; a refused edit changes nothing; undo-all leaves nothing the user
said, and redoing as many brings back exactly what the user had said.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from photoface.core import align
from photoface.core.cluster import ClusterParams
from photoface.core.embed import normalize, quantize
from photoface.errors import PhotofaceError
from photoface.jobs import recluster, update
from photoface.library import FaceRecord, Library, PhotoRecord
from photoface.library.faces import WITHDRAWN
from photoface.library.review import Review
from tests.fakes import FakeEmbedder

INFO = FakeEmbedder().info
PARAMS = ClusterParams(0.9, 2)
NAMES = ["Ada", "Bob", "Cy", "ada"]
N_PEOPLE = 4
CROP = align.encode_jpeg(np.full((144, 144, 3), 128, np.uint8))


def full_state(lib: Library) -> tuple:
    """Every row an edit, an undo or a redo may touch. A drawn face whose drawing was undone
    (withdrawn) is not there for anyone: its row only keeps its id for a redo."""
    faces = lib.query(
        "SELECT id, person_id, locked, removed FROM faces WHERE removed != ? ORDER BY id",
        (WITHDRAWN,),
    )
    people = lib.query("SELECT id, name, hidden FROM people ORDER BY id")
    rejections = lib.query("SELECT face_id, person_id FROM rejections ORDER BY 1, 2")
    apart = lib.query("SELECT person_a, person_b FROM apart ORDER BY 1, 2")
    return faces, people, rejections, apart


def said(lib: Library) -> tuple:
    """What the user said: confirmed faces and where, removals, names, hiding, rejections.
    (Faces placed by the grouping alone are the machine's, and a later regroup may move them.)"""
    locked = lib.query("SELECT id, person_id FROM faces WHERE locked = 1 ORDER BY id")
    removed = lib.query("SELECT id FROM faces WHERE removed = 1 ORDER BY id")
    people = lib.query(
        "SELECT id, name, hidden FROM people WHERE name IS NOT NULL OR hidden = 1 ORDER BY id"
    )
    rejections = lib.query("SELECT face_id, person_id FROM rejections ORDER BY 1, 2")
    apart = lib.query("SELECT person_a, person_b FROM apart ORDER BY 1, 2")
    return locked, removed, people, rejections, apart


class EditHistory(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="pf-history-"))
        self.lib = Library(self.dir / "lib.sqlite3")
        self.rng = np.random.default_rng(0)
        self.centres = normalize(self.rng.standard_normal((N_PEOPLE + 1, 128)))
        self.photos = 0
        for person in range(N_PEOPLE):
            for _ in range(3):
                self._add_photo([person])
        self._add_photo([0, 1])  # two people in one photo
        update(self.lib, INFO, PARAMS)
        self.first = full_state(self.lib)
        self.first_said = said(self.lib)
        self.ids_seen = {r[0] for r in self.lib.query("SELECT id FROM people")}
        self.top_id = max(self.ids_seen, default=0)
        self.people_before = set(self.ids_seen)
        self.machine_steps = 0  # scans and regroups: steps no undo reverts
        # What undo and redo must bring back, newest last: (what the user had said before the
        # step, the full state before it, the full state right after it, whether the step
        # started from exactly the state its edit was made in). While the library is still as
        # a clean step left it, reverting the step must give the full state back exactly;
        # after scans and regroups, what the user had said.
        self.undo_stack: list[tuple[tuple, tuple, tuple, bool]] = []
        self.redo_stack: list[tuple[tuple, tuple, tuple, bool]] = []
        self.step = "start"  # the kind of the latest step: edit, undo, redo or machine

    # --- helpers ----------------------------------------------------------------------------

    def _add_photo(self, people: list[int]) -> None:
        self.photos += 1
        faces = []
        for k, person in enumerate(people):
            v = self.centres[person] + 0.25 * self.rng.standard_normal(128) / np.sqrt(128)
            code = quantize(normalize(v[None, :].astype(np.float32)))[0]
            faces.append(
                FaceRecord(
                    (60.0 * k, 10.0, 50.0, 60.0),
                    np.zeros((5, 2), np.float32),
                    0.9,
                    1.0,
                    CROP,
                    code,
                    INFO.model_id,
                )
            )
        photo = PhotoRecord(f"h{self.photos}", f"/p/{self.photos}.jpg", 1, 1, 640, 480, "fake")
        self.lib.add_photo(photo, faces)

    def _people(self) -> list[int]:
        return [p.id for p in self.lib.people(include_hidden=True)]

    def _faces(self) -> list[int]:
        return [r[0] for r in self.lib.query("SELECT id FROM faces WHERE removed = 0 ORDER BY id")]

    def _edit(self, fn, *args, **kwargs) -> None:
        """Run one edit: a refused one (or one with nothing to do) must change nothing, a done
        one is logged."""
        self.step = "edit"
        before, said_before = full_state(self.lib), said(self.lib)
        ops = self.lib.query("SELECT * FROM ops ORDER BY id")
        try:
            fn(*args, **kwargs)
        except PhotofaceError:
            assert full_state(self.lib) == before
            assert self.lib.query("SELECT * FROM ops ORDER BY id") == ops
            return
        if self.lib.query("SELECT * FROM ops ORDER BY id") == ops:  # nothing to do: no edit
            assert full_state(self.lib) == before
            return
        self.undo_stack.append((said_before, before, full_state(self.lib), True))
        self.redo_stack.clear()

    # --- the user's edits -------------------------------------------------------------------

    @precondition(lambda self: self._people())
    @rule(data=st.data(), name=st.sampled_from([*NAMES, None]))
    def name(self, data, name) -> None:
        person = data.draw(st.sampled_from(self._people()))
        self._edit(self.lib.edits.rename, person, name)

    @precondition(lambda self: len(self._people()) >= 2)
    @rule(data=st.data(), name=st.sampled_from([None, *NAMES]), use_into=st.booleans())
    def merge(self, data, name, use_into) -> None:
        people = data.draw(
            st.lists(st.sampled_from(self._people()), min_size=2, max_size=3, unique=True)
        )
        into = people[-1] if use_into else None
        self._edit(self.lib.edits.merge, people, into, name)

    @precondition(lambda self: self._faces())
    @rule(data=st.data())
    def move_to_new(self, data) -> None:
        faces = data.draw(st.lists(st.sampled_from(self._faces()), min_size=1, max_size=3))
        self._edit(self.lib.edits.move_faces, faces, None)

    @precondition(lambda self: self._people() and self._faces())
    @rule(data=st.data())
    def move_to_existing(self, data) -> None:
        faces = data.draw(st.lists(st.sampled_from(self._faces()), min_size=1, max_size=3))
        self._edit(self.lib.edits.move_faces, faces, data.draw(st.sampled_from(self._people())))

    @precondition(lambda self: self._people())
    @rule(data=st.data())
    def reject(self, data) -> None:
        person = data.draw(st.sampled_from(self._people()))
        mine = [f.id for f in self.lib.faces_of_person(person)]
        faces = data.draw(st.lists(st.sampled_from(mine), min_size=1, max_size=2))
        self._edit(self.lib.edits.reject, faces, person)

    @precondition(lambda self: len(self._people()) >= 2)
    @rule(data=st.data())
    def keep_apart(self, data) -> None:
        a, b = data.draw(st.lists(st.sampled_from(self._people()), min_size=2, max_size=2))
        self._edit(self.lib.edits.keep_apart, a, b)

    @rule(data=st.data(), answer=st.sampled_from(["yes", "no", "skip"]))
    def answer_a_question(self, data, answer) -> None:
        questions = Review(self.lib, INFO.comparable_ids, PARAMS.threshold).questions(limit=6)
        if questions:
            q = data.draw(st.sampled_from(questions))
            review = Review(self.lib, INFO.comparable_ids, PARAMS.threshold)
            self._edit(review.answer, q.id, answer)

    @precondition(lambda self: self._people())
    @rule(data=st.data(), hidden=st.booleans())
    def hide(self, data, hidden) -> None:
        self._edit(self.lib.edits.hide, data.draw(st.sampled_from(self._people())), hidden)

    @precondition(lambda self: self._faces())
    @rule(data=st.data())
    def remove(self, data) -> None:
        faces = data.draw(st.lists(st.sampled_from(self._faces()), min_size=1, max_size=2))
        self._edit(self.lib.edits.remove_faces, faces)

    @rule(data=st.data(), person=st.integers(0, N_PEOPLE), into=st.booleans())
    def draw_face(self, data, person, into) -> None:
        """A face the detector missed, drawn on a photo: into one of the people, or unsorted."""
        photos = [r[0] for r in self.lib.query("SELECT id FROM photos ORDER BY id")]
        photo = data.draw(st.sampled_from(photos))
        target = data.draw(st.sampled_from(self._people())) if into and self._people() else None
        v = self.centres[person] + 0.25 * self.rng.standard_normal(128) / np.sqrt(128)
        code = quantize(normalize(v[None, :].astype(np.float32)))[0]
        face = FaceRecord(
            (5.0, 5.0, 40.0, 40.0),
            np.zeros((5, 2), np.float32),
            0.5,
            0.8,
            CROP,
            code,
            INFO.model_id,
        )
        self._edit(self.lib.edits.add_face, photo, face, target)

    # --- what the machine does between edits ------------------------------------------------

    @rule()
    def regroup(self) -> None:
        recluster(self.lib, INFO, PARAMS)
        self.machine_steps += 1
        self.step = "machine"

    @rule(people=st.lists(st.integers(0, N_PEOPLE), min_size=1, max_size=2, unique=True))
    def scan_more(self, people) -> None:
        self._add_photo(people)
        update(self.lib, INFO, PARAMS)
        self.machine_steps += 1
        self.step = "machine"

    @rule(data=st.data())
    def photo_edited_in_place(self, data) -> None:
        """A rescan finds other content (no face) at a photo's path: the old content is
        retired, its faces out of people with their rows untouched."""
        rows = self.lib.query("SELECT path, photo_id FROM photo_paths ORDER BY path")
        path, _ = data.draw(st.sampled_from(rows))
        self.photos += 1
        edit = PhotoRecord(f"edit{self.photos}", path, 1, self.photos, 640, 480, "fake")
        self.lib.add_photo(edit, [])
        self.lib.retire_orphans()
        self.machine_steps += 1
        self.step = "machine"

    @precondition(lambda self: self.lib.counts()["retired"])
    @rule(data=st.data())
    def photo_reverted(self, data) -> None:
        """The old file comes back: its content has a path again, and its faces their people."""
        rows = self.lib.query(
            "SELECT id, path FROM photos WHERE retired_at IS NOT NULL ORDER BY id"
        )
        photo_id, path = data.draw(st.sampled_from(rows))
        self.lib.add_path(photo_id, path, 1, 0)
        self.lib.retire_orphans()
        self.machine_steps += 1
        self.step = "machine"

    # --- undo and redo ------------------------------------------------------------------------

    def _undo_once(self) -> bool:
        self.step = "undo"
        before, said_before = full_state(self.lib), said(self.lib)
        done = self.lib.edits.undo()
        if done is None:
            assert not self.undo_stack
            assert full_state(self.lib) == before
            return False
        want_said, want_full, left, clean = self.undo_stack.pop()
        assert said(self.lib) == want_said, f"undo of {done!r} did not restore what was said"
        exact = clean and before == left
        if exact:
            assert full_state(self.lib) == want_full, f"undo of {done!r} is not exact"
        self.redo_stack.append((said_before, before, full_state(self.lib), exact))
        return True

    def _redo_once(self) -> bool:
        self.step = "redo"
        before, said_before = full_state(self.lib), said(self.lib)
        done = self.lib.edits.redo()
        if done is None:
            assert not self.redo_stack
            assert full_state(self.lib) == before
            return False
        want_said, want_full, left, clean = self.redo_stack.pop()
        assert said(self.lib) == want_said, f"redo of {done!r} did not restore what was said"
        exact = clean and before == left
        if exact:
            assert full_state(self.lib) == want_full, f"redo of {done!r} is not exact"
        self.undo_stack.append((said_before, before, full_state(self.lib), exact))
        return True

    @rule()
    def undo(self) -> None:
        self._undo_once()

    @rule()
    def redo(self) -> None:
        self._redo_once()

    @rule()
    def undo_all_then_redo_all(self) -> None:
        last_state, last_said = full_state(self.lib), said(self.lib)
        undone = 0
        while self._undo_once():
            undone += 1
            self._check_sound()
        assert said(self.lib) == self.first_said, "undo-all left something the user said"
        if self.machine_steps == 0:
            assert full_state(self.lib) == self.first
        for _ in range(undone):
            assert self._redo_once()
            self._check_sound()
        assert said(self.lib) == last_said, "redo-all did not bring back what the user said"
        if self.machine_steps == 0:
            assert full_state(self.lib) == last_state

    # --- what must hold after every step ------------------------------------------------------

    def _check_sound(self) -> None:
        c = self.lib.conn
        assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        names = [
            r[0].casefold()
            for r in self.lib.query("SELECT name FROM people WHERE name IS NOT NULL")
        ]
        assert len(names) == len(set(names)), "two people share a name"

    @invariant()
    def sound(self) -> None:
        self._check_sound()
        now = {r[0] for r in self.lib.query("SELECT id FROM people")}
        for pid in now - self.people_before:
            if pid in self.ids_seen:
                # An id comes back only as the same person, restored by an undo or a redo.
                assert self.step in ("undo", "redo"), f"person id {pid} was given out again"
            else:
                assert pid > self.top_id, f"person id {pid} reuses a freed id"
        self.ids_seen |= now
        self.top_id = max(self.ids_seen, default=0)
        self.people_before = now

    def teardown(self) -> None:
        try:
            self.undo_all_then_redo_all()
        finally:
            self.lib.close()
            shutil.rmtree(self.dir, ignore_errors=True)


EditHistory.TestCase.settings = settings(
    # CI runs 60 histories; PHOTOFACE_HISTORIES=2000 explores further on a developer's machine.
    max_examples=int(os.environ.get("PHOTOFACE_HISTORIES", "60")),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestEditHistory = EditHistory.TestCase
