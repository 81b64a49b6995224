"""Face alignment: one similarity transform onto one template, shared by the app and training/."""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image

from photoface.core.model_contract import CROP_SIZE

log = logging.getLogger(__name__)

# Where the landmarks land in the 96 x 96 model crop, in pixels: the image-left eye, the
# image-right eye, the nose tip and the mouth centre. A tight crop as in FaceNet: brows to chin.
TEMPLATE = np.array(
    [[32.0, 38.0], [64.0, 38.0], [48.0, 57.0], [48.0, 74.0]],
    dtype=np.float64,
)
# The crop kept in the library is the same transform on a larger canvas: it shows the whole head
# for the UI, and its centre CROP_SIZE square is exactly the model's input, so a model upgrade
# re-embeds from it without re-detecting.
STORED_PAD = 24
STORED_SIZE = CROP_SIZE + 2 * STORED_PAD


def template_points(landmarks5: np.ndarray) -> np.ndarray:
    """Five detector points (eyes, nose, mouth corners) to the template's four (mouth centre)."""
    lm = np.asarray(landmarks5, dtype=np.float64).reshape(5, 2)
    return np.vstack([lm[0], lm[1], lm[2], (lm[3] + lm[4]) / 2.0])


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) taking src onto dst, as 2x3.

    Umeyama's closed form, without reflection.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s0, d0 = src - mu_s, dst - mu_d
    var_s = (s0**2).sum() / len(src)
    cov = d0.T @ s0 / len(src)
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1.0
    r = u @ np.diag(d) @ vt
    scale = (sig * d).sum() / var_s if var_s > 0 else 1.0
    t = mu_d - scale * r @ mu_s
    return np.hstack([scale * r, t[:, None]])


def _warp(rgb: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """Apply the 2x3 forward transform `m` (image -> crop), sampling a size x size crop."""
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    inv = np.linalg.inv(np.vstack([m, [0.0, 0.0, 1.0]]))
    # Only the part of the photo the crop covers is touched, so big photos cost little.
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], float)
    pts = corners @ inv[:2].T
    h, w = rgb.shape[:2]
    x0 = int(np.clip(np.floor(pts[:, 0].min()) - 2, 0, w))
    y0 = int(np.clip(np.floor(pts[:, 1].min()) - 2, 0, h))
    x1 = int(np.clip(np.ceil(pts[:, 0].max()) + 2, 0, w))
    y1 = int(np.clip(np.ceil(pts[:, 1].max()) + 2, 0, h))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((size, size, 3), np.uint8)
    patch = Image.fromarray(np.ascontiguousarray(rgb[y0:y1, x0:x1]))
    shift = np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], float)
    # A strong downscale aliases under bilinear sampling: box-reduce first.
    factor = int(1.0 / (scale * 1.5)) if scale > 0 else 1
    if factor >= 2:
        patch = patch.reduce(factor)
        shift = shift @ np.diag([factor, factor, 1.0])
    local = np.linalg.inv(shift) @ inv  # crop pixel -> patch pixel
    coeffs = tuple(local[:2].ravel())
    out = patch.transform((size, size), Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.uint8)


def align_face(rgb: np.ndarray, landmarks5: np.ndarray, pad: int = 0) -> np.ndarray:
    """The CROP_SIZE model crop for one face (pad > 0: the same crop on a larger canvas)."""
    dst = TEMPLATE + pad
    m = similarity_transform(template_points(landmarks5), dst)
    return _warp(rgb, m, CROP_SIZE + 2 * pad)


def stored_crop(rgb: np.ndarray, landmarks5: np.ndarray) -> np.ndarray:
    """The STORED_SIZE crop kept in the library (its centre is the model crop)."""
    return align_face(rgb, landmarks5, pad=STORED_PAD)


def model_crop_from_stored(stored: np.ndarray) -> np.ndarray:
    return stored[STORED_PAD : STORED_PAD + CROP_SIZE, STORED_PAD : STORED_PAD + CROP_SIZE]


def encode_jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def decode_jpeg(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)
