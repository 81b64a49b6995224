"""Photos over time: edited in place, deleted, on an unplugged drive, copied; every rescan
reconciles the library with the disk and never writes a photo."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from photoface import xmp
from photoface.cli import main
from photoface.core import imaging
from photoface.errors import PhotofaceError
from photoface.jobs import drain, scan
from photoface.library import Library
from tests.fakes import FakeEmbedder
from tests.photos import face_photo, make_album, save_jpeg


def checksums(root: Path) -> dict[str, str]:
    """sha256 of every file under `root`: scans must leave the photos as they were."""
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def run(lib, root, detector, embedder=None):
    """A scan through `scan`, checking it wrote none of the photos under `root`."""
    before = checksums(root) if root.is_dir() else {}
    result = drain(scan(lib, root, detector, embedder or FakeEmbedder()))
    assert checksums(root) == before
    return result


def cli_scan(root: Path, capsys) -> str:
    before = checksums(root)
    assert main(["scan", str(root), "-q"]) == 0
    assert checksums(root) == before
    return capsys.readouterr().out


def home_library() -> Library:
    """The library the CLI uses in this test."""
    return Library(Path(os.environ["PHOTOFACE_HOME"]) / "library.sqlite3")


def faces_table(lib):
    return lib.query("SELECT id, photo_id, x, y, removed FROM faces ORDER BY id")


def path_rows(lib, path: Path) -> list[tuple]:
    return lib.query("SELECT photo_id, missing FROM photo_paths WHERE path = ?", (str(path),))


def test_a_photo_edited_in_place_retires_its_old_faces_and_a_revert_brings_them_back(
    tmp_path, with_model, capsys
):
    album = tmp_path / "album"
    make_album(album, n_faces=3, broken=False)
    cli_scan(album, capsys)
    with home_library() as lib:
        (p,) = lib.people()
    assert main(["name", str(p.id), "Eileen"]) == 0
    edited = album / "trip/face_0.jpg"
    with home_library() as lib:
        old = lib.photo_by_path(str(edited))
        (old_face,) = lib.faces_of_photo(old.id)
        assert old_face.person_id == p.id

    # Edited in place: the same name now holds a landscape, no face.
    original = edited.read_bytes()
    save_jpeg(np.full((300, 400, 3), 90, np.uint8), edited)
    assert "1 face(s) of photos changed on disk left their people" in cli_scan(album, capsys)
    with home_library() as lib:
        new = lib.photo_by_path(str(edited))
        assert new.hash != old.hash and not new.missing
        assert path_rows(lib, edited) == [(new.id, 0)], "the path belongs to the new content only"
        assert lib.faces_of_photo(new.id) == []
        assert old_face.id not in {f.id for f in lib.faces_of_person(p.id)}
        assert lib.person(p.id).face_count == 2
        assert lib.photo(old.id).missing, "the old content is nowhere on disk now"
        assert lib.counts()["photos"] == 4 and lib.counts()["retired"] == 1
        exported = {it.photo for it in xmp.plan_export(lib)}
        assert edited not in exported, "no ghost face in the new image's sidecar"
    assert main(["show", "Eileen"]) == 0
    assert "face_0.jpg" not in capsys.readouterr().out

    # The scan made no edit: the user's history is as it was.
    with home_library() as lib:
        assert lib.edits.next_undo() == "Rename Unnamed to Eileen"

    # The old file comes back (restored from a backup): so does its face, named as it was.
    edited.write_bytes(original)
    cli_scan(album, capsys)
    with home_library() as lib:
        assert lib.face(old_face.id).person_id == p.id and lib.face(old_face.id).locked
        assert lib.person(p.id).face_count == 3
        assert path_rows(lib, edited) == [(old.id, 0)]
        assert lib.counts()["retired"] == 1  # now the landscape is the content with no path
        assert edited in {it.photo for it in xmp.plan_export(lib)}


def test_swapping_two_files_loses_no_face(tmp_path, with_model, capsys):
    """a.jpg and b.jpg trade places (through c.jpg): every face stays with its person."""
    album = tmp_path / "album"
    make_album(album, n_faces=4, broken=False)
    cli_scan(album, capsys)
    a, b = album / "trip/face_0.jpg", album / "trip/face_1.jpg"
    with home_library() as lib:
        (p,) = lib.people()
        before = {f.id: f.person_id for f in lib.faces_of_person(p.id)}
    assert main(["name", str(p.id), "Eileen"]) == 0
    tmp = album / "trip/c.jpg"
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    cli_scan(album, capsys)
    with home_library() as lib:
        assert {f.id: f.person_id for f in lib.faces_of_person(p.id)} == before
        assert lib.counts()["retired"] == 0
        assert lib.edits.next_redo() is None and lib.edits.next_undo() == "Rename Unnamed to Eileen"


def test_an_edit_to_a_photo_with_a_copy_elsewhere_retires_nothing(tmp_path, lib, detector):
    album = tmp_path / "album"
    make_album(album, n_faces=1, broken=False)
    shutil.copy(album / "trip/face_0.jpg", album / "copy.jpg")
    run(lib, album, detector)
    before = faces_table(lib)
    save_jpeg(face_photo(7), album / "trip/face_0.jpg")
    last = run(lib, album, detector)
    assert last.new_photos == 1
    copy = lib.photo_by_path(str(album / "copy.jpg"))
    assert copy.paths == (str(album / "copy.jpg"),) and not copy.missing
    assert [r for r in faces_table(lib) if r[1] == copy.id] == [
        r for r in before if r[1] == copy.id
    ]
    assert lib.counts()["retired"] == 0 and lib.edits.next_undo() is None


def test_a_deleted_photo_is_missing_not_pruned_and_a_vanished_folder_changes_nothing(
    tmp_path, lib, detector, capsys
):
    album = tmp_path / "album"
    files = make_album(album, n_faces=4, broken=False)
    save_jpeg(face_photo(9), album / "away/face_9.jpg")
    run(lib, album, detector)
    before = faces_table(lib)
    photos_before = {p.id for p in lib.photos()}

    files["face1"].unlink()  # deleted from a folder that is still there
    (album / "away").rename(tmp_path / "unplugged")  # a subfolder that is not there now
    last = run(lib, album, detector)
    assert last.total == 4 and last.unchanged == 4 and last.missing == 1
    assert faces_table(lib) == before, "nothing pruned"
    assert {p.id for p in lib.photos()} == photos_before
    deleted = lib.photo_by_path(str(files["face1"]))
    assert deleted.missing and deleted.path == str(files["face1"])
    assert path_rows(lib, files["face1"])[0][1] == 1
    away = lib.photo_by_path(str(album / "away/face_9.jpg"))
    assert path_rows(lib, album / "away/face_9.jpg")[0][1] == 0, "an absent folder is no proof"
    assert away.missing, "still, it cannot be opened now"
    assert lib.counts()["missing"] == 1
    assert [p.id for p in lib.missing_photos()] == [deleted.id]

    lib_path = str(lib.path)
    assert main(["--library", lib_path, "errors"]) == 0
    assert f"{files['face1']}: missing" in capsys.readouterr().out
    assert main(["--library", lib_path, "info"]) == 0
    assert "missing: 1" in capsys.readouterr().out

    # The whole album unplugged: a clear error, nothing changed.
    album.rename(tmp_path / "elsewhere")
    with pytest.raises(PhotofaceError, match="not a folder"):
        run(lib, album, detector)
    assert faces_table(lib) == before and lib.counts()["missing"] == 1

    # Plugged back in, the deleted file restored: all present again, nothing read twice.
    (tmp_path / "elsewhere").rename(album)
    (tmp_path / "unplugged").rename(album / "away")
    save_jpeg(face_photo(1), files["face1"])
    emb = FakeEmbedder()
    last = run(lib, album, detector, emb)
    assert last.new_photos == 0 and last.moved == 1 and last.unchanged == 5
    assert lib.counts()["missing"] == 0 and not lib.photo(deleted.id).missing
    assert faces_table(lib) == before and emb.calls == 0


def test_copies_then_deleted_copies_leave_the_photo_at_its_original(tmp_path, lib, detector):
    originals, copies = tmp_path / "photos", tmp_path / "usb-copy"
    make_album(originals, n_faces=3, broken=False)
    run(lib, originals, detector)
    before = faces_table(lib)
    shutil.copytree(originals, copies)
    last = run(lib, copies, detector)
    assert last.moved == 4 and last.new_photos == 0
    assert lib.counts()["photos"] == 4 and faces_table(lib) == before
    for photo in lib.photos():
        assert photo.path.startswith(str(originals)), photo.path
        assert len(photo.paths) == 2

    # Every path is known: rescanning either folder reads nothing.
    emb = FakeEmbedder()
    assert run(lib, originals, detector, emb).unchanged == 4
    assert run(lib, copies, detector, emb).unchanged == 4 and emb.calls == 0

    for f in copies.rglob("*.jpg"):
        f.unlink()
    run(lib, copies, detector)
    shutil.rmtree(copies)
    assert faces_table(lib) == before
    for photo in lib.photos():
        assert photo.path.startswith(str(originals)) and not photo.missing
        assert imaging.load_image(photo.path).rgb.size > 0
    assert lib.counts()["missing"] == 0


def test_copies_scanned_first_then_the_copies_folder_removed(tmp_path, lib, detector):
    """The copy was seen first, then the original; the copies' whole folder goes away."""
    originals, copies = tmp_path / "photos", tmp_path / "usb-copy"
    make_album(originals, n_faces=2, broken=False)
    shutil.copytree(originals, copies)
    run(lib, copies, detector)
    run(lib, originals, detector)
    shutil.rmtree(copies)
    for photo in lib.photos():
        assert photo.path.startswith(str(originals)) and not photo.missing
    for face in lib.unsorted_faces():
        assert face.path.startswith(str(originals))


def test_two_copies_in_one_scan_are_one_photo_with_two_paths(tmp_path, lib, detector):
    album = tmp_path / "album"
    make_album(album, n_faces=1, broken=False)
    shutil.copy(album / "trip/face_0.jpg", album / "trip/face_0 (copy).jpg")
    run(lib, album, detector)
    first, copy = album / "trip/face_0.jpg", album / "trip/face_0 (copy).jpg"
    photo = lib.photo_by_path(str(copy))
    assert set(photo.paths) == {str(first), str(copy)}
    assert lib.counts()["photos"] == 2 and lib.counts()["faces"] == 1


def test_a_file_replaced_by_a_copy_of_another_photo_retires_the_old_content(
    tmp_path, lib, detector
):
    album = tmp_path / "album"
    files = make_album(album, n_faces=2, broken=False)
    run(lib, album, detector)
    old = lib.photo_by_path(str(files["face0"]))
    shutil.copy(files["face1"], files["face0"])
    run(lib, album, detector)
    other = lib.photo_by_path(str(files["face1"]))
    assert lib.photo_by_path(str(files["face0"])).id == other.id
    assert lib.faces_of_photo(old.id) == [] and lib.photo(old.id).missing
    assert lib.edits.next_undo() is None, "a scan is not an edit"
    old_bytes = files["face0"].with_name("restored.jpg")
    save_jpeg(face_photo(0), old_bytes)  # the old content, back under another name
    run(lib, album, detector)
    assert len(lib.faces_of_photo(old.id)) == 1 and not lib.photo(old.id).missing


def test_a_folder_that_cannot_be_read_marks_nothing_missing(tmp_path, lib, detector, monkeypatch):
    album = tmp_path / "album"
    files = make_album(album, n_faces=2, broken=False)
    run(lib, album, detector)
    locked = str(files["face0"].parent)
    real_stat, real_walk = os.stat, os.walk

    def stat(path, *a, **kw):
        if os.fspath(path).startswith(locked + os.sep):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_stat(path, *a, **kw)

    def walk(top, *a, **kw):  # the folder cannot be listed either
        for dirpath, dirnames, filenames in real_walk(top, *a, **kw):
            yield dirpath, dirnames, [] if dirpath == locked else filenames

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "walk", walk)
    drain(scan(lib, album, detector, FakeEmbedder()))
    monkeypatch.undo()
    assert lib.missing_photos() == []


def test_an_unchanged_rescan_reports_once_for_all_its_files(tmp_path, lib, detector):
    """The rescan's fast path: the known files are checked up front (a stat and a lookup
    each), counted in one progress report, and none is handed to the reading thread."""
    album = tmp_path / "album"
    make_album(album, n_faces=4, broken=False)
    n = run(lib, album, detector).total
    save_jpeg(face_photo(9), album / "new.jpg")  # one file that needs reading
    reports = []
    job = scan(lib, album, detector, FakeEmbedder())
    try:
        while True:
            reports.append(next(job))
    except StopIteration as stop:
        result = stop.value
    assert result.total == n + 1 and result.unchanged == n and result.new_photos == 1
    assert [(r.done, r.unchanged) for r in reports] == [(n, n), (n + 1, n)]
