"""A face the user drew around: landmarks from the detector run on the region around the box,
else a default layout inside the box; then aligned exactly as a detected face."""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image

from photoface.core.detect import Detection, Detector
from photoface.core.imaging import LoadedImage
from photoface.core.pipeline import FoundFace, align_faces
from photoface.errors import PhotofaceError

log = logging.getLogger(__name__)

GROW = 2.0  # the detector looks at the box grown this much about its centre (context helps it)
DETECT_SIDE = 320  # ...resized to this long side, so a small face is big enough to be found
MIN_SIDE = 8.0  # a smaller box (original pixels) is a slip of the mouse, not a face
# Where a face's points usually sit in a box drawn from brow to chin, as fractions of it:
# image-left eye, image-right eye, nose tip, image-left and image-right mouth corner.
DEFAULT_LAYOUT = np.array(
    [[0.32, 0.40], [0.68, 0.40], [0.50, 0.60], [0.38, 0.78], [0.62, 0.78]], np.float32
)
DEFAULT_SCORE = 0.5  # a drawn face the detector did not confirm: the user says it is one


class BoxError(PhotofaceError):
    """A drawn box that cannot be a face (outside the photo, too small)."""


def clip_box(
    box: tuple[float, float, float, float], size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """`box` (x, y, w, h) cut to an image of `size` (w, h); BoxError if too little is left."""
    x, y, w, h = (float(v) for v in box)
    if w < 0:
        x, w = x + w, -w
    if h < 0:
        y, h = y + h, -h
    x0, y0 = max(0.0, x), max(0.0, y)
    x1, y1 = min(float(size[0]), x + w), min(float(size[1]), y + h)
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        raise BoxError(
            f"the box {x:.0f},{y:.0f} {w:.0f}x{h:.0f} is too small or outside the photo "
            f"({size[0]}x{size[1]} pixels)"
        )
    return x0, y0, x1 - x0, y1 - y0


def default_landmarks(box: tuple[float, float, float, float]) -> np.ndarray:
    """The five points of DEFAULT_LAYOUT placed in `box`."""
    x, y, w, h = box
    return (DEFAULT_LAYOUT * np.array([w, h], np.float32) + np.array([x, y], np.float32)).astype(
        np.float32
    )


def detect_in_box(
    rgb: np.ndarray, box: tuple[float, float, float, float], detector: Detector
) -> Detection | None:
    """The detector's face for `box` (pixels of `rgb`): run on the box grown GROW times
    (clipped to the image) and resized to DETECT_SIDE; the detection whose centre is in the
    box and that overlaps it most, in `rgb`'s pixels; None when there is none."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    gw, gh = w * GROW, h * GROW
    height, width = rgb.shape[:2]
    x0, y0 = max(0, int(cx - gw / 2)), max(0, int(cy - gh / 2))
    x1, y1 = min(width, int(np.ceil(cx + gw / 2))), min(height, int(np.ceil(cy + gh / 2)))
    region = rgb[y0:y1, x0:x1]
    k = DETECT_SIDE / max(region.shape[:2])
    size = (max(1, round(region.shape[1] * k)), max(1, round(region.shape[0] * k)))
    resized = np.asarray(Image.fromarray(region).resize(size, Image.Resampling.BILINEAR))
    best, best_iou = None, 0.0
    for det in detector.detect(resized):
        found = det.scaled(1 / k)
        fx, fy, fw, fh = found.box
        fx, fy = fx + x0, fy + y0
        if not (x <= fx + fw / 2 <= x + w and y <= fy + fh / 2 <= y + h):
            continue
        iou = _iou((fx, fy, fw, fh), box)
        if iou > best_iou:
            shifted = found.landmarks + np.array([x0, y0], np.float32)
            best, best_iou = Detection((fx, fy, fw, fh), shifted, found.score), iou
    return best


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1e-9)


def drawn_face(
    loaded: LoadedImage, box: tuple[float, float, float, float], detector: Detector
) -> tuple[FoundFace, bool]:
    """The face in `box` (original pixels, upright) of a decoded photo, aligned and cropped as
    the scan does, and whether the detector gave its landmarks (False: the default layout).
    Its box is the one drawn, clipped to the photo."""
    box = clip_box(box, loaded.original_size)
    small = tuple(v / loaded.scale for v in box)
    assert len(small) == 4
    det = detect_in_box(loaded.rgb, small, detector)
    found = det is not None
    if det is None:
        det = Detection(small, default_landmarks(small), DEFAULT_SCORE)
    else:  # the user's box is what is shown; the detector gives the points
        det = Detection(small, det.landmarks, det.score)
    (face,) = align_faces(loaded, [det])
    log.info("drawn face %s: landmarks %s", box, "detected" if found else "by default layout")
    return face, found
