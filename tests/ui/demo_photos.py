"""Photos for the docs' screenshots, made only from public-domain pictures the venv ships.

    python -m tests.ui.demo_photos OUT_DIR

The docs must show no face from the training or evaluation data (`../shared/data`), so the
screenshots' library is made from two public-domain portraits: scikit-image's astronaut (Eileen
Collins, NASA) and matplotlib's Grace Hopper (US Navy). Each is written a dozen times, cropped,
scaled, lit and mirrored differently, plus a few photos of both side by side and one whose
small, blurred face a scan misses.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageFilter, ImageOps


def portraits() -> dict[str, Image.Image]:
    import matplotlib
    from skimage import data

    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return {
        "collins": Image.fromarray(data.astronaut()),
        "hopper": Image.open(hopper).convert("RGB"),
    }


def variant(im: Image.Image, k: int, rng: np.random.Generator) -> Image.Image:
    """One of many plausible photos of the same face: crop, scale, light, mirror."""
    w, h = im.size
    f = rng.uniform(0.0, 0.12)
    box = (int(w * f * rng.uniform(0, 1)), int(h * f * rng.uniform(0, 1)))
    out = im.crop((box[0], box[1], box[0] + int(w * (1 - f)), box[1] + int(h * (1 - f))))
    out = out.resize(
        (int(out.width * rng.uniform(0.7, 1.2)), int(out.height * rng.uniform(0.7, 1.2)))
    )
    out = ImageEnhance.Brightness(out).enhance(rng.uniform(0.75, 1.25))
    out = ImageEnhance.Color(out).enhance(rng.uniform(0.3, 1.3))
    return ImageOps.mirror(out) if k % 2 else out


def write(out_dir: Path, per_person: int = 12, together: int = 3) -> list[Path]:
    rng = np.random.default_rng(7)
    out_dir.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    faces = portraits()
    for name, im in faces.items():
        for k in range(per_person):
            path = out_dir / f"{name}-{k:02d}.jpg"
            variant(im, k, rng).save(path, quality=88)
            made.append(path)
    for k in range(together):
        a, b = (variant(im, k, rng).resize((400, 400)) for im in faces.values())
        both = Image.new("RGB", (820, 420), (235, 235, 230))
        both.paste(a, (10, 10))
        both.paste(b, (410, 10))
        path = out_dir / f"together-{k:02d}.jpg"
        both.save(path, quality=88)
        made.append(path)
    # One photo whose face the detector misses (small, blurred, dim): the photo view's
    # screenshot draws a box around it by hand.
    face = faces["collins"].crop((120, 0, 300, 200)).resize((40, 44))
    face = ImageEnhance.Brightness(face.filter(ImageFilter.GaussianBlur(3.0))).enhance(0.5)
    scene = Image.new("RGB", (900, 600), (120, 140, 160))
    scene.paste(face, (600, 200))
    path = out_dir / "missed-00.jpg"
    scene.save(path, quality=80)
    made.append(path)
    return made


if __name__ == "__main__":
    print(len(write(Path(sys.argv[1]))), "photos")
