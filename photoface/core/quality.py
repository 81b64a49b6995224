"""A per-face quality score in [0, 1] from size, sharpness, pose and the detector's score."""

from __future__ import annotations

import numpy as np

# Faces narrower than this (in original pixels) carry little identity; full marks from FULL_SIZE.
MIN_SIZE, FULL_SIZE = 12.0, 64.0
# Variance of the Laplacian of the 96 px grey crop: below ~20 is a blur, above ~200 is sharp.
BLUR_LOW, BLUR_HIGH = 20.0, 200.0


def sharpness(crop: np.ndarray) -> float:
    """Variance of a 4-neighbour Laplacian of the grey crop."""
    g = crop.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4.0 * g[1:-1, 1:-1]
    return float(lap.var())


def frontalness(landmarks5: np.ndarray) -> float:
    """1 for a frontal face, towards 0 as the nose moves off the eyes' midline (profile)."""
    lm = np.asarray(landmarks5, np.float64).reshape(5, 2)
    eye_mid = (lm[0] + lm[1]) / 2.0
    iod = float(np.linalg.norm(lm[1] - lm[0]))
    if iod < 1e-6:
        return 0.0
    along = float(np.dot(lm[2] - eye_mid, lm[1] - lm[0])) / iod  # nose shift along the eye line
    return float(np.clip(1.0 - abs(along) / (0.6 * iod), 0.0, 1.0))


def _ramp(v: float, lo: float, hi: float) -> float:
    return float(np.clip((v - lo) / (hi - lo), 0.0, 1.0))


def face_quality(
    box: tuple[float, float, float, float], landmarks5: np.ndarray, score: float, crop: np.ndarray
) -> float:
    """Geometric mean-ish blend: any one bad factor (tiny, blurred, profile) pulls it down."""
    size = _ramp(min(box[2], box[3]), MIN_SIZE, FULL_SIZE)
    sharp = _ramp(sharpness(crop), BLUR_LOW, BLUR_HIGH)
    pose = frontalness(landmarks5)
    conf = float(np.clip(score, 0.0, 1.0))
    parts = np.array([size, sharp, pose, conf]) * 0.9 + 0.1  # no factor alone zeroes a face
    return float(np.prod(parts) ** (1.0 / len(parts)))
