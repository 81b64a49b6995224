"""Review: "not the same person" and "not this person" survive every regroup; the questions,
their answers (each one undoable edit) and the CLI that asks them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from photoface.core.cluster import ClusterParams
from photoface.jobs import recluster
from photoface.library import Library
from tests.cli_helpers import ROOT, assert_one_line_error
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


# --- the questions and their answers (library API) ---------------------------------------------

from photoface.core.review import IS, SAME  # noqa: E402
from photoface.errors import PhotofaceError  # noqa: E402
from photoface.library.review import Review, StaleQuestionError  # noqa: E402
from tests.cli_helpers import stored_state  # noqa: E402


def _review(lib: Library) -> Review:
    return Review(lib, INFO.comparable_ids, PARAMS.threshold)


def _ops(lib: Library) -> int:
    return lib.query("SELECT count(*) FROM ops")[0][0]


def test_one_person_split_in_two_is_the_first_question_and_yes_merges_in_one_edit(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        a, b, ids = _one_person_as_two(lib)
        q = _review(lib).questions()[0]
        assert (q.id, q.kind, q.a.person, q.b.person) == (f"same:{a}:{b}", SAME, a, b)
        halves = {frozenset(ids[:3]), frozenset(ids[3:])}
        assert {frozenset(q.a.faces), frozenset(q.b.faces)} == halves
        _review(lib).answer(q.id, "yes")
        assert _groups(lib, ids) == {frozenset(ids)} and _ops(lib) == 1
        assert _review(lib).questions() == []
        lib.edits.undo()
        assert _groups(lib, ids) == {frozenset(ids[:3]), frozenset(ids[3:])}
        with pytest.raises(StaleQuestionError, match="out of date"):
            lib.edits.redo()
            _review(lib).answer(q.id, "yes")


def test_no_to_same_person_is_remembered_for_good_and_survives_a_recluster(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        a, b, ids = _one_person_as_two(lib)
        _review(lib).answer(f"same:{a}:{b}", "no")
        assert _ops(lib) == 1 and lib.query("SELECT * FROM apart") == [(a, b)]
        recluster(lib, INFO, PARAMS)
        assert _groups(lib, ids) == {frozenset(ids[:3]), frozenset(ids[3:])}
        assert f"same:{a}:{b}" not in {q.id for q in _review(lib).questions()}
        with pytest.raises(StaleQuestionError, match="already"):
            _review(lib).answer(f"same:{a}:{b}", "yes")


def _person_and_strays(lib: Library) -> tuple[int, list[int]]:
    """A person of 4 faces, one more face of them unsorted, one face of someone else in it."""
    x, _ = people_embeddings(2, 5, spread=0.2, seed=6)
    ids = fill_library(lib, x, np.arange(10))
    labels = np.array([-1, -1, -1, -1, 0, 0, 0, 0, 0, -1])
    lib.write_clustering(np.array(ids), labels)
    return lib.face(ids[0]).person_id, ids


def test_an_unsorted_face_near_a_person_is_asked_and_yes_puts_it_there(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        person, ids = _person_and_strays(lib)
        qid = f"face:{ids[4]}:{person}"
        q = next(q for q in _review(lib).questions() if q.id == qid)
        assert q.kind == IS and q.a.person is None and q.a.faces == (ids[4],)
        assert q.b.person == person and ids[9] not in q.b.faces
        _review(lib).answer(qid, "yes")
        assert lib.face(ids[4]).person_id == person and lib.face(ids[4]).locked


def test_no_to_an_unsorted_face_keeps_it_out_through_a_recluster(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        person, ids = _person_and_strays(lib)
        _review(lib).answer(f"face:{ids[4]}:{person}", "no")
        recluster(lib, INFO, PARAMS)
        assert lib.face(ids[4]).person_id != person
        assert f"face:{ids[4]}:{person}" not in {q.id for q in _review(lib).questions()}


def test_an_outlier_face_is_asked_and_no_takes_it_out(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        person, ids = _person_and_strays(lib)
        qs = _review(lib).questions()
        # The two questions that each fix a face come first: the stray in, the outlier out.
        assert {q.id for q in qs[:2]} == {f"face:{ids[4]}:{person}", f"face:{ids[9]}:{person}"}
        q = next(q for q in qs if q.id == f"face:{ids[9]}:{person}")
        assert q.a.person == person == q.b.person and ids[9] not in q.b.faces
        assert q.p_yes < 0.5
        _review(lib).answer(q.id, "no")
        assert lib.face(ids[9]).person_id is None and _ops(lib) == 1
        lib.edits.undo()
        assert lib.face(ids[9]).person_id == person


def test_a_skipped_question_is_not_asked_again_until_a_recluster(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        a, b, _ = _one_person_as_two(lib)
        before = stored_state(lib.path)
        assert _review(lib).answer(f"same:{a}:{b}", "skip")
        assert f"same:{a}:{b}" not in {q.id for q in _review(lib).questions()}
        assert stored_state(lib.path) == before  # no edit, nothing in the undo log
        lib.write_clustering(np.array(_), np.array([-1, -1, -1, -2, -2, -2]))
        recluster(lib, INFO, ClusterParams(threshold=0.01, min_size=3))
        assert lib.query("SELECT * FROM review_skips") == []


@pytest.mark.parametrize(
    ("qid", "answer", "words"),
    [
        ("same:2:1", "yes", "not a question id"),
        ("same:1", "yes", "not a question id"),
        ("face:x:1", "no", "not a question id"),
        ("face:99999999999999999999:1", "no", "not a question id"),
        ("same:1:2", "maybe", "yes, no or skip"),
        ("same:1:999", "yes", "person 999 no longer exists"),
        ("face:999:1", "no", "face 999 is no longer"),
    ],
)
def test_bad_ids_and_answers_are_refused_and_change_nothing(tmp_path, qid, answer, words):
    with Library(tmp_path / "lib.sqlite3") as lib:
        _one_person_as_two(lib)
        before = stored_state(lib.path)
        with pytest.raises(PhotofaceError, match=words):
            _review(lib).answer(qid, answer)
        assert stored_state(lib.path) == before
        assert lib.query("SELECT * FROM review_skips") == []


def test_asking_changes_nothing(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        _person_and_strays(lib)
        before = stored_state(lib.path)
        assert _review(lib).count() > 0
        assert stored_state(lib.path) == before


def test_two_people_with_faces_in_one_photo_are_not_asked_about(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        x, _ = people_embeddings(1, 6, spread=0.2, seed=3)
        ids = fill_library(lib, x, np.array([0, 1, 2, 2, 3, 4]))
        lib.write_clustering(np.array(ids), np.array([-1, -1, -1, -2, -2, -2]))
        assert [q for q in _review(lib).questions() if q.kind == SAME] == []


# --- the CLI ---------------------------------------------------------------------------------

TINY = "tiny-test-v1"  # the tiny test model's id: the CLI compares faces of this model


class Cli:
    """`photoface --library PATH ...` in a fresh process, with the tiny model."""

    def __init__(self, path, home, model) -> None:
        self.path, self.home, self.model = path, home, model

    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PHOTOFACE_HOME": str(self.home), "PYTHONPATH": str(ROOT)}
        env["PHOTOFACE_MODEL"] = str(self.model)
        command = [sys.executable, "-m", "photoface", "--library", str(self.path), *args]
        return subprocess.run(
            command, env=env, cwd=ROOT, capture_output=True, text=True, input=stdin
        )

    def questions(self, *extra: str) -> list[dict]:
        done = self("review", "--json", *extra)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def cli(tmp_path, with_model, home) -> Cli:
    """One person split in two (faces 1-3 and 4-5), a person with a stray face of another
    person (6-9, stray 10), and a third person (11-15): the tiny model's faces."""
    path = tmp_path / "lib.sqlite3"
    with Library(path) as lib:
        x, _ = people_embeddings(3, 5, spread=0.2, seed=7)
        x[9] = x[14]  # face 10 is the third person's, grouped with the second
        ids = fill_library(lib, x, np.arange(15), model_id=TINY)
        labels = np.array([-1] * 3 + [-2] * 2 + [-3] * 4 + [-3] + [-4] * 5)
        lib.write_clustering(np.array(ids), labels)
        assert ids == list(range(1, 16))
    return Cli(path, home, with_model)


def _person_of(cli: Cli, face: int) -> int | None:
    with Library(cli.path) as lib:
        return lib.face(face).person_id


def test_review_json_prints_questions_best_first_in_the_documented_shape(cli):
    qs = cli.questions()
    assert qs, "no questions"
    for q in qs:
        assert set(q) == {"id", "kind", "a", "b"}
        assert q["kind"] in ("same-person", "is-this-person")
        for side in (q["a"], q["b"]):
            assert set(side) == {"person", "faces"} and side["faces"]
            assert all(isinstance(f, int) for f in side["faces"])
    ids = [q["id"] for q in qs]
    assert len(ids) == len(set(ids))
    split = f"same:{min(_person_of(cli, 1), _person_of(cli, 4))}:"
    split += f"{max(_person_of(cli, 1), _person_of(cli, 4))}"
    assert split in ids[:2]  # the split person and the stray face are the best questions
    assert f"face:10:{_person_of(cli, 6)}" in ids[:2]
    assert cli.questions("--limit", "1") == qs[:1]


def test_review_answer_yes_merges_in_one_edit_and_undo_reverts_it(cli):
    before = stored_state(cli.path)
    p1, p4 = _person_of(cli, 1), _person_of(cli, 4)
    done = cli("review", "answer", f"same:{min(p1, p4)}:{max(p1, p4)}", "yes")
    assert done.returncode == 0, done.stderr
    assert _person_of(cli, 1) == _person_of(cli, 4)
    assert stored_state(cli.path)["ops"] == [(1,)]
    assert cli("undo").returncode == 0
    assert stored_state(cli.path)["faces"] == before["faces"]


def test_a_no_survives_a_photoface_recluster_and_is_never_asked_again(cli):
    p1, p4 = _person_of(cli, 1), _person_of(cli, 4)
    qid = f"same:{min(p1, p4)}:{max(p1, p4)}"
    assert cli("review", "answer", qid, "no").returncode == 0
    stray = f"face:10:{_person_of(cli, 6)}"
    assert cli("review", "answer", stray, "no").returncode == 0
    assert _person_of(cli, 10) is None
    done = cli("recluster")
    assert done.returncode == 0, done.stderr
    assert _person_of(cli, 1) != _person_of(cli, 4)  # recluster would merge them otherwise
    assert _person_of(cli, 10) != _person_of(cli, 6)
    ids = [q["id"] for q in cli.questions()]
    assert qid not in ids and stray not in ids


def test_a_skip_is_not_asked_again_by_the_next_call(cli):
    first = cli.questions()[0]["id"]
    before = stored_state(cli.path)
    assert cli("review", "answer", first, "skip").returncode == 0
    assert first not in [q["id"] for q in cli.questions()]
    assert stored_state(cli.path) == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("answer", "same:40:12", "yes"), "not a question id"),
        (("answer", "bogus", "no"), "not a question id"),
        (("answer", "same:1:2", "perhaps"), "yes, no or skip"),
        (("answer", "same:1:999", "yes"), "out of date"),
        (("answer", "face:999:1", "no"), "out of date"),
        (("answer", "same:1:2"), "usage"),
        (("answered", "same:1:2", "yes"), "usage"),
        (("--json", "--limit", "-1"), "--limit"),
        (("--json", "--limit", "x"), "--limit"),
    ],
)
def test_bad_review_input_is_one_line_and_changes_nothing(cli, args, words):
    before = stored_state(cli.path)
    done = cli("review", *args)
    assert done.returncode == 1
    assert_one_line_error(done.stderr, words)
    assert stored_state(cli.path) == before


def test_an_answer_to_a_question_gone_stale_is_refused(cli):
    p1, p4 = _person_of(cli, 1), _person_of(cli, 4)
    qid = f"same:{min(p1, p4)}:{max(p1, p4)}"
    assert cli("review", "answer", qid, "yes").returncode == 0
    done = cli("review", "answer", qid, "no")
    assert done.returncode == 1
    assert_one_line_error(done.stderr, "out of date", "no longer exists")


def test_bare_review_asks_in_the_terminal_and_end_of_input_quits_cleanly(cli):
    done = cli("review", stdin="y\n")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[y]es / [n]o / [s]kip / [q]uit?" in out and "box " in out and ".jpg" in out
    assert stored_state(cli.path)["ops"] == [(1,)]  # one answer, then the input ended
    done = cli("review", stdin="what\nq\n")
    assert done.returncode == 0 and "please answer y, n, s or q" in done.stdout
    assert stored_state(cli.path)["ops"] == [(1,)]


def test_a_user_who_never_answers_sees_the_same_people(cli):
    before = cli("people", "--json").stdout
    state = stored_state(cli.path)
    cli.questions()
    assert cli("review", stdin="").returncode == 0
    assert cli("people", "--json").stdout == before
    assert stored_state(cli.path) == state


def test_without_a_no_photoface_recluster_merges_the_split_person(cli):
    """The control for the test above: it is the no that keeps them apart."""
    assert cli("recluster").returncode == 0
    assert _person_of(cli, 1) == _person_of(cli, 4)
    assert _person_of(cli, 10) != _person_of(cli, 6)  # the grouping itself takes the stray out


# --- the benchmark ---------------------------------------------------------------------------


def test_the_simulated_user_fixes_a_split_library_in_a_few_answers(tmp_path):
    from photoface.bench import review as bench

    with Library(tmp_path / "lib.sqlite3") as lib:
        x, truth = people_embeddings(3, 6, spread=0.2, seed=8)
        ids = fill_library(lib, x, np.arange(18))
        lib.write_clustering(np.array(ids), -1 - np.repeat(np.arange(6), 3))
        answers = dict(zip(ids, truth.tolist(), strict=True))
        stops = bench.simulate(lib, _review(lib), answers, stops=(0, 2, 10))
        assert stops[0][1] < 0.8
        assert stops[-1][1] == pytest.approx(1.0)
        assert [n for n, _, _ in stops] == [0, 2, 3]  # three merges, and no question left
        assert stops[-1][2] == {"same-person yes": 3}


def test_the_review_speed_benchmark_runs_on_a_small_library():
    from photoface.bench import review as bench

    times = bench.speed(600, answers=3, threshold=0.5)
    assert 0 < len(times) <= 3 and all(t > 0 for t in times)


def test_a_face_inside_the_threshold_but_far_from_its_person_is_asked_about(tmp_path):
    """Average linkage keeps a wrong face under the threshold from the rest of its person; the
    review still asks about the farthest ones."""
    from photoface.core.review import questions

    with Library(tmp_path / "lib.sqlite3") as lib:
        x, _ = people_embeddings(1, 6, spread=0.2, seed=9)
        other, _ = people_embeddings(1, 1, seed=10)
        # Face 6 is 3/4 of the way from the person's mean to someone else: just inside.
        mixed = 0.75 * x[:5].mean(0) + 0.6 * other[0]
        x[5] = mixed / np.linalg.norm(mixed)
        ids = fill_library(lib, x, np.arange(6))
        lib.write_clustering(np.array(ids), np.full(6, -1))
        ci = lib.cluster_input([INFO.model_id])
        rest = x[:5].sum(0)
        d = 2 - 2 * x[5] @ rest / 5
        t = d + 0.05  # the face sits just inside the grouping threshold
        asked = {q.id: q for q in questions(ci, t)}
        person = lib.face(ids[0]).person_id
        assert f"face:{ids[5]}:{person}" in asked
        assert all(q.a.faces != (ids[0],) for q in asked.values())  # the close ones are not


def test_questions_follow_new_faces_and_new_vectors_of_the_same_review(tmp_path):
    """A Review kept open (the window's) sees a scan's new faces and a re-embed's vectors."""
    from photoface.core.embed import quantize

    with Library(tmp_path / "lib.sqlite3") as lib:
        review = Review(lib, [INFO.model_id, "fake-v2"], PARAMS.threshold)
        a, b, ids = _one_person_as_two(lib)
        assert review.questions()[0].id == f"same:{a}:{b}"
        far, _ = people_embeddings(2, 3, seed=11)
        lib.set_embeddings(ids[3:], quantize(far[3:]), "fake-v2")  # someone else, says v2
        assert all(q.kind != SAME for q in review.questions())
        more = fill_library(lib, x_near(lib, ids[0]), np.array([100]))
        assert any(q.id.startswith(f"face:{more[-1]}:") for q in review.questions())


def x_near(lib: Library, face: int) -> np.ndarray:
    from photoface.core.embed import dequantize

    row = lib.query("SELECT embedding FROM faces WHERE id = ?", (face,))[0][0]
    return dequantize(np.frombuffer(row, np.int8)[None, :])


def test_questions_and_count_from_one_ranking_match_the_two_calls(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        _person_and_strays(lib)
        review = _review(lib)
        for limit in (None, 0, 1, 5):
            qs, n = review.questions_and_count(limit)
            assert (qs, n) == (review.questions(limit), review.count())
        assert n == 2
