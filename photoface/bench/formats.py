"""Decode time per photo format, on files made here by each format's own writer.

    python -m photoface.bench.formats [--size 4000x3000] [--repeat 5] [--max-side 1600]

One photo (scikit-image's astronaut, enlarged) is written as JPEG, AVIF, JPEG XL, WebP, PNG and
as a DNG twice: with an embedded JPEG preview (read through it) and without (LibRaw demosaics it
at half size). Each file is decoded the way a scan does (`imaging.decode_image`, to --max-side)
and the median time is printed. A format whose writer is missing is listed as skipped. The DNG
writers (pidng, tifffile with imagecodecs) are in the `test` extra; tests use them too.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from photoface.core import imaging

# How a camera stores an upright scene for each EXIF orientation (the inverse of the display op).
STORE = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}

# XYZ -> linear sRGB (D65): as a DNG ColorMatrix1, the "camera" sees linear sRGB.
XYZ_TO_SRGB = [[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]]
RAW_BITS = 12


def stored(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """The pixels a camera writes for the upright `rgb` under an EXIF `orientation`."""
    im = Image.fromarray(rgb)
    for op in STORE[orientation]:
        im = im.transpose(op)
    return np.asarray(im)


def encode(rgb: np.ndarray, fmt: str, orientation: int = 1, **kw: object) -> bytes:
    """The upright `rgb` written by Pillow (or its plugin) as `fmt`, stored as a camera would
    under `orientation`, which the file's EXIF records."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    Image.fromarray(stored(rgb, orientation)).save(buf, format=fmt, exif=exif.tobytes(), **kw)
    return buf.getvalue()


def mosaic(rgb: np.ndarray) -> np.ndarray:
    """An RGGB Bayer mosaic of an sRGB image, linear, RAW_BITS deep: what a sensor records."""
    white = (1 << RAW_BITS) - 1
    lin = (rgb.astype(np.float64) / 255.0) ** 2.2 * white
    m = np.empty(rgb.shape[:2], np.uint16)
    m[0::2, 0::2] = lin[0::2, 0::2, 0]
    m[0::2, 1::2] = lin[0::2, 1::2, 1]
    m[1::2, 0::2] = lin[1::2, 0::2, 1]
    m[1::2, 1::2] = lin[1::2, 1::2, 2]
    return m


def dng_pidng(rgb: np.ndarray, orientation: int = 1) -> bytes:
    """A DNG of the upright `rgb` (even sides) written by pidng: sensor data only, no preview."""
    from pidng.core import RAW2DNG
    from pidng.defs import CalibrationIlluminant, CFAPattern, DNGVersion
    from pidng.defs import PhotometricInterpretation as Photometric
    from pidng.dng import DNGTags, Tag

    raw = mosaic(stored(rgb, orientation))
    h, w = raw.shape
    tags = DNGTags()
    values = [
        (Tag.ImageWidth, w),
        (Tag.ImageLength, h),
        (Tag.TileWidth, w),
        (Tag.TileLength, h),
        (Tag.Orientation, orientation),
        (Tag.PhotometricInterpretation, Photometric.Color_Filter_Array),
        (Tag.SamplesPerPixel, 1),
        (Tag.BitsPerSample, RAW_BITS),
        (Tag.CFARepeatPatternDim, [2, 2]),
        (Tag.CFAPattern, CFAPattern.RGGB),
        (Tag.BlackLevel, 0),
        (Tag.WhiteLevel, (1 << RAW_BITS) - 1),
        (Tag.ColorMatrix1, [[round(x * 10000), 10000] for row in XYZ_TO_SRGB for x in row]),
        (Tag.CalibrationIlluminant1, CalibrationIlluminant.D65),
        (Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]]),
        (Tag.Make, "photoface"),
        (Tag.Model, "test sensor"),
        (Tag.DNGVersion, DNGVersion.V1_4),
        (Tag.DNGBackwardVersion, DNGVersion.V1_2),
    ]
    for tag, value in values:
        tags.set(tag, value)
    writer = RAW2DNG()
    writer.options(tags, path="", compress=False)
    return bytes(writer.convert(raw))


def dng_with_preview(rgb: np.ndarray, preview_side: int, orientation: int = 1) -> bytes:
    """A DNG laid out as cameras and Adobe's converter write it, by tifffile: IFD0 a JPEG
    preview `preview_side` px long, the sensor data (RGGB) in a SubIFD."""
    import tifffile

    pixels = stored(rgb, orientation)
    h, w = pixels.shape[:2]
    s = preview_side / max(h, w)
    preview = Image.fromarray(pixels).resize((round(w * s), round(h * s)), Image.Resampling.LANCZOS)
    jpeg = io.BytesIO()
    preview.save(jpeg, format="JPEG", quality=90)
    matrix = [v for row in XYZ_TO_SRGB for x in row for v in (round(x * 10000), 10000)]
    dng_tags = [
        (50706, "B", 4, (1, 4, 0, 0), True),  # DNGVersion
        (50707, "B", 4, (1, 2, 0, 0), True),  # DNGBackwardVersion
        (50708, "s", 0, "photoface test sensor", True),  # UniqueCameraModel
        (274, "H", 1, orientation, True),
        (50721, "2i", 9, matrix, True),  # ColorMatrix1
        (50778, "H", 1, 21, True),  # CalibrationIlluminant1: D65
        (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True),  # AsShotNeutral
    ]
    cfa_tags = [
        (33421, "H", 2, (2, 2), True),  # CFARepeatPatternDim
        (33422, "B", 4, (0, 1, 1, 2), True),  # CFAPattern: RGGB
        (50717, "I", 1, (1 << RAW_BITS) - 1, True),  # WhiteLevel
    ]
    out = io.BytesIO()
    with tifffile.TiffWriter(out) as tw:
        shape = (preview.height, preview.width, 3)
        tw.write(
            iter([jpeg.getvalue()]),  # already compressed: written as it is
            shape=shape,
            dtype=np.uint8,
            photometric="ycbcr",
            compression="jpeg",
            rowsperstrip=shape[0],
            subfiletype=1,
            subifds=1,
            extratags=dng_tags,
        )
        tw.write(mosaic(pixels), photometric=32803, subfiletype=0, extratags=cfa_tags)
    return out.getvalue()


def writers(preview_side: int) -> dict[str, tuple[str, Callable[[np.ndarray], bytes]]]:
    """Format name -> (file suffix, writer of an upright RGB image)."""
    return {
        "JPEG": (".jpg", lambda a: encode(a, "JPEG", quality=90)),
        "AVIF": (".avif", lambda a: encode(a, "AVIF", quality=80)),
        "JPEG XL": (".jxl", lambda a: encode(a, "JXL", quality=90)),
        "WebP": (".webp", lambda a: encode(a, "WEBP", quality=90)),
        "PNG": (".png", lambda a: encode(a, "PNG")),
        f"DNG, {preview_side} px preview": (".dng", lambda a: dng_with_preview(a, preview_side)),
        "DNG, no preview": (".dng", dng_pidng),
    }


def time_decode(data: bytes, suffix: str, max_side: int, repeat: int) -> tuple[float, str]:
    """Median seconds to decode `data` as a scan does, and the decoded size."""
    is_raw = imaging.is_raw_path(f"x{suffix}")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        loaded = imaging.decode_image(data, max_side, is_raw=is_raw)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), f"{loaded.size[0]}x{loaded.size[1]}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", default="4000x3000", help="WxH of the photo (even numbers)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--max-side", type=int, default=imaging.DEFAULT_MAX_SIDE)
    ap.add_argument("--preview-side", type=int, default=1620, help="long side of DNG previews")
    args = ap.parse_args(argv)
    w, h = (int(v) for v in args.size.lower().split("x"))
    from skimage import data as skdata  # the test extra's sample photo

    rgb = np.asarray(Image.fromarray(skdata.astronaut()).resize((w, h), Image.Resampling.BICUBIC))
    print(f"{w}x{h} photo decoded to a long side of {args.max_side}, median of {args.repeat}:")
    jpeg_seconds = 0.0  # the first row: the other rows are also given as multiples of it
    for name, (suffix, write) in writers(args.preview_side).items():
        try:
            data = write(rgb)
        except (ImportError, KeyError, OSError) as e:  # a missing writer or codec
            print(f"  {name:24} skipped: no writer ({e})")
            continue
        seconds, size = time_decode(data, suffix, args.max_side, args.repeat)
        jpeg_seconds = jpeg_seconds or seconds
        mb = len(data) / 1e6
        print(
            f"  {name:24} {1000 * seconds:7.1f} ms  {seconds / jpeg_seconds:4.1f}x JPEG  "
            f"({mb:5.1f} MB file, decoded to {size})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
