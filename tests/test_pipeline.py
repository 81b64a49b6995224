"""The scan: faces stored once, bad files recorded, rescans cheap, kills resumable."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

from photoface.core.cluster import ClusterParams, pairs_in_same_photo
from photoface.core.pipeline import ScanOptions, list_photos
from photoface.errors import PhotofaceError
from photoface.jobs import drain, recluster, reembed, scan, update
from tests.fakes import FakeEmbedder
from tests.photos import make_album, save_jpeg, two_faces_photo

PARAMS = ClusterParams(threshold=1.0, min_size=3)


def run(lib, root, detector, embedder=None, **kw):
    """A scan to its end: its result."""
    return drain(scan(lib, root, detector, embedder, **kw))


def faces_table(lib):
    return lib.query(
        "SELECT f.id, p.hash, f.x, f.y FROM faces f JOIN photos p ON p.id = f.photo_id"
    )


def test_scan_stores_faces_and_records_bad_files(tmp_path, lib, detector):
    files = make_album(tmp_path / "album")
    emb = FakeEmbedder()
    progress = []
    last = drain(scan(lib, tmp_path / "album", detector, emb), progress.append)
    assert last.total == len(files) == 8 and not last.cancelled
    assert [p.done for p in progress] == list(range(1, 9))
    assert last.faces == 4 and last.errors == 3 and last.new_photos == 5
    counts = lib.counts()
    assert counts["photos"] == 5 and counts["faces"] == 4 and counts["errors"] == 3
    reasons = dict(lib.scan_errors())
    assert "empty" in reasons[str(files["empty"])]
    assert "decode" in reasons[str(files["truncated"])]
    assert "not an image" in reasons[str(files["text"])]
    face = lib.unsorted_faces()[0]
    assert face.model_id == "fake-v1" and 0 < face.quality <= 1
    x, y, w, h = face.box
    assert 100 < x + w / 2 < 300 and 50 < y + h / 2 < 250  # the astronaut's face, in pixels


def test_unchanged_rescan_reads_nothing(tmp_path, lib, detector):
    make_album(tmp_path / "album")
    run(lib, tmp_path / "album", detector, FakeEmbedder())
    before = faces_table(lib)
    emb = FakeEmbedder()
    last = run(lib, tmp_path / "album", detector, emb)
    assert last.unchanged == 8 and last.new_photos == 0 and emb.calls == 0
    assert faces_table(lib) == before


def test_moved_and_renamed_photos_keep_their_faces(tmp_path, lib, detector):
    make_album(tmp_path / "album", broken=False)
    run(lib, tmp_path / "album", detector, FakeEmbedder())
    before = faces_table(lib)
    shutil.move(tmp_path / "album/trip", tmp_path / "album/2024 trip")
    (tmp_path / "album/2024 trip/face_1.jpg").rename(tmp_path / "album/2024 trip/renamed.jpg")
    last = run(lib, tmp_path / "album", detector, FakeEmbedder())
    assert last.moved == 4 and last.new_photos == 0
    assert faces_table(lib) == before
    paths = {r[0] for r in lib.query("SELECT path FROM photos")}
    assert str(tmp_path / "album/2024 trip/renamed.jpg") in paths
    assert not any("/trip/" in p for p in paths)


def test_a_copy_of_a_photo_is_one_photo(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=1, broken=False)
    shutil.copy(tmp_path / "album/trip/face_0.jpg", tmp_path / "album/copy.jpg")
    run(lib, tmp_path / "album", detector, FakeEmbedder())
    assert lib.counts()["photos"] == 2 and lib.counts()["faces"] == 1


def test_cancel_stops_between_photos_and_a_rescan_finishes(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=6, broken=False)
    cancel = threading.Event()
    opts = ScanOptions(batch_photos=1)
    gen = scan(lib, tmp_path / "album", detector, FakeEmbedder(), cancel, opts)

    def press_cancel(p):
        if p.done == 3:
            cancel.set()

    stopped = drain(gen, press_cancel)
    assert stopped.cancelled and stopped.done == 3
    assert lib.counts()["photos"] == 3
    last = run(lib, tmp_path / "album", detector, FakeEmbedder())
    assert last.unchanged == 3 and last.new_photos == 4
    assert lib.counts()["faces"] == 6
    assert len({r[1] for r in faces_table(lib)}) == 6


def test_an_abandoned_scan_loses_nothing_it_stored(tmp_path, lib, detector):
    """A generator dropped mid-way (as when the process dies): stored photos stay, once."""
    make_album(tmp_path / "album", n_faces=6, broken=False)
    gen = scan(
        lib, tmp_path / "album", detector, FakeEmbedder(), options=ScanOptions(batch_photos=2)
    )
    for p in gen:
        if p.done == 5:
            break
    gen.close()
    stored = lib.counts()["photos"]
    assert 1 <= stored <= 5
    run(lib, tmp_path / "album", detector, FakeEmbedder())
    assert lib.counts()["photos"] == 7 and lib.counts()["faces"] == 6


def test_scan_without_a_model_stores_faces_and_embeds_later(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=3, broken=False)
    run(lib, tmp_path / "album", detector, None)
    assert lib.counts()["faces"] == 3
    emb = FakeEmbedder()
    done = drain(reembed(lib, emb))
    assert done.embedded == done.total == 3 and not done.cancelled
    assert lib.faces_to_embed(emb.info.comparable_ids) == []
    r = update(lib, emb.info, PARAMS)
    assert r.people == 1 and lib.people()[0].face_count == 3


def test_an_incompatible_model_re_embeds_from_stored_crops(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=3, broken=False)
    run(lib, tmp_path / "album", detector, FakeEmbedder("v1"))
    v2 = FakeEmbedder("v2")
    assert len(lib.faces_to_embed(["v2"])) == 3
    assert lib.faces_to_embed(["v2", "v1"]) == []
    drain(reembed(lib, v2))
    assert {f.model_id for f in lib.unsorted_faces()} == {"v2"}


def test_re_embedding_stops_when_cancelled_and_goes_on_later(tmp_path, lib, detector):
    import threading

    make_album(tmp_path / "album", n_faces=4, broken=False)
    run(lib, tmp_path / "album", detector, FakeEmbedder("v1"))
    cancel = threading.Event()
    steps = []

    def press_cancel(p):
        steps.append(p)
        cancel.set()  # the user presses Cancel after the first batch

    stopped = drain(reembed(lib, FakeEmbedder("v2"), cancel, batch=2), press_cancel)
    assert stopped.cancelled and stopped.embedded == 2 and steps[-1].done == 2
    assert len(lib.faces_to_embed(["v2"])) == 2  # the rest waits, nothing is lost
    assert drain(reembed(lib, FakeEmbedder("v2"))).total == 2
    assert lib.faces_to_embed(["v2"]) == []


def test_two_faces_in_one_photo_never_share_a_person(tmp_path, lib, detector):
    root = tmp_path / "album"
    for i in range(3):
        save_jpeg(two_faces_photo(), root / f"pair_{i}.jpg", quality=90 - i)
    run(lib, root, detector, FakeEmbedder())
    assert lib.counts()["faces"] == 6
    update(lib, FakeEmbedder().info, ClusterParams(threshold=3.9, min_size=1))
    ci = lib.cluster_input(["fake-v1"])
    assert pairs_in_same_photo(ci.person_ids, ci.photo_ids.tolist()) == 0
    recluster(lib, FakeEmbedder().info, ClusterParams(threshold=3.9, min_size=1))
    ci = lib.cluster_input(["fake-v1"])
    assert pairs_in_same_photo(ci.person_ids, ci.photo_ids.tolist()) == 0


def test_user_edits_survive_recluster(tmp_path, lib, detector):
    make_album(tmp_path / "album", n_faces=5, broken=False)
    emb = FakeEmbedder()
    run(lib, tmp_path / "album", detector, emb)
    update(lib, emb.info, PARAMS)
    (person,) = lib.people()
    faces = lib.faces_of_person(person.id)
    lib.edits.rename(person.id, "Eileen")
    lib.edits.reject([faces[0].id], person.id)
    other = lib.edits.move_faces([faces[1].id], None)
    for threshold in (0.5, 1.0, 3.5):
        recluster(lib, emb.info, ClusterParams(threshold=threshold, min_size=1))
        assert lib.person(person.id).name == "Eileen"
        assert lib.face(faces[0].id).person_id != person.id
        assert lib.face(faces[1].id).person_id == other
        assert {f.id for f in lib.faces_of_person(person.id)} >= {f.id for f in faces[2:]}


def test_scanning_a_missing_folder_is_a_clear_error(tmp_path, lib, detector):
    with pytest.raises(PhotofaceError, match="not a folder"):
        run(lib, tmp_path / "nope", detector)


def test_listing_skips_hidden_folders_and_other_files(tmp_path):
    make_album(tmp_path / "a", n_faces=1, broken=False)
    (tmp_path / "a/.thumbnails").mkdir()
    save_jpeg(np.zeros((10, 10, 3), np.uint8), tmp_path / "a/.thumbnails/t.jpg")
    (tmp_path / "a/readme.txt").write_text("hi")
    (tmp_path / "a/loop").symlink_to(tmp_path / "a")  # a folder link loop is not followed
    names = [p.name for p in list_photos(tmp_path / "a")]
    assert sorted(names) == ["face_0.jpg", "sky.jpg"]


def test_the_readme_states_the_batches_the_scan_uses():
    import inspect
    from pathlib import Path

    from photoface.core.embed import OnnxEmbedder

    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = " ".join(readme.read_text(encoding="utf-8").split())
    o = ScanOptions()
    held = f"the faces of up to {o.batch_photos} photos, or {o.batch_faces} faces, at once"
    assert held in text
    call = inspect.signature(OnnxEmbedder).parameters["batch_size"].default
    assert f"the scan's model calls hold up to {call}" in text
