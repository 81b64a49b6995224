"""Open photo files as RGB arrays: EXIF orientation, reduced-size JPEG decode, RAW previews,
hard limits."""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image, UnidentifiedImageError, features

from photoface import fileio
from photoface.core import raw
from photoface.errors import ImageError

log = logging.getLogger(__name__)

try:  # HEIC/HEIF from phones; optional, the rest works without it
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIF_EXTENSIONS = {".heic", ".heif"}
except ImportError:  # pragma: no cover - depends on the platform's wheels
    HEIF_EXTENSIONS = set()

# JPEG XL; optional like HEIF (a Rust wheel). libjxl turns the pixels by the codestream's
# orientation and its writers then reset the Exif one to 1, so the EXIF orientation we apply is
# left only by writers that set nothing else (this plugin's own).
try:
    import pillow_jxl  # noqa: F401  (registers the JXL format with Pillow)

    JXL_EXTENSIONS = {".jxl"}
except ImportError:  # pragma: no cover - depends on the platform's wheels
    JXL_EXTENSIONS = set()

# Pillow's wheels (11.3 on) read AVIF themselves.
AVIF_EXTENSIONS = {".avif"} if features.check("avif") else set()

PILLOW_EXTENSIONS = {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif"}
IMAGE_EXTENSIONS = PILLOW_EXTENSIONS | HEIF_EXTENSIONS
IMAGE_EXTENSIONS |= AVIF_EXTENSIONS | JXL_EXTENSIONS | raw.RAW_EXTENSIONS

# Past this many pixels a file is refused as a likely decompression bomb (a 20,000 x 12,500
# panorama still passes). Pillow's own check is set to the same figure.
MAX_PIXELS = 250_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS // 2  # Pillow raises past 2x this, warns between

# The long side photos are decoded to for detection: keeps ~30 px faces of a 12 MP original.
DEFAULT_MAX_SIDE = 1600


@dataclass(frozen=True)
class LoadedImage:
    """A decoded photo. `rgb` may be reduced; `scale` maps its pixels to the original's."""

    rgb: np.ndarray  # H x W x 3, uint8
    scale: float  # original pixels per array pixel (>= 1)
    original_size: tuple[int, int]  # (width, height) after EXIF orientation

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTENSIONS


def is_raw_path(path: Path | str) -> bool:
    """A camera RAW file, by its name: TIFF-based RAWs would otherwise open as their thumbnail."""
    return Path(path).suffix.lower() in raw.RAW_EXTENSIONS


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB: alpha over white, 16-bit scaled down, CMYK converted."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im).astype(np.float64)
        if im.mode.startswith("I;16") or a.max(initial=0) > 255:
            a = a / 257.0
        g = np.clip(a, 0, 255).astype(np.uint8)
        return Image.fromarray(np.dstack([g, g, g]))
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB") if im.mode != "RGB" else im


def read_file(path: Path | str, max_bytes: int = fileio.MAX_READ_BYTES) -> bytes:
    """The file's bytes (hashed and decoded from memory, so each photo is read once). Only a
    regular file is read: a FIFO or a device (even behind a link) is refused without blocking,
    and so is a file over `max_bytes`."""
    try:
        data = fileio.read_regular(path, max_bytes)
    except fileio.UnsafeFileError as e:
        raise ImageError(str(e)) from e
    except PermissionError as e:
        raise ImageError("permission denied") from e
    except FileNotFoundError as e:
        raise ImageError("file not found (a broken link?)") from e
    except IsADirectoryError as e:
        raise ImageError("a folder, not a file") from e
    except OSError as e:
        raise ImageError(f"cannot read file: {e.strerror or e}") from e
    if not data:
        raise ImageError("empty file")
    return data


def content_hash(data: bytes) -> str:
    """Content hash that keys a photo, so moved or renamed files keep their faces."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def load_image(path: Path | str, max_side: int | None = DEFAULT_MAX_SIDE) -> LoadedImage:
    """Decode the file at `path` (see decode_image)."""
    return decode_image(read_file(path), max_side, is_raw=is_raw_path(path))


def decode_image(
    data: bytes, max_side: int | None = DEFAULT_MAX_SIDE, *, is_raw: bool = False
) -> LoadedImage:
    """Decode image bytes to RGB, upright, with the long side at most `max_side` (None: full).
    A camera RAW file (`is_raw`) gives its embedded preview, its `scale` and `original_size`
    still those of the full sensor image, so boxes land on the original's pixels.

    Raises ImageError with a short reason for anything that is not a readable image.
    """
    if not data:
        raise ImageError("empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if is_raw:
                pic = raw.open_raw(data, max_side, MAX_PIXELS)
                return _finish(pic.image, pic.orientation, pic.original_size, max_side)
            with Image.open(io.BytesIO(data)) as im:
                return _decode(im, max_side)
    except ImageError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageError(f"too many pixels, refused as a possible decompression bomb ({e})") from e
    except UnidentifiedImageError as e:
        raise ImageError("not an image file Pillow can read") from e
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, struct.error) as e:
        raise ImageError(f"cannot decode image: {e}") from e


def _decode(im: Image.Image, max_side: int | None) -> LoadedImage:
    w, h = im.size
    if w <= 0 or h <= 0:
        raise ImageError("image has no pixels")
    if w * h > MAX_PIXELS:
        raise ImageError(f"{w}x{h} is too many pixels (limit {MAX_PIXELS:,})")
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)  # animated GIF/WebP/TIFF: the first frame
    orientation = im.getexif().get(0x0112, 1)
    swapped = orientation in (5, 6, 7, 8)
    original = (h, w) if swapped else (w, h)
    if max_side and im.format == "JPEG" and max(w, h) > max_side:
        s = max_side / max(w, h)
        im.draft("RGB", (max(1, int(w * s)), max(1, int(h * s))))  # DCT-domain downscale
    im.load()
    return _finish(im, orientation, original, max_side)


def _finish(
    im: Image.Image, orientation: int, original: tuple[int, int], max_side: int | None
) -> LoadedImage:
    """A loaded image made RGB, upright and at most `max_side`, scaled against `original`."""
    rgb = _apply_orientation(_to_rgb(im), orientation)
    arr = np.asarray(rgb, dtype=np.uint8)
    if max_side and max(rgb.size) > max_side:
        s = max_side / max(rgb.size)
        target = (max(1, round(rgb.width * s)), max(1, round(rgb.height * s)))
        arr = shrink(arr, target)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageError(f"unexpected pixel layout {arr.shape}")
    return LoadedImage(rgb=arr, scale=original[0] / arr.shape[1], original_size=original)


@functools.cache
def _opencv() -> ModuleType | None:
    """OpenCV, imported on first use (it takes a while to load); None where it is missing."""
    try:
        import cv2
    except ImportError:  # pragma: no cover - OpenCV comes with mediapipe, a dependency
        return None
    cv2.setNumThreads(1)  # the scan's parallelism is its worker processes, not OpenCV's
    return cv2


def shrink(arr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An RGB array shrunk to `size` (width, height). OpenCV's SIMD resize is ~3x faster than
    Pillow's here; after a JPEG draft the factor is under 2, where bilinear keeps the detector's
    recall (bench.scan compares both); past 2x, area averaging avoids aliasing."""
    cv2 = _opencv()
    if cv2 is None:  # pragma: no cover - OpenCV comes with mediapipe
        im = Image.fromarray(arr).resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        return np.asarray(im, dtype=np.uint8)
    factor = arr.shape[1] / size[0]
    interpolation = cv2.INTER_LINEAR if factor < 2 else cv2.INTER_AREA
    return cv2.resize(np.ascontiguousarray(arr), size, interpolation=interpolation)


_TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def _apply_orientation(im: Image.Image, orientation: int) -> Image.Image:
    for op in _TRANSPOSE.get(orientation, []):
        im = im.transpose(op)
    return im
