"""Camera RAW files through LibRaw (rawpy): the embedded preview, or a half-size demosaic."""

from __future__ import annotations

import io
import logging
import struct
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from photoface.errors import ImageError

log = logging.getLogger(__name__)

# LibRaw's wheels cover the desktop platforms; without them RAW files are not listed. Its build
# uses OpenMP, which is not fork-safe: worker processes that decode RAW files should be started
# with "spawn" or "forkserver" (rawpy warns in a forked child).
try:
    import rawpy

    RAW_EXTENSIONS = set(".cr2 .cr3 .nef .nrw .arw .dng .orf .rw2 .raf .pef .srw".split())
except ImportError:  # pragma: no cover - depends on the platform's wheels
    rawpy = None
    RAW_EXTENSIONS = set()

# LibRaw's `sizes.flip` -> the EXIF orientation that shows the stored pixels upright (LibRaw
# reads EXIF orientation o as flip "50132467"[o & 7]; this is its inverse).
FLIP_TO_ORIENTATION = {0: 1, 1: 2, 3: 3, 2: 4, 4: 5, 6: 6, 7: 7, 5: 8}

# A preview whose upright aspect differs more than this from the sensor image's is cropped or
# padded differently: a single scale would put the boxes in the wrong place.
ASPECT_TOLERANCE = 0.02


@dataclass(frozen=True)
class RawPicture:
    """What a RAW file shows, as stored: `orientation` still to apply to `image`."""

    image: Image.Image  # the preview or the demosaiced sensor image, loaded
    orientation: int  # EXIF orientation that makes `image` upright
    original_size: tuple[int, int]  # (width, height) of the full developed image, upright
    source: str  # "preview" | "demosaic"


def open_raw(data: bytes, max_side: int | None, max_pixels: int) -> RawPicture:
    """The picture of a RAW file: its embedded preview when that is large enough to find faces
    at `max_side` and frames the same scene, else LibRaw's half-size demosaic.

    Raises ImageError for a file LibRaw cannot read."""
    if rawpy is None:  # pragma: no cover - listed only when rawpy imports
        raise ImageError("RAW files need rawpy, which is not installed")
    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            w, h = raw.sizes.width, raw.sizes.height
            if w <= 0 or h <= 0:
                raise ImageError("RAW file has no pixels")
            if w * h > max_pixels:
                raise ImageError(f"{w}x{h} is too many pixels (limit {max_pixels:,})")
            orientation = FLIP_TO_ORIENTATION.get(raw.sizes.flip, 1)
            original = (h, w) if orientation >= 5 else (w, h)
            preview = _preview(raw, orientation, original, max_side)
            if preview is not None:
                return RawPicture(preview[0], preview[1], original, "preview")
            # No usable preview: LibRaw reads all the sensor data and turns each 2x2 Bayer cell
            # into one pixel (no interpolation). Several times a preview's decode (see README's
            # format table), and a quarter of the pixels, which is still more than detection uses.
            rgb = raw.postprocess(half_size=True, use_camera_wb=True, output_bps=8, user_flip=0)
            return RawPicture(Image.fromarray(rgb), orientation, original, "demosaic")
    except rawpy.LibRawFileUnsupportedError as e:
        raise ImageError("not a RAW file LibRaw can read") from e
    except rawpy.LibRawError as e:
        raise ImageError(f"cannot decode RAW file: {_reason(e)}") from e


def _preview(
    raw: rawpy.RawPy, orientation: int, original: tuple[int, int], max_side: int | None
) -> tuple[Image.Image, int] | None:
    """The embedded preview, loaded, and its orientation; None when there is none we can use."""
    try:
        thumb = raw.extract_thumb()
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None
    except rawpy.LibRawError as e:
        log.debug("RAW preview unreadable (%s), demosaicing instead", _reason(e))
        return None
    try:
        if thumb.format == rawpy.ThumbFormat.JPEG:
            im = Image.open(io.BytesIO(thumb.data))
            # LibRaw writes the RAW's orientation into a preview that has no EXIF of its own;
            # a camera's own preview EXIF (Fujifilm) describes that JPEG.
            preview_orientation = im.getexif().get(0x0112, orientation)
        elif thumb.format == rawpy.ThumbFormat.BITMAP:
            im = Image.fromarray(np.ascontiguousarray(thumb.data))
            preview_orientation = orientation
        else:  # pragma: no cover - rawpy has no other formats today
            return None
        pw, ph = im.size
        upright = (ph, pw) if preview_orientation in (5, 6, 7, 8) else (pw, ph)
        if not _usable(upright, original, max_side):
            log.debug("RAW preview %s unusable for %s, demosaicing instead", upright, original)
            return None
        if im.format == "JPEG" and max_side and max(pw, ph) > max_side:
            s = max_side / max(pw, ph)
            im.draft("RGB", (max(1, int(pw * s)), max(1, int(ph * s))))  # DCT-domain downscale
        im.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error) as e:
        log.debug("RAW preview undecodable (%s), demosaicing instead", e)
        return None
    return im, preview_orientation


def _usable(upright: tuple[int, int], original: tuple[int, int], max_side: int | None) -> bool:
    """A preview frames the sensor image when the aspects agree, and serves detection when it
    has at least half the pixels per side that the decode would keep (a 160 px thumbnail
    of a 24 MP file does not)."""
    (pw, ph), (ow, oh) = upright, original
    if min(pw, ph, ow, oh) <= 0:
        return False
    if abs((pw / ph) / (ow / oh) - 1) > ASPECT_TOLERANCE:
        return False
    wanted = min(max_side or max(ow, oh), max(ow, oh))
    return max(pw, ph) * 2 >= wanted


def _reason(e: Exception) -> str:
    """LibRaw's messages come as bytes."""
    arg = e.args[0] if e.args else type(e).__name__
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
