"""Detection: YuNet (default) and BlazeFace find the face, with landmarks in original pixels."""

from __future__ import annotations

import numpy as np
import pytest

from photoface import models_install
from photoface.core import detect, imaging
from photoface.errors import ModelMissingError, PhotofaceError
from tests.conftest import REAL_USER_MODELS, in_ci
from tests.fakes import astronaut

# The astronaut's face in scikit-image's 512 x 512 photo, measured by eye: eyes near
# (182, 112) and (225, 98) in image x, y.
FACE_CENTRE = (205, 125)


@pytest.fixture(scope="module")
def yunet() -> detect.YuNetDetector:
    return detect.make_detector("yunet")


def check_astronaut(d: detect.Detection, scale: float = 1.0) -> None:
    x, y, w, h = d.box
    cx, cy = x + w / 2, y + h / 2
    assert abs(cx - FACE_CENTRE[0] * scale) < 30 * scale
    assert abs(cy - FACE_CENTRE[1] * scale) < 40 * scale
    lm = d.landmarks
    assert lm.shape == (5, 2)
    assert lm[0, 0] < lm[1, 0], "the image-left eye comes first"
    assert lm[2, 1] > lm[:2, 1].min() and lm[3:, 1].min() > lm[2, 1] - 5, "nose below eyes"
    assert (lm[:, 0] > x - 5).all() and (lm[:, 0] < x + w + 5).all()


def test_yunet_finds_the_astronaut(yunet):
    found = yunet.detect(astronaut())
    assert len(found) == 1
    assert found[0].score > 0.8
    check_astronaut(found[0])


def test_yunet_finds_nothing_in_a_blank_image(yunet):
    assert yunet.detect(np.full((300, 400, 3), 128, np.uint8)) == []


def test_odd_sizes_are_padded_not_refused(yunet):
    img = astronaut()[:333, :417]
    assert len(yunet.detect(img)) == 1


def test_scaled_detections_are_in_original_pixels(yunet, tmp_path):
    from tests.photos import save_jpeg

    big = np.kron(astronaut(), np.ones((4, 4, 1), np.uint8))  # 2048 px
    path = save_jpeg(big, tmp_path / "big.jpg")
    loaded = imaging.load_image(path, max_side=1024)
    found = [d.scaled(loaded.scale) for d in yunet.detect(loaded.rgb)]
    assert len(found) == 1
    check_astronaut(found[0], scale=4.0)


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10]], float)
    keep = detect.nms(boxes, np.array([0.5, 0.9, 0.7]), iou=0.3)
    assert keep == [1, 2]


def test_unknown_detector_and_missing_model_are_clear(tmp_path):
    with pytest.raises(PhotofaceError, match="unknown detector"):
        detect.make_detector("haar")
    with pytest.raises(ModelMissingError, match="setup-blazeface"):
        detect.BlazeFaceDetector(tmp_path / "none.tflite")


def blazeface_path():
    path = models_install.installed_path(REAL_USER_MODELS)
    if not path.is_file():
        if in_ci():
            pytest.fail("CI must install the BlazeFace model (photoface setup-blazeface)")
        pytest.skip("BlazeFace model not installed (photoface setup-blazeface)")
    return path


def test_blazeface_finds_the_astronaut():
    det = detect.BlazeFaceDetector(blazeface_path())
    found = det.detect(astronaut())
    det.close()
    assert len(found) == 1
    check_astronaut(found[0])


def test_blazeface_model_is_checked_by_sha256(tmp_path):
    import zipfile

    fake = tmp_path / "mediapipe-0.10.21-fake.whl"
    with zipfile.ZipFile(fake, "w") as zf:
        zf.writestr(models_install.MEMBER, b"not the model")
    with pytest.raises(PhotofaceError, match="sha256"):
        models_install.extract_from_wheel(fake, tmp_path / "models")
    assert not (tmp_path / "models" / models_install.FILENAME).exists()
