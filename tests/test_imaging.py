"""Opening photos: orientation, reduced decode, odd modes, and every kind of broken file."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from photoface.bench.formats import STORE
from photoface.core import imaging
from photoface.errors import ImageError
from tests.photos import encode, png_with_size, save_jpeg


def quadrants(h: int = 120, w: int = 200) -> np.ndarray:
    """An image whose four quadrants have different colours: any flip or turn shows."""
    a = np.zeros((h, w, 3), np.uint8)
    a[: h // 2, : w // 2] = (255, 0, 0)
    a[: h // 2, w // 2 :] = (0, 255, 0)
    a[h // 2 :, : w // 2] = (0, 0, 255)
    a[h // 2 :, w // 2 :] = (255, 255, 0)
    return a


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_gives_the_upright_scene(tmp_path, orientation):
    upright = quadrants()
    stored = Image.fromarray(upright)
    for op in STORE[orientation]:
        stored = stored.transpose(op)
    path = save_jpeg(np.asarray(stored), tmp_path / "o.jpg", orientation=orientation, quality=95)
    loaded = imaging.load_image(path, max_side=None)
    assert loaded.rgb.shape == upright.shape
    assert np.abs(loaded.rgb.astype(int) - upright).mean() < 6
    assert loaded.original_size == (200, 120)


def test_large_jpeg_is_decoded_reduced_with_its_scale(tmp_path):
    big = np.kron(quadrants(300, 400), np.ones((10, 10, 1), np.uint8))  # 4000 x 3000
    path = save_jpeg(big, tmp_path / "big.jpg")
    loaded = imaging.load_image(path, max_side=1000)
    assert max(loaded.size) == 1000
    assert loaded.original_size == (4000, 3000)
    assert loaded.scale == pytest.approx(4.0)


def test_sideways_large_jpeg_reports_the_upright_size(tmp_path):
    big = np.kron(quadrants(300, 400), np.ones((8, 8, 1), np.uint8))  # stored 3200 x 2400
    path = save_jpeg(big, tmp_path / "side.jpg", orientation=6)
    loaded = imaging.load_image(path, max_side=800)
    assert loaded.original_size == (2400, 3200)
    assert loaded.size == (600, 800)
    assert loaded.scale == pytest.approx(4.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: Image.fromarray(a).convert("CMYK"),
        lambda a: Image.fromarray(a).convert("P"),
        lambda a: Image.fromarray(a).convert("LA"),
        lambda a: Image.fromarray(np.dstack([a, np.full(a.shape[:2], 255, np.uint8)]), "RGBA"),
        lambda a: Image.fromarray(a).convert("L"),
    ],
    ids=["cmyk", "palette", "grey-alpha", "rgba", "grey"],
)
def test_odd_modes_become_rgb(tmp_path, make):
    im = make(quadrants())
    fmt = "TIFF" if im.mode == "CMYK" else "PNG"
    path = tmp_path / f"odd.{fmt.lower()}"
    im.save(path, format=fmt)
    loaded = imaging.load_image(path)
    assert loaded.rgb.dtype == np.uint8 and loaded.rgb.shape == (120, 200, 3)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    grey16 = np.full((50, 60), 40000, np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(grey16).save(path)
    loaded = imaging.load_image(path)
    assert abs(int(loaded.rgb[0, 0, 0]) - 40000 // 257) <= 1


def test_transparent_palette_png_composites_on_white(tmp_path):
    im = Image.new("P", (40, 40), 0)
    im.putpalette([0, 0, 0] + [255, 0, 0] * 255)
    im.info["transparency"] = 0
    path = tmp_path / "clear.png"
    im.save(path, transparency=0)
    assert (imaging.load_image(path).rgb == 255).all()


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (30, 30), c) for c in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    rgb = imaging.load_image(path).rgb
    assert rgb[15, 15, 0] > 200 and rgb[15, 15, 2] < 50


def test_webp_and_bmp_open(tmp_path):
    for fmt in ("WEBP", "BMP"):
        path = tmp_path / f"x.{fmt.lower()}"
        path.write_bytes(encode(quadrants(), fmt))
        assert imaging.load_image(path).rgb.shape == (120, 200, 3)


def test_heif_opens_when_the_plugin_is_installed(tmp_path):
    pytest.importorskip("pillow_heif")
    path = tmp_path / "phone.heic"
    try:
        Image.fromarray(quadrants()).save(path, format="HEIF")
    except (KeyError, OSError, ValueError) as e:  # no HEVC encoder in this build
        pytest.skip(f"cannot write HEIF here: {e}")
    assert imaging.load_image(path).rgb.shape == (120, 200, 3)


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("empty.jpg", b"", "empty"),
        ("words.jpg", b"hello, I am not a JPEG" * 10, "not an image"),
        (
            "noise.png",
            bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)),
            "not an image",
        ),
        ("bomb.png", png_with_size(40_000, 40_000), "too many pixels"),
    ],
)
def test_bad_files_raise_image_error_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ImageError, match=reason):
        imaging.load_image(path)


def test_truncated_jpeg_is_an_image_error(tmp_path):
    data = encode(np.random.default_rng(0).integers(0, 255, (300, 300, 3), np.uint8), "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="decode"):
        imaging.load_image(path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ImageError, match="not found"):
        imaging.load_image(tmp_path / "nope.jpg")
    link = tmp_path / "dangling.jpg"
    link.symlink_to(tmp_path / "gone.jpg")
    with pytest.raises(ImageError, match="not found"):
        imaging.load_image(link)


def test_content_hash_keys_content_not_name(tmp_path):
    a, b = encode(quadrants(), "PNG"), encode(quadrants()[::-1], "PNG")
    assert imaging.content_hash(a) == imaging.content_hash(bytes(a))
    assert imaging.content_hash(a) != imaging.content_hash(b)
