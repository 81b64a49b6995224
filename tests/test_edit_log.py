"""The undo log on the edits that lost people: moves to an existing person, merges followed by
scans or regroups, merges of named people, person ids never given out twice."""

from __future__ import annotations

import numpy as np
import pytest

from photoface.cli import main
from photoface.core.cluster import ClusterParams
from photoface.errors import PhotofaceError
from photoface.jobs import recluster, update
from photoface.library import Library, NameConflictError
from tests.fakes import FakeEmbedder, fill_library, people_embeddings

PARAMS = ClusterParams(0.9, 2)


def _faces_by_person(lib: Library) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for fid, pid in lib.query("SELECT id, person_id FROM faces WHERE person_id IS NOT NULL"):
        out.setdefault(pid, set()).add(fid)
    return out


@pytest.fixture
def lib(tmp_path):
    """Three people of three faces each (one face a photo), grouped."""
    library = Library(tmp_path / "lib.sqlite3")
    x, _ = people_embeddings(3, 3, seed=4)
    ids = fill_library(library, x, np.arange(9))
    library.write_clustering(np.array(ids), np.repeat([-1, -2, -3], 3))
    yield library
    library.close()


def _person_of(lib: Library, face_id: int) -> int:
    pid = lib.face(face_id).person_id
    assert pid is not None
    return pid


def test_undo_of_a_move_to_an_existing_person_keeps_that_person(lib):
    alice = _person_of(lib, 1)
    lib.edits.rename(alice, "Alice")
    before = _faces_by_person(lib)
    lib.edits.move_faces([4], alice)
    assert lib.edits.undo() is not None
    assert lib.person(alice).name == "Alice"
    assert _faces_by_person(lib) == before
    assert lib.edits.redo() is not None
    assert 4 in {f.id for f in lib.faces_of_person(alice)}
    assert lib.person(alice).face_count == 4
    lib.edits.undo()
    lib.edits.undo()  # the rename: nothing is stuck
    assert lib.person(alice).name is None


def test_undo_of_a_move_through_the_cli_keeps_the_person(lib, capsys):
    path = str(lib.path)
    alice = _person_of(lib, 1)
    assert main(["--library", path, "name", str(alice), "Alice"]) == 0
    assert main(["--library", path, "move", "4", "Alice"]) == 0
    assert main(["--library", path, "undo"]) == 0
    capsys.readouterr()
    assert main(["--library", path, "show", "Alice"]) == 0
    out = capsys.readouterr().out
    assert "Alice, 3 faces" in out


def test_undo_after_the_source_person_was_emptied_and_regrouped(lib):
    """Moving every face out of an automatic person empties it; a regroup deletes it; the undo
    brings it back instead of failing with an integrity error."""
    src = _person_of(lib, 7)
    lib.edits.move_faces([7, 8, 9], None)
    ci_info = FakeEmbedder().info
    recluster(lib, ci_info, PARAMS)
    assert lib.edits.undo() is not None
    assert {f.id for f in lib.faces_of_person(src)} == {7, 8, 9}


def test_a_scan_after_a_merge_never_takes_the_merged_persons_id(lib):
    eve = max(_faces_by_person(lib))  # the newest person: SQLite would give its id out again
    alice = min(_faces_by_person(lib))
    lib.edits.rename(alice, "Alice")
    lib.edits.rename(eve, "Eve")
    eve_faces = {f.id for f in lib.faces_of_person(eve)}
    lib.edits.merge([alice, eve], name="Alice")
    # A scan brings a stranger, grouped as a new person.
    x, _ = people_embeddings(1, 3, seed=99)
    ids_before = {r[0] for r in lib.query("SELECT id FROM faces")}
    fill_library_more(lib, x)
    new_faces = {r[0] for r in lib.query("SELECT id FROM faces")} - ids_before
    update(lib, FakeEmbedder().info, PARAMS)
    stranger = {lib.face(f).person_id for f in new_faces}
    assert eve not in stranger
    lib.edits.undo()  # the merge
    assert lib.person(eve).name == "Eve"
    assert {f.id for f in lib.faces_of_person(eve)} == eve_faces
    for f in new_faces:
        assert lib.face(f).person_id != eve
    lib.edits.redo()
    for f in new_faces:  # redo deletes Eve again, never the stranger's person
        assert lib.face(f).person_id in stranger


def test_a_recluster_after_a_merge_never_reuses_the_id(lib):
    eve, alice = max(_faces_by_person(lib)), min(_faces_by_person(lib))
    lib.edits.merge([alice, eve], into=alice)
    lib.query("UPDATE faces SET locked = 0")  # let the regroup make new people of everything
    recluster(lib, FakeEmbedder().info, ClusterParams(0.9, 1))
    assert eve not in _faces_by_person(lib)


def test_merging_two_named_people_asks_which_name_to_keep(lib):
    a, b = _person_of(lib, 1), _person_of(lib, 4)
    lib.edits.rename(a, "Ada")
    lib.edits.rename(b, "Bob")
    with pytest.raises(NameConflictError, match="'Ada', 'Bob'"):
        lib.edits.merge([a, b])
    assert lib.person(a).name == "Ada" and lib.person(b).name == "Bob"
    target = lib.edits.merge([a, b], name="Bob")
    assert lib.person(target).name == "Bob"
    assert lib.person(target).face_count == 6
    lib.edits.undo()
    assert lib.person(a).name == "Ada" and lib.person(b).name == "Bob"


def test_merging_keeps_the_one_name_there_is(lib):
    a, b = _person_of(lib, 1), _person_of(lib, 4)
    lib.edits.rename(b, "Bob")
    target = lib.edits.merge([a, b], into=a)
    assert lib.person(target).name == "Bob"


def test_merge_in_the_cli_names_the_conflict_in_one_line(lib, capsys):
    path = str(lib.path)
    a, b = _person_of(lib, 1), _person_of(lib, 4)
    main(["--library", path, "name", str(a), "Ada"])
    main(["--library", path, "name", str(b), "Bob"])
    capsys.readouterr()
    assert main(["--library", path, "merge", "Ada", "Bob"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--name" in err
    assert main(["--library", path, "merge", "Ada", "Bob", "--name", "Ada"]) == 0
    assert "Ada, 6 faces" in capsys.readouterr().out


def test_names_are_one_clean_line(lib):
    a = _person_of(lib, 1)
    lib.edits.rename(a, "  Ada\n42\tLovelace\r ")
    assert lib.person(a).name == "Ada 42 Lovelace"
    for bad in ("   ", "\n\t", "x" * 5000):
        with pytest.raises(PhotofaceError):
            lib.edits.rename(a, bad)
    assert lib.person(a).name == "Ada 42 Lovelace"


def fill_library_more(lib: Library, x: np.ndarray) -> None:
    """Add one photo per vector after what the library holds."""
    from photoface.core import align
    from photoface.core.embed import quantize
    from photoface.library import FaceRecord, PhotoRecord

    crop = align.encode_jpeg(np.full((144, 144, 3), 128, np.uint8))
    start = len(lib.photos())
    for i, code in enumerate(quantize(x)):
        face = FaceRecord(
            (10.0, 10.0, 50.0, 60.0), np.zeros((5, 2), np.float32), 0.9, 1.0, crop, code, "fake-v1"
        )
        lib.add_photo(
            PhotoRecord(f"more{start + i}", f"/photos/m{start + i}.jpg", 1, 1, 640, 480, "fake"),
            [face],
        )


def test_a_no_outlives_the_regroup_that_empties_its_person(lib):
    """'Not this person' against an automatic person is kept when a regroup empties it."""
    person = _person_of(lib, 1)
    lib.edits.reject([1], person)
    lib.edits.move_faces([2, 3], None)  # the person's other faces go elsewhere: it is empty now
    recluster(lib, FakeEmbedder().info, PARAMS)
    assert lib.query("SELECT face_id, person_id FROM rejections") == [(1, person)]
    for _ in range(2):
        lib.edits.undo()
    assert lib.query("SELECT count(*) FROM rejections")[0][0] == 0
    assert lib.face(1).person_id == person


def test_a_library_from_before_the_mark_never_reuses_an_id_its_undo_log_knows(lib):
    """An older photoface kept no mark of the ids it gave out: the undo log still names a
    merged-away person whose id is free now; a new person must not take it."""
    eve, alice = max(_faces_by_person(lib)), min(_faces_by_person(lib))
    eve_faces = _faces_by_person(lib)[eve]
    lib.edits.rename(eve, "Eve")
    lib.edits.merge([alice, eve], into=alice, name="Ada")
    lib.conn.execute("DELETE FROM meta WHERE key = 'last_person_id'")  # as an old library
    stranger = next(
        f for f in range(1, 10) if f not in eve_faces and lib.face(f).person_id != alice
    )
    new = lib.edits.move_faces([stranger], None)
    assert new > eve
    lib.edits.undo()
    lib.edits.undo()
    assert lib.person(eve).name == "Eve"
    assert {f.id for f in lib.faces_of_person(eve)} == eve_faces


def test_names_differing_only_in_case_are_one_name_in_any_script(lib):
    a, b = _person_of(lib, 1), _person_of(lib, 4)
    lib.edits.rename(a, "Émile")
    with pytest.raises(PhotofaceError, match="already the name"):
        lib.edits.rename(b, "émile")
    assert lib.person_by_name("ÉMILE").id == a


def test_a_merge_leaves_no_no_against_its_own_faces(lib):
    a, b = _person_of(lib, 1), _person_of(lib, 4)
    lib.edits.move_faces([4], a)  # face 4 joins A ...
    lib.edits.reject([4], a)  # ... and is then said not to be A: it is unsorted now
    lib.edits.move_faces([4], b)
    target = lib.edits.merge([a, b], into=a)
    assert lib.face(4).person_id == target
    assert lib.query("SELECT count(*) FROM rejections WHERE person_id = ?", (target,))[0][0] == 0
    lib.edits.undo()
    assert lib.query("SELECT face_id, person_id FROM rejections") == [(4, a)]


def test_a_face_grouped_by_another_process_just_before_an_edit_is_undone_with_it(lib, tmp_path):
    """rename reads the person's faces, then a scan in another process groups one more face
    into that person before the rename's transaction starts: the undo reverts that face too."""
    person = _person_of(lib, 1)
    other = Library(lib.path)
    real = lib.edits._face_ids_of
    calls = []

    def racing(pid):
        got = real(pid)
        if not calls:  # the first read, before the transaction: then the other process writes
            calls.append(pid)
            other.conn.execute("UPDATE faces SET person_id = ? WHERE id = 4", (person,))
        return got

    lib.edits._face_ids_of = racing
    lib.edits.rename(person, "Ada")
    assert lib.face(4).locked
    lib.edits.undo()
    assert not lib.face(4).locked
    other.close()
