"""`photoface add-face PHOTO X Y W H`: a face the scan missed, added as one undoable edit."""

from __future__ import annotations

import re

import pytest

from photoface.cli import main
from photoface.library import Library
from tests.cli_helpers import assert_one_line_error
from tests.photos import make_album, save_jpeg, small_face_box, small_face_photo


@pytest.fixture
def album(tmp_path, with_model, capsys, detector):
    make_album(tmp_path / "album", n_faces=4, broken=False)
    save_jpeg(small_face_photo(), tmp_path / "album/small.jpg", quality=95)
    assert main(["scan", str(tmp_path / "album"), "-q"]) == 0
    capsys.readouterr()
    return tmp_path / "album"


def faces_of(home, name: str) -> list[tuple]:
    with Library(home / "library.sqlite3", create=False) as lib:
        photo = lib.photo_by_path(str(name))
        return [(f.id, f.manual) for f in lib.faces_of_photo(photo.id)]


def test_add_face_adds_a_manual_face_and_undo_takes_it_away(album, home, capsys, detector):
    box = [f"{v:.1f}" for v in small_face_box(detector)]
    assert main(["add-face", str(album / "small.jpg"), *box]) == 0
    out = capsys.readouterr().out
    m = re.match(r"added face (\d+), (unsorted|in person \d+: .+)\n$", out)
    assert m, out
    assert faces_of(home, album / "small.jpg") == [(int(m.group(1)), True)]
    assert main(["undo"]) == 0
    assert "Add a face on small.jpg" in capsys.readouterr().out
    assert faces_of(home, album / "small.jpg") == []


def test_add_face_says_what_is_wrong_in_one_line(album, home, capsys, tmp_path):
    before = (tmp_path / "album/small.jpg").read_bytes()
    assert main(["add-face", str(tmp_path / "elsewhere.jpg"), "1", "2", "30", "40"]) == 1
    assert_one_line_error(capsys.readouterr().err, "is not in the library")
    assert main(["add-face", str(album / "small.jpg"), "5000", "10", "50", "50"]) == 1
    assert_one_line_error(capsys.readouterr().err, "too small or outside the photo")
    with pytest.raises(SystemExit) as e:
        main(["add-face", str(album / "small.jpg"), "nan", "10", "50", "50"])
    assert e.value.code == 2 and "not a number of pixels" in capsys.readouterr().err
    assert faces_of(home, album / "small.jpg") == []
    assert (tmp_path / "album/small.jpg").read_bytes() == before  # the original untouched
