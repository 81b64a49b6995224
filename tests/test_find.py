"""Find people: `photoface find PHOTO` on a photo the library has not seen, and `photoface
photos --with A --with B [--only]`, through the CLI and the library/jobs API under it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from photoface.cli import main
from photoface.core import nearest
from photoface.core.embed import dequantize, quantize
from photoface.jobs.find import load_gallery, match
from photoface.library import Library
from tests.cli_helpers import assert_one_line_error, stored_state
from tests.fakes import FakeEmbedder, fill_library, people_embeddings
from tests.photos import face_photo, save_jpeg

# --- find: the CLI on real photos (YuNet + the tiny ONNX model) ---------------------------------


@pytest.fixture
def new_photo(tmp_path):
    """A face photo outside the album, never scanned: the astronaut again, another variant."""
    return save_jpeg(face_photo(42), tmp_path / "elsewhere" / "new.jpg")


def find_json(capsys, *args: str) -> list[dict]:
    capsys.readouterr()
    assert main(["find", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_find_names_the_person_of_a_photo_the_library_has_not_seen(
    eileen_album, new_photo, capsys, home
):
    lib_file = home / "library.sqlite3"
    before, data, mtime = (
        stored_state(lib_file),
        new_photo.read_bytes(),
        new_photo.stat().st_mtime_ns,
    )
    (face,) = find_json(capsys, str(new_photo))
    (eileen,) = face["people"]  # the library has one person
    assert eileen["name"] == "Eileen" and eileen["within_threshold"] is True
    assert 0.0 <= eileen["distance"] < 0.8
    assert {m["photo"] for m in face["faces"]} == {
        str(eileen_album / f"trip/face_{i}.jpg") for i in range(3)
    }
    dists = [m["distance"] for m in face["faces"]]
    assert dists == sorted(dists)
    x, y, w, h = face["box"]
    assert 0 <= x < 480 and 0 <= y < 480 and 20 < w < 480 and 20 < h < 480  # the photo's pixels
    # Only read: the library holds what it held, the photo is as it was.
    assert stored_state(lib_file) == before
    assert new_photo.read_bytes() == data and new_photo.stat().st_mtime_ns == mtime


def test_find_prints_people_distances_and_photos(eileen_album, new_photo, capsys):
    assert main(["find", str(new_photo)]) == 0
    out = capsys.readouterr().out
    assert "1 face(s)" in out and "face 1 at x=" in out
    line = next(ln for ln in out.splitlines() if "Eileen" in ln and "within" in ln)
    assert float(line.split()[0]) < 0.8
    assert str(eileen_album / "trip/face_0.jpg") in out


def test_find_limit_cuts_each_list(eileen_album, new_photo, capsys):
    (face,) = find_json(capsys, str(new_photo), "--limit", "1")
    assert len(face["people"]) == 1 and len(face["faces"]) == 1


def test_find_a_photo_without_faces(eileen_album, capsys):
    assert main(["find", str(eileen_album / "sky.jpg")]) == 0
    assert capsys.readouterr().out.strip() == f"no faces found in {eileen_album / 'sky.jpg'}"
    assert find_json(capsys, str(eileen_album / "sky.jpg")) == []


@pytest.mark.parametrize("kind", ["text", "missing", "folder"])
def test_find_an_unreadable_file_is_one_line(eileen_album, tmp_path, capsys, kind):
    bad = tmp_path / "bad.jpg"
    if kind == "text":
        bad.write_text("not a picture")
    elif kind == "folder":
        bad.mkdir()
    assert main(["find", str(bad)]) == 1
    assert_one_line_error(capsys.readouterr().err, str(bad))


def test_find_with_no_model_says_so(eileen_album, new_photo, capsys, monkeypatch):
    from photoface.core import embed

    monkeypatch.delenv("PHOTOFACE_MODEL")
    monkeypatch.setattr(embed, "find_model", lambda _dir: None)
    assert main(["find", str(new_photo)]) == 1
    assert_one_line_error(capsys.readouterr().err, "No face-embedding model")


def test_find_in_a_library_with_nothing_to_compare(tmp_path, new_photo, with_model, capsys):
    Library(tmp_path / "empty.sqlite3").close()
    assert main(["--library", str(tmp_path / "empty.sqlite3"), "find", str(new_photo)]) == 1
    assert_one_line_error(capsys.readouterr().err, "no faces to compare with")


def test_find_in_a_library_of_another_model_says_how_to_update(
    tmp_path, new_photo, with_model, capsys
):
    path = tmp_path / "other.sqlite3"
    with Library(path) as lib:
        x, _ = people_embeddings(1, 3)
        fill_library(lib, x, np.arange(3), model_id="some-old-model")
    assert main(["--library", str(path), "find", str(new_photo)]) == 1
    assert_one_line_error(capsys.readouterr().err, "3 faces", "recluster")


def test_find_with_no_library_says_so(tmp_path, new_photo, with_model, capsys):
    assert main(["--library", str(tmp_path / "none.sqlite3"), "find", str(new_photo)]) == 1
    assert_one_line_error(capsys.readouterr().err, "no library")
    assert not (tmp_path / "none.sqlite3").exists()


@pytest.mark.parametrize("bad", ["0", "-1", "x"])
def test_find_limit_must_be_a_positive_number(eileen_album, new_photo, bad, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["find", str(new_photo), "--limit", bad])
    assert stop.value.code == 2


# --- find: the ranking, against a brute-force loop ---------------------------------------------


def brute_force(x: np.ndarray, person_of: np.ndarray, q: np.ndarray) -> list[tuple[int, float]]:
    """(person, mean squared L2 from q to each of its faces), closest first."""
    out = []
    for p in sorted(set(person_of.tolist()) - {-1}):
        members = x[person_of == p]
        out.append((p, float(np.mean(((members - q) ** 2).sum(1)))))
    return sorted(out, key=lambda t: t[1])


def test_match_ranks_people_by_average_linkage_and_faces_by_distance(lib):
    x, labels = people_embeddings(6, 5, spread=0.9, seed=3)
    ids = fill_library(lib, x, np.arange(len(labels)))
    labels = labels.copy()
    labels[::7] = -1  # a few unsorted faces: in the nearest faces, in no person
    lib.write_clustering(np.array(ids), np.where(labels < 0, 0, -1 - labels))
    stored = dequantize(quantize(x))
    person_of = np.array(
        [r[0] for r in lib.query("SELECT coalesce(person_id, -1) FROM faces ORDER BY id")]
    )
    info = FakeEmbedder().info
    gallery = load_gallery(lib, info)
    rng = np.random.default_rng(0)
    queries = quantize(stored[[0, 11, 29]] + 0.3 * rng.standard_normal((3, x.shape[1])) / 11)
    results = match(lib, gallery, queries, threshold=0.9, limit=4)
    for q, (people, faces) in zip(dequantize(queries), results, strict=True):
        want = brute_force(stored, person_of, q)[:4]
        assert [p.person_id for p in people] == [p for p, _ in want]
        np.testing.assert_allclose([p.distance for p in people], [d for _, d in want], atol=2e-3)
        assert [p.within for p in people] == [d <= 0.9 for _, d in want]
        face_d = ((stored - q) ** 2).sum(1)
        assert [f.face_id for f in faces] == [ids[i] for i in np.argsort(face_d)[:4]]
        for f in faces:
            p = int(person_of[ids.index(f.face_id)])
            assert f.person_id == (None if p < 0 else p)


def test_top_k_is_sorted_and_stable_with_fewer_columns_than_k():
    d = np.array([[0.5, 0.1, 0.5, 0.3]], np.float32)
    idx, dist = nearest.top_k(d, 10)
    assert idx.tolist() == [[1, 3, 0, 2]] and dist[0].tolist() == pytest.approx(
        [0.1, 0.3, 0.5, 0.5]
    )
    idx, _ = nearest.top_k(d, 2)
    assert idx.tolist() == [[1, 3]]


# --- photos together ----------------------------------------------------------------------------

# photo: the people in it (A=0, B=1, C=2; -1 an unsorted face) and each face's quality
ALBUM = {
    0: [(0, 1.0), (1, 1.0)],  # A and B
    1: [(0, 1.0), (1, 1.0), (2, 1.0)],  # A, B and C
    2: [(0, 1.0), (1, 1.0), (-1, 0.2)],  # A, B and a tiny face in the background
    3: [(0, 1.0), (1, 1.0), (-1, 0.9)],  # A, B and a clear face nobody grouped
    4: [(0, 1.0)],  # A alone
    5: [(1, 1.0), (2, 1.0)],  # B and C
}


@pytest.fixture
def together(tmp_path) -> tuple[Library, dict[str, int]]:
    """ALBUM in a library, A named Ada, B named Bob, C unnamed; the people's ids by letter."""
    photo_of, who, quality = [], [], []
    for ph, faces in ALBUM.items():
        for person, q in faces:
            photo_of.append(ph), who.append(person), quality.append(q)
    x, _ = people_embeddings(1, len(who))
    lib = Library(tmp_path / "lib.sqlite3")
    ids = fill_library(lib, x, np.array(photo_of), quality=np.array(quality))
    who_a = np.array(who)
    lib.write_clustering(np.array(ids), np.where(who_a < 0, 0, -1 - who_a))
    pid = {
        letter: lib.face(ids[who.index(k)]).person_id
        for letter, k in zip("ABC", range(3), strict=True)
    }
    lib.edits.rename(pid["A"], "Ada")
    lib.edits.rename(pid["B"], "Bob")
    yield lib, pid
    lib.close()


def photo_numbers(photos) -> list[int]:
    return sorted(int(p.path.rsplit("/", 1)[1].split(".")[0]) for p in photos)


def test_photos_together_and_only_them(together):
    lib, pid = together
    assert photo_numbers(lib.photos_together([pid["A"], pid["B"]])) == [0, 1, 2, 3]
    assert photo_numbers(lib.photos_together([pid["A"]])) == [0, 1, 2, 3, 4]
    # Only them: another person, or a clear face grouped nowhere, is somebody else; a tiny
    # background face under the quality floor is not.
    only = lib.photos_together([pid["A"], pid["B"]], only=True, quality_floor=0.5)
    assert photo_numbers(only) == [0, 2]
    assert photo_numbers(lib.photos_together([pid["A"]], only=True, quality_floor=0.5)) == [4]
    assert photo_numbers(lib.photos_together([pid["A"], pid["B"], pid["C"]])) == [1]


def test_photos_together_counts_a_hidden_person_as_somebody_else(together):
    lib, pid = together
    lib.edits.hide(pid["C"], True)
    assert photo_numbers(lib.photos_together([pid["B"]], only=True, quality_floor=0.5)) == []


def test_photos_together_leaves_removed_faces_out(together):
    lib, pid = together
    (c_in_1,) = [f.id for f in lib.faces_of_person(pid["C"]) if f.path == "/photos/1.jpg"]
    lib.edits.remove_faces([c_in_1])
    only = lib.photos_together([pid["A"], pid["B"]], only=True, quality_floor=0.5)
    assert photo_numbers(only) == [0, 1, 2]


def test_photos_cli_by_name_and_id(together, capsys):
    lib, pid = together
    base = ["--library", str(lib.path), "photos"]
    assert main([*base, "--with", "ada", "--with", str(pid["B"])]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"/photos/{n}.jpg  [missing: the file is not there]" for n in (0, 1, 2, 3)]
    assert main([*base, "--with", "Ada", "--with", "Bob", "--only", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in rows] == ["/photos/0.jpg", "/photos/2.jpg"]
    assert all(r["missing"] for r in rows)


def test_photos_cli_none_together_says_so_on_stderr(together, capsys):
    lib, pid = together
    args = ["--library", str(lib.path), "photos", "--with", "Ada", "--with", str(pid["C"])]
    assert main([*args, "--only"]) == 0  # together in photo 1 only, with Bob
    got = capsys.readouterr()
    assert got.out == ""
    assert got.err.strip() == f"no photo shows Ada and Person {pid['C']} with nobody else"


def test_photos_cli_unknown_person_is_one_line(together, capsys):
    lib, _ = together
    before = stored_state(lib.path)
    assert main(["--library", str(lib.path), "photos", "--with", "Ada", "--with", "Zed"]) == 1
    assert_one_line_error(capsys.readouterr().err, "Zed")
    assert main(["--library", str(lib.path), "photos", "--with", "99999"]) == 1
    assert_one_line_error(capsys.readouterr().err, "99999")
    assert stored_state(lib.path) == before


def test_photos_cli_needs_a_person(together):
    lib, _ = together
    with pytest.raises(SystemExit) as stop:
        main(["--library", str(lib.path), "photos"])
    assert stop.value.code == 2


def test_find_and_photos_are_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "find" in out and "photos" in out
