"""Generated photo files for tests: real faces (scikit-image's astronaut) and broken files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from tests.fakes import astronaut


def save_jpeg(
    rgb: np.ndarray, path: Path, orientation: int | None = None, quality: int = 90
) -> Path:
    im = Image.fromarray(rgb)
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format="JPEG", quality=quality, exif=exif.tobytes())
    return path


def face_photo(variant: int = 0) -> np.ndarray:
    """The astronaut, slightly changed per variant (crop, brightness) so each file differs."""
    img = astronaut().astype(np.int16)
    rng = np.random.default_rng(variant)
    img = img + rng.integers(-6, 7)
    dx, dy = variant % 5 * 4, variant // 5 % 5 * 4
    img = img[dy : dy + 480, dx : dx + 480].copy()
    img[:4, :4] = variant % 256  # a mark in the corner: every variant is a different file
    img[:4, 4:8] = variant // 256
    return np.clip(img, 0, 255).astype(np.uint8)


def two_faces_photo() -> np.ndarray:
    """Two copies of one face side by side: the same person twice in one photo."""
    a = face_photo(0)[:, 60:420]
    return np.concatenate([a, a[:, ::-1]], axis=1)


SMALL = 44  # the astronaut photo shrunk to this side: a face of ~8 px, too small for the scan
SMALL_AT = (700, 500)  # where it is pasted on a 1600 x 1200 canvas


def small_face_photo() -> np.ndarray:
    """A face the scan misses: the astronaut photo shrunk to SMALL px on a large canvas."""
    small = np.asarray(Image.fromarray(face_photo(0)).resize((SMALL, SMALL)))
    canvas = np.full((1200, 1600, 3), 90, np.uint8)
    canvas[SMALL_AT[1] : SMALL_AT[1] + SMALL, SMALL_AT[0] : SMALL_AT[0] + SMALL] = small
    return canvas


def small_face_box(detector) -> tuple[float, float, float, float]:
    """A box a user would draw around small_face_photo's face: a little looser than it."""
    x, y, w, h = detector.detect(face_photo(0))[0].box
    k = SMALL / 480
    ax, ay = SMALL_AT
    return ax + (x - 0.15 * w) * k, ay + (y - 0.15 * h) * k, 1.3 * w * k, 1.3 * h * k


def png_with_size(width: int, height: int) -> bytes:
    """A tiny valid-looking PNG whose header claims width x height (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def make_album(root: Path, n_faces: int = 4, broken: bool = True) -> dict[str, Path]:
    """A folder with face photos, a photo without a face and (optionally) broken files."""
    files: dict[str, Path] = {}
    for i in range(n_faces):
        files[f"face{i}"] = save_jpeg(face_photo(i), root / f"trip/face_{i}.jpg")
    files["noface"] = save_jpeg(np.full((200, 300, 3), 120, np.uint8), root / "sky.jpg")
    if broken:
        good = (root / "trip/face_0.jpg").read_bytes()
        (root / "broken").mkdir(parents=True, exist_ok=True)
        files["empty"] = root / "broken/empty.jpg"
        files["empty"].write_bytes(b"")
        files["truncated"] = root / "broken/truncated.jpg"
        files["truncated"].write_bytes(good[: len(good) // 3])
        files["text"] = root / "broken/notes.png"
        files["text"].write_text("not a picture at all")
    return files


def encode(rgb: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt, **kw)
    return buf.getvalue()
