"""The library file: schema, refusing files it must not touch, and undoable edits."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from photoface.errors import LibraryError, NotFoundError, PhotofaceError
from photoface.library import Library, schema
from tests.fakes import fill_library, people_embeddings


@pytest.fixture
def two_people(lib):
    """Six faces: 0-2 auto person A, 3-5 auto person B (one photo each)."""
    x, _ = people_embeddings(2, 3, seed=0)
    ids = fill_library(lib, x, np.arange(6))
    lib.write_clustering(np.array(ids), np.array([-1, -1, -1, -2, -2, -2]))
    a = lib.face(ids[0]).person_id
    b = lib.face(ids[3]).person_id
    return lib, ids, a, b


def state(lib: Library) -> tuple:
    faces = lib.query("SELECT id, person_id, locked, removed FROM faces ORDER BY id")
    people = lib.query("SELECT id, name, hidden FROM people ORDER BY id")
    rej = lib.query("SELECT face_id, person_id FROM rejections ORDER BY 1, 2")
    return faces, people, rej


def test_new_library_has_the_current_schema_in_wal_mode(tmp_path):
    path = tmp_path / "new.sqlite3"
    Library(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == schema.APPLICATION_ID


def test_a_file_that_is_not_a_database_is_refused_and_untouched(tmp_path):
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"my shopping list\n" * 20)
    before = path.read_bytes()
    with pytest.raises(LibraryError, match="not a photoface library"):
        Library(path)
    assert path.read_bytes() == before


def test_another_apps_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t(x)")
    conn.commit()
    conn.close()
    with pytest.raises(LibraryError, match="not a photoface library"):
        Library(path)


def test_a_library_from_a_newer_version_is_refused_and_untouched(tmp_path):
    path = tmp_path / "future.sqlite3"
    Library(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(LibraryError, match="newer photoface"):
        Library(path)
    assert path.read_bytes() == before


def test_a_busy_library_gives_a_clear_message(tmp_path, monkeypatch):
    from photoface.library import db

    path = tmp_path / "busy.sqlite3"
    Library(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 100)
    lib = Library(path)
    lib.conn.execute("PRAGMA busy_timeout = 100")
    with pytest.raises(LibraryError, match="busy"), lib.transaction():
        pass
    other.execute("ROLLBACK")
    with lib.transaction() as c:
        c.execute("INSERT INTO meta(key, value) VALUES ('k', 'v')")
    assert lib.query("SELECT value FROM meta WHERE key = 'k'") == [("v",)]


def test_two_processes_creating_one_library_run_each_migration_once(tmp_path):
    import threading

    path = tmp_path / "new.sqlite3"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA journal_mode = WAL")  # as Library does before migrating
    other.execute("BEGIN IMMEDIATE")  # another photoface is creating the schema right now
    opened: list[object] = []
    t = threading.Thread(target=lambda: opened.append(_open_or_error(path)))
    t.start()
    t.join(0.3)  # it reads version 0, then waits for the write lock
    schema.migrate_step(other, 0)
    other.execute("COMMIT")
    t.join(10)
    assert opened == [schema.SCHEMA_VERSION]


def _open_or_error(path) -> object:
    """The schema version a fresh Library sees, or the error opening it raised."""
    try:
        with Library(path) as lib:
            return lib.conn.execute("PRAGMA user_version").fetchone()[0]
    except Exception as e:  # noqa: BLE001 - the test reports what went wrong
        return e


def test_people_are_listed_biggest_first_with_a_cover(lib):
    x, _ = people_embeddings(2, 4, seed=1)
    ids = fill_library(lib, x, np.arange(8))
    lib.write_clustering(np.array(ids), np.array([-1] * 3 + [-2] * 5))
    people = lib.people()
    assert [p.face_count for p in people] == [5, 3]
    assert all(p.cover_face_id is not None for p in people)
    assert lib.counts()["faces"] == 8


def test_rename_names_and_locks_and_undo_restores(two_people):
    lib, ids, a, b = two_people
    before = state(lib)
    lib.edits.rename(a, "Ada")
    assert lib.person(a).name == "Ada"
    assert all(f.locked for f in lib.faces_of_person(a))
    assert lib.person_by_name("ada").id == a
    assert lib.edits.undo() is not None
    assert state(lib) == before


def test_rename_to_a_taken_name_points_to_merge(two_people):
    lib, ids, a, b = two_people
    lib.edits.rename(a, "Ada")
    with pytest.raises(PhotofaceError, match="merge"):
        lib.edits.rename(b, "ada")


def test_merge_and_undo_redo(two_people):
    lib, ids, a, b = two_people
    lib.edits.rename(b, "Bea")
    before = state(lib)
    target = lib.edits.merge([a, b])
    assert target == b, "the named person is kept"
    assert lib.person(b).face_count == 6
    with pytest.raises(NotFoundError):
        lib.person(a)
    merged = state(lib)
    lib.edits.undo()
    assert state(lib) == before
    lib.edits.redo()
    assert state(lib) == merged


def test_move_to_a_new_person_and_undo(two_people):
    lib, ids, a, b = two_people
    before = state(lib)
    new = lib.edits.move_faces([ids[0]], None)
    assert new not in (a, b)
    assert lib.face(ids[0]).person_id == new and lib.face(ids[0]).locked
    lib.edits.undo()
    assert state(lib) == before


def test_reject_remembers_and_undo_forgets(two_people):
    lib, ids, a, b = two_people
    before = state(lib)
    lib.edits.reject([ids[1]], a)
    assert lib.face(ids[1]).person_id is None
    assert (ids[1], a) in lib.cluster_input(["fake-v1"]).rejections
    lib.edits.undo()
    assert state(lib) == before


def test_hide_and_remove_are_undoable(two_people):
    lib, ids, a, b = two_people
    before = state(lib)
    lib.edits.hide(a)
    assert a not in [p.id for p in lib.people()]
    assert a in [p.id for p in lib.people(include_hidden=True)]
    lib.edits.remove_faces([ids[3]])
    assert lib.person(b).face_count == 2
    assert lib.edits.undo().startswith("Remove")
    assert lib.edits.undo().startswith("Hide")
    assert state(lib) == before


def test_a_new_edit_ends_the_redo_chain(two_people):
    lib, ids, a, b = two_people
    lib.edits.rename(a, "Ada")
    lib.edits.undo()
    lib.edits.hide(b)
    assert lib.edits.redo() is None
    assert lib.edits.undo().startswith("Hide")
    assert lib.edits.undo() is None


def test_unknown_ids_are_clear_errors(two_people):
    lib, ids, a, b = two_people
    with pytest.raises(NotFoundError, match="999"):
        lib.person(999)
    with pytest.raises(NotFoundError, match="12345"):
        lib.edits.move_faces([12345], a)
    with pytest.raises(PhotofaceError, match="two"):
        lib.edits.merge([a, a])


def test_search_filters_by_name(two_people):
    lib, ids, a, b = two_people
    lib.edits.rename(a, "Ada 100%")
    assert [p.id for p in lib.people(search="100%")] == [a]
    assert lib.people(search="zed") == []


def _schema_1_library_with_a_ghost(path) -> None:
    """A library as version 1 left it after an edit in place: two contents at one path, the
    old one's face still in a named person."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    schema.migrate_step(conn, 0)
    conn.execute("COMMIT")
    conn.execute("PRAGMA foreign_keys = ON")
    photo = "INSERT INTO photos(id, hash, path, size, mtime_ns, width, height, detector, "
    photo += "scanned_at) VALUES (?, ?, ?, 1, ?, 640, 480, 'fake', ?)"
    conn.execute(photo, (1, "old", "/photos/a.jpg", 10, 1.0))
    conn.execute(photo, (2, "new", "/photos/a.jpg", 20, 2.0))
    conn.execute(photo, (3, "other", "/photos/b.jpg", 30, 3.0))
    conn.execute("INSERT INTO people(id, name, created_at) VALUES (7, 'Ada', 0)")
    face = "INSERT INTO faces(id, photo_id, x, y, w, h, landmarks, score, quality, crop, "
    face += "person_id, locked) VALUES (?, ?, 0, 0, 10, 10, ?, 0.9, 1.0, x'00', 7, 1)"
    for fid, pid in ((1, 1), (2, 2), (3, 3)):
        conn.execute(face, (fid, pid, np.zeros((5, 2), np.float32).tobytes()))
    conn.close()


def test_schema_2_gives_each_path_to_its_newest_content_and_a_scan_retires_the_ghost(tmp_path):
    from photoface.jobs import drain, scan

    path = tmp_path / "v1.sqlite3"
    _schema_1_library_with_a_ghost(path)
    with Library(path) as lib:
        assert lib.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        # schema 4: the faces scanned before are none of them drawn by the user
        assert lib.query("SELECT DISTINCT manual FROM faces") in ([], [(0,)])
        assert lib.known_files() == {"/photos/a.jpg": (1, 20), "/photos/b.jpg": (1, 30)}
        assert lib.photo_by_path("/photos/a.jpg").id == 2
        assert lib.photo(1).paths == () and lib.photo(1).missing
        assert lib.counts()["photos"] == 2
        # The ghost (the old content, with no path now) is retired: out of Ada, its row kept.
        assert lib.person(7).face_count == 2
        assert lib.face(2).person_id == 7 and lib.face(3).person_id == 7
        assert lib.counts()["retired"] == 1 and lib.edits.next_undo() is None
        assert lib.query("SELECT person_id, locked FROM faces WHERE id = 1") == [(7, 1)]
        (tmp_path / "empty").mkdir()
        drain(scan(lib, tmp_path / "empty", detector=None, embedder=None))  # nothing to read
        assert lib.person(7).face_count == 2 and lib.counts()["retired"] == 1


def test_schema_7_drops_the_person_index_its_successor_covers(tmp_path):
    path = tmp_path / "v1.sqlite3"
    _schema_1_library_with_a_ghost(path)
    with Library(path) as lib:
        indexes = {r[0] for r in lib.query("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "faces_person_live" in indexes and "faces_person" not in indexes
        # a person's faces are still found through an index, not by reading every face
        sql = "EXPLAIN QUERY PLAN SELECT id FROM faces WHERE person_id = 7"
        plan = " ".join(str(r[-1]) for r in lib.query(sql))
        assert "INDEX faces_person_live (person_id=?)" in plan
        assert lib.person(7).face_count == 2
        # deleting a person looks its faces up by the same index (ON DELETE SET NULL)
        with lib.db.transaction() as c:
            c.execute("DELETE FROM people WHERE id = 7")
        assert lib.query("SELECT COUNT(*) FROM faces WHERE person_id IS NULL") == [(3,)]


def test_each_connection_keeps_a_64_mb_page_cache(tmp_path):
    with Library(tmp_path / "lib.sqlite3") as lib:
        assert lib.query("PRAGMA cache_size") == [(-64 * 1024,)]
