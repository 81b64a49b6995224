"""Alignment: the similarity fit and the crop put the landmarks on the template."""

from __future__ import annotations

import numpy as np
import pytest

from photoface.core import align


def test_similarity_transform_recovers_a_known_one():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -4.0])
    r = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    dst = scale * src @ r.T + shift
    m = align.similarity_transform(src, dst)
    np.testing.assert_allclose(m[:, :2], scale * r, atol=1e-9)
    np.testing.assert_allclose(m[:, 2], shift, atol=1e-9)


def test_similarity_transform_never_reflects():
    src = np.array([[0, 0], [10, 0], [0, 10]], float)
    mirrored = src * [-1, 1]
    m = align.similarity_transform(src, mirrored)
    assert np.linalg.det(m[:, :2]) > 0


def dots_image(points: np.ndarray, size=(400, 500)) -> np.ndarray:
    img = np.zeros((*size, 3), np.uint8)
    for i, (x, y) in enumerate(points):
        img[int(y) - 3 : int(y) + 4, int(x) - 3 : int(x) + 4, i % 3] = 255
    return img


@pytest.mark.parametrize("scale, angle", [(1.0, 0.0), (3.0, 0.25), (0.6, -0.4)])
def test_aligned_crop_puts_the_landmarks_on_the_template(scale, angle):
    # Landmarks of a face: the template itself, rotated, scaled and moved into a photo.
    r = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    tpl5 = np.vstack([align.TEMPLATE[:3], align.TEMPLATE[3] - [8, 0], align.TEMPLATE[3] + [8, 0]])
    pts = (tpl5 - 48) * scale @ r.T + [250, 200]
    img = dots_image(pts[:4])  # eyes, nose, one mouth corner (colour channel = index % 3)
    crop = align.align_face(img, pts)
    assert crop.shape == (96, 96, 3)
    for i, (tx, ty) in enumerate(tpl5[:4]):
        ys, xs = np.nonzero(crop[..., i % 3] > 60)
        near = (abs(xs - tx) < 8) & (abs(ys - ty) < 8)
        assert near.any(), f"landmark {i} did not land at the template"
        assert abs(xs[near].mean() - tx) < 2.5 and abs(ys[near].mean() - ty) < 2.5


def test_the_stored_crop_holds_the_model_crop_at_its_centre():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (300, 300, 3), np.uint8)
    lm = np.array([[120, 130], [170, 128], [146, 160], [125, 185], [168, 184]], np.float32)
    stored = align.stored_crop(img, lm)
    assert stored.shape == (align.STORED_SIZE, align.STORED_SIZE, 3)
    model = align.align_face(img, lm)
    centre = align.model_crop_from_stored(stored).astype(int)
    # Same transform, same sampling: the two agree up to bilinear edge effects.
    assert np.abs(centre - model).mean() < 1.0


def test_a_face_off_the_edge_gives_black_padding_not_an_error():
    img = np.full((100, 100, 3), 200, np.uint8)
    lm = np.array([[-40, 10], [-10, 10], [-25, 30], [-35, 45], [-15, 45]], np.float32)
    crop = align.align_face(img, lm)
    assert crop.shape == (96, 96, 3)


def test_jpeg_round_trip_keeps_the_crop_close():
    img = np.random.default_rng(2).integers(0, 255, (144, 144, 3), np.uint8)
    smooth = (img // 32 * 32).astype(np.uint8)
    back = align.decode_jpeg(align.encode_jpeg(smooth, quality=95))
    assert back.shape == smooth.shape
