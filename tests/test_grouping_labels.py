"""Grouping labels give each meaning its own representation: a person that exists, a new
person (numbered 0, 1, ... with a `new` mask) or no person (NO_PERSON)."""

from __future__ import annotations

import numpy as np

from photoface.core.cluster import ClusterParams
from photoface.core.grouping import NO_PERSON, recluster_labels, update_labels
from photoface.library import Library
from tests.fakes import FakeEmbedder, fill_library, people_embeddings

PARAMS = ClusterParams(threshold=0.9, min_size=3)


def test_new_people_are_numbered_from_zero_and_marked_new(tmp_path):
    x, truth = people_embeddings(3, 4, spread=0.2, seed=1)
    with Library(tmp_path / "lib.sqlite3") as lib:
        fill_library(lib, x, np.arange(len(x)))
        found = recluster_labels(lib.cluster_input([FakeEmbedder().info.model_id]), PARAMS)
    assert found.new.all() and found.decided.all()
    assert sorted(set(found.person.tolist())) == [0, 1, 2]  # not -1, -2, -3
    for t in range(3):  # one new person per true person
        assert len(set(found.person[truth == t].tolist())) == 1
    assert found.people() == 3 and found.placed() == len(x)


def test_an_existing_person_is_not_new_and_unsorted_faces_are_no_person(tmp_path):
    x, _ = people_embeddings(2, 4, spread=0.2, seed=2)
    lone, _ = people_embeddings(1, 1, seed=9)
    with Library(tmp_path / "lib.sqlite3") as lib:
        ids = fill_library(lib, np.vstack([x, lone]), np.arange(len(x) + 1))
        person = np.array([NO_PERSON, NO_PERSON, NO_PERSON, NO_PERSON, 0, 0, 0, 0, NO_PERSON])
        new = np.array([False] * 4 + [True] * 4 + [False])
        lib.write_grouping(np.array(ids), person, new)
        made = lib.face(ids[4]).person_id
        assert made is not None and {lib.face(i).person_id for i in ids[4:8]} == {made}
        assert all(lib.face(i).person_id is None for i in ids[:4] + ids[8:])
        found = update_labels(lib.cluster_input([FakeEmbedder().info.model_id]), PARAMS)
    assert found.decided.tolist() == [True] * 4 + [False] * 4 + [True]
    assert found.new[:4].all() and found.person[:4].tolist() == [0, 0, 0, 0]
    assert found.person[8] == NO_PERSON and not found.new[8]  # alone: no person
