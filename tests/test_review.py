"""Review: "not the same person" and "not this person" survive every regroup; the questions,
their answers (each one undoable edit) and the CLI that asks them."""

from __future__ import annotations

import numpy as np
import pytest

from photoface.core.cluster import ClusterParams
from photoface.jobs import recluster
from photoface.library import Library
from tests.fakes import FakeEmbedder, fill_library, people_embeddings

INFO = FakeEmbedder().info
PARAMS = ClusterParams(threshold=0.9, min_size=3)


def _one_person_as_two(lib: Library) -> tuple[int, int, list[int]]:
    """Six faces of one person that a grouping made into two people; (a, b, face ids)."""
    x, _ = people_embeddings(1, 6, spread=0.2, seed=3)
    ids = fill_library(lib, x, np.arange(6))
    lib.write_clustering(np.array(ids), np.array([-1, -1, -1, -2, -2, -2]))
    a, b = sorted({lib.face(f).person_id for f in ids})
    return a, b, ids


def _groups(lib: Library, ids: list[int]) -> set[frozenset[int]]:
    by: dict[int | None, set[int]] = {}
    for f in ids:
        by.setdefault(lib.face(f).person_id, set()).add(f)
    return {frozenset(v) for k, v in by.items() if k is not None}


def test_a_recluster_merges_one_person_split_in_two(tmp_path):
    """The control for the next test: without a "no", a recluster makes the two one."""
    with Library(tmp_path / "lib.sqlite3") as lib:
        _, _, ids = _one_person_as_two(lib)
        recluster(lib, INFO, PARAMS)
        assert _groups(lib, ids) == {frozenset(ids)}


def test_people_kept_apart_are_never_merged_by_a_recluster(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        a, b, ids = _one_person_as_two(lib)
        lib.edits.keep_apart(b, a)
        assert lib.query("SELECT person_a, person_b FROM apart") == [(a, b)]
        for _ in range(2):
            recluster(lib, INFO, PARAMS)
            assert _groups(lib, ids) == {frozenset(ids[:3]), frozenset(ids[3:])}
        assert {lib.face(ids[0]).person_id, lib.face(ids[3]).person_id} == {a, b}
        assert lib.query("SELECT person_a, person_b FROM apart") == [(a, b)]


def test_a_face_said_not_an_automatic_person_never_goes_back_by_a_recluster(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        x, _ = people_embeddings(1, 5, spread=0.2, seed=4)
        ids = fill_library(lib, x, np.arange(5))
        lib.write_clustering(np.array(ids), np.full(5, -1))
        person = lib.face(ids[0]).person_id
        lib.edits.reject([ids[4]], person)
        recluster(lib, INFO, PARAMS)
        assert lib.face(ids[4]).person_id != person
        assert {lib.face(f).person_id for f in ids[:4]} == {person}


def test_a_merge_by_hand_wins_over_apart_and_undo_brings_the_pair_back(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        a, b, ids = _one_person_as_two(lib)
        lib.edits.keep_apart(a, b)
        kept = lib.edits.merge([a, b])
        assert lib.query("SELECT * FROM apart") == []
        assert {lib.face(f).person_id for f in ids} == {kept}
        lib.edits.undo()
        assert lib.query("SELECT person_a, person_b FROM apart") == [(a, b)]
        lib.edits.undo()
        assert lib.query("SELECT * FROM apart") == []
        lib.edits.redo()
        assert lib.query("SELECT person_a, person_b FROM apart") == [(a, b)]


def test_a_merged_person_inherits_the_apart_pairs_of_those_it_took_in(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        x, _ = people_embeddings(3, 3, spread=0.2, seed=5)
        ids = fill_library(lib, x, np.arange(9))
        lib.write_clustering(np.array(ids), np.repeat([-1, -2, -3], 3))
        p = [lib.face(ids[k]).person_id for k in (0, 3, 6)]
        lib.edits.keep_apart(p[1], p[2])
        kept = lib.edits.merge([p[0], p[1]], into=p[0])
        assert lib.query("SELECT person_a, person_b FROM apart") == [tuple(sorted((kept, p[2])))]


def test_keep_apart_refuses_one_person_and_unknown_people(tmp_path):
    from photoface.errors import PhotofaceError

    with Library(tmp_path / "lib.sqlite3") as lib:
        a, _, _ = _one_person_as_two(lib)
        with pytest.raises(PhotofaceError):
            lib.edits.keep_apart(a, a)
        with pytest.raises(PhotofaceError):
            lib.edits.keep_apart(a, 999)
        assert lib.query("SELECT * FROM apart") == [] and lib.edits.next_undo() is None
