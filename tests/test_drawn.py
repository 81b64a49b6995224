"""Faces drawn by the user: the landmarks (detector on the region, else a default layout),
the stored face (manual, embedded as scanned faces are, in the nearest person), one undoable
edit, and rescans that keep it."""

from __future__ import annotations

import numpy as np
import pytest

from photoface.core import imaging
from photoface.core.cluster import ClusterParams
from photoface.core.drawn import BoxError, clip_box, default_landmarks, drawn_face
from photoface.errors import NotFoundError
from photoface.jobs import drain, scan_folder
from photoface.jobs.drawn import add_drawn_face
from photoface.library import Library
from tests.fakes import FakeEmbedder
from tests.photos import make_album, save_jpeg, small_face_box, small_face_photo


def test_a_face_the_scan_missed_gets_the_detectors_landmarks_from_the_drawn_box(detector):
    rgb = small_face_photo()
    assert detector.detect(rgb) == []  # the scan misses it
    loaded = imaging.LoadedImage(rgb, 1.0, (1600, 1200))
    box = small_face_box(detector)
    face, detected = drawn_face(loaded, box, detector)
    assert detected
    assert face.box == pytest.approx(box)  # the box shown is the one drawn
    x, y, w, h = box
    lm = face.landmarks
    assert (lm[:, 0] > x).all() and (lm[:, 0] < x + w).all()
    assert (lm[:, 1] > y).all() and (lm[:, 1] < y + h).all()
    assert not np.allclose(lm, default_landmarks(box), atol=0.5)
    assert lm[0, 0] < lm[1, 0] and lm[0, 1] < lm[3, 1]  # eyes left to right, above the mouth
    assert face.model_crop.shape == (96, 96, 3) and face.crop_jpeg[:2] == b"\xff\xd8"


def test_a_box_with_no_face_the_detector_sees_gets_the_default_layout(detector):
    rgb = np.full((600, 800, 3), 120, np.uint8)
    loaded = imaging.LoadedImage(rgb[::2, ::2].copy(), 2.0, (800, 600))  # decoded at half size
    box = (100.0, 80.0, 120.0, 150.0)
    face, detected = drawn_face(loaded, box, detector)
    assert not detected
    assert face.box == pytest.approx(box)
    np.testing.assert_allclose(face.landmarks, default_landmarks(box), atol=1e-3)


def test_a_box_outside_the_photo_or_too_small_is_refused():
    assert clip_box((-10, -10, 50, 60), (100, 100)) == (0, 0, 40, 50)
    assert clip_box((50, 50, -20, -30), (100, 100)) == (30, 20, 20, 30)  # dragged up-left
    for box in ((200, 10, 30, 30), (10, 10, 3, 40)):
        with pytest.raises(BoxError, match="too small or outside"):
            clip_box(box, (100, 100))


@pytest.fixture
def scanned(tmp_path, detector):
    """Four astronaut photos grouped into one person, and small.jpg whose face the scan missed."""
    make_album(tmp_path / "album", n_faces=4, broken=False)
    save_jpeg(small_face_photo(), tmp_path / "album/small.jpg", quality=95)
    lib = Library(tmp_path / "lib.sqlite3")
    job = scan_folder(lib, tmp_path / "album", detector, FakeEmbedder(), ClusterParams(0.9, 2))
    drain(job)
    yield lib, tmp_path / "album"
    lib.close()


def small_photo_id(lib: Library, album) -> int:
    photo = lib.photo_by_path(str(album / "small.jpg"))
    assert photo is not None and lib.faces_of_photo(photo.id) == []
    return photo.id


def test_a_drawn_face_is_stored_embedded_placed_and_undone_as_one_edit(scanned, detector):
    lib, album = scanned
    photo_id = small_photo_id(lib, album)
    before = lib.counts()
    embedder = FakeEmbedder()
    added = add_drawn_face(
        lib, photo_id, small_face_box(detector), detector, embedder, ClusterParams(4.0, 2)
    )
    (face,) = lib.faces_of_photo(photo_id)
    assert face.id == added.face_id and face.manual and added.detected
    assert face.model_id == embedder.info.model_id  # embedded as scanned faces are
    # With a threshold that lets any face join, it goes to the one person there is.
    (person,) = lib.people()
    assert face.person_id == added.person_id == person.id and not face.locked
    assert lib.counts()["faces"] == before["faces"] + 1
    assert lib.edits.next_undo().startswith("Add a face on small.jpg to ")
    lib.edits.undo()
    assert lib.faces_of_photo(photo_id) == [] and lib.counts() == before
    assert lib.person(person.id).face_count == 4
    with pytest.raises(NotFoundError):  # withdrawn: no other edit brings it back
        lib.edits.move_faces([added.face_id], None)
    lib.edits.redo()
    assert [f.id for f in lib.faces_of_photo(photo_id)] == [added.face_id]
    assert lib.person(person.id).face_count == 5


def test_a_drawn_face_far_from_everyone_stays_unsorted(scanned, detector):
    lib, album = scanned
    photo_id = small_photo_id(lib, album)
    added = add_drawn_face(
        lib, photo_id, (10, 10, 200, 200), detector, FakeEmbedder(), ClusterParams(1e-6, 2)
    )
    assert added.person_id is None and not added.detected
    assert [f.id for f in lib.unsorted_faces()] == [added.face_id]


def test_a_face_is_never_placed_in_a_person_already_in_its_photo(scanned, detector):
    lib, album = scanned
    photo = lib.photo_by_path(str(album / "trip/face_0.jpg"))
    (scanned_face,) = lib.faces_of_photo(photo.id)
    added = add_drawn_face(
        lib, photo.id, (300, 300, 100, 100), detector, FakeEmbedder(), ClusterParams(4.0, 2)
    )
    assert scanned_face.person_id is not None and added.person_id is None


def test_a_rescan_keeps_drawn_faces_and_a_changed_file_retires_them(scanned, detector):
    lib, album = scanned
    photo_id = small_photo_id(lib, album)
    added = add_drawn_face(lib, photo_id, small_face_box(detector), detector, None, None)
    drain(scan_folder(lib, album, detector, FakeEmbedder(), ClusterParams(0.9, 2)))
    assert [f.id for f in lib.faces_of_photo(photo_id)] == [added.face_id]
    (album / "small.jpg").touch()  # same content, new mtime: read again, known by its hash
    drain(scan_folder(lib, album, detector, FakeEmbedder(), ClusterParams(0.9, 2)))
    assert [f.id for f in lib.faces_of_photo(photo_id)] == [added.face_id]
    # Edited in place: the new content is scanned afresh, the drawn face stays with the old
    # content (retired, out of people; back if the file is reverted).
    save_jpeg(np.full((300, 400, 3), 30, np.uint8), album / "small.jpg")
    drain(scan_folder(lib, album, detector, FakeEmbedder(), ClusterParams(0.9, 2)))
    assert added.face_id not in {f.id for f in lib.unsorted_faces()}
    assert lib.query("SELECT manual FROM faces WHERE id = ?", (added.face_id,)) == [(1,)]


def test_a_face_cannot_be_drawn_on_a_photo_that_changed_since_its_scan(scanned, detector):
    from photoface.errors import PhotofaceError

    lib, album = scanned
    photo_id = small_photo_id(lib, album)
    save_jpeg(np.full((300, 400, 3), 30, np.uint8), album / "small.jpg")
    with pytest.raises(PhotofaceError, match="has changed since it was scanned"):
        add_drawn_face(lib, photo_id, (10, 10, 50, 50), detector, None, None)
    assert lib.faces_of_photo(photo_id) == [] and lib.edits.next_undo() is None
