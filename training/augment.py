"""Batch augmentation on uint8 crops, in torch/numpy/Pillow (no torchvision on CPU here).

Crops come on a canvas PAD pixels wider than the 96 x 96 model input; one affine per face
(scale, rotation, shift) samples the 96 crop from it, then flip, colour, blur (downscale and
back: small faces in albums) and JPEG artefacts.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

MEAN, STD = 127.5, 128.0  # written into the exported model's metadata


@dataclass(frozen=True)
class AugmentConfig:
    scale: float = 0.08
    rotate_deg: float = 8.0
    shift_px: float = 4.0
    colour: float = 0.2
    blur_p: float = 0.2
    blur_range: tuple[float, float] = (0.35, 0.7)  # downscale factor: 96 px -> 34-67 px
    jpeg_p: float = 0.15
    jpeg_range: tuple[int, int] = (25, 75)
    dark_p: float = 0.0  # low light: a gamma curve, then sensor noise
    noise: float = 6.0  # noise std (0-255 scale) on darkened faces

    @classmethod
    def named(cls, name: str) -> AugmentConfig:
        """`basic`, or `album`: the conditions of faces in personal photos (small faces from
        group shots, heavy JPEG, dim rooms) at higher rates."""
        if name == "basic":
            return cls()
        if name == "album":
            return cls(
                blur_p=0.35, blur_range=(0.2, 0.6), jpeg_p=0.3, jpeg_range=(10, 60), dark_p=0.15
            )
        raise ValueError(f"unknown augmentation {name!r} (basic or album)")


def centre(crops: np.ndarray, size: int = 96) -> np.ndarray:
    pad = (crops.shape[1] - size) // 2
    return crops[:, pad : pad + size, pad : pad + size]


def to_tensor(crops: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
    return ((x - MEAN) / STD).contiguous(memory_format=torch.channels_last)


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def augment(
    crops: np.ndarray,
    rng: np.random.Generator,
    cfg: AugmentConfig = AugmentConfig(),
    size: int = 96,
) -> torch.Tensor:
    n, big = crops.shape[0], crops.shape[1]
    crops = crops.copy()
    for i in np.nonzero(rng.random(n) < cfg.jpeg_p)[0]:
        crops[i] = _jpeg(crops[i], int(rng.integers(*cfg.jpeg_range)))
    x = torch.from_numpy(crops).permute(0, 3, 1, 2).float()
    s = 1.0 + rng.uniform(-cfg.scale, cfg.scale, n)
    r = np.deg2rad(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg, n))
    t = rng.uniform(-cfg.shift_px, cfg.shift_px, (n, 2)) * 2.0 / big
    flip = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    k = size / big  # the 96 crop is this fraction of the canvas
    theta = np.zeros((n, 2, 3), np.float32)
    theta[:, 0, 0] = k / s * np.cos(r) * flip
    theta[:, 0, 1] = -k / s * np.sin(r)
    theta[:, 1, 0] = k / s * np.sin(r) * flip
    theta[:, 1, 1] = k / s * np.cos(r)
    theta[:, :, 2] = t
    grid = F.affine_grid(torch.from_numpy(theta), [n, 3, size, size], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    blur = torch.from_numpy(rng.random(n) < cfg.blur_p)
    if blur.any():
        f = float(rng.uniform(*cfg.blur_range))
        small = F.interpolate(x[blur], scale_factor=f, mode="bilinear", antialias=True)
        x[blur] = F.interpolate(small, size=(size, size), mode="bilinear")
    c = cfg.colour
    bright = torch.from_numpy(rng.uniform(-c, c, (n, 1, 1, 1)).astype(np.float32)) * 255
    contrast = torch.from_numpy(rng.uniform(1 - c, 1 + c, (n, 1, 1, 1)).astype(np.float32))
    sat = torch.from_numpy(rng.uniform(1 - c, 1 + c, (n, 1, 1, 1)).astype(np.float32))
    grey = x.mean(1, keepdim=True)
    x = grey + (x - grey) * sat
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * contrast + mean + bright
    x = x.clamp(0, 255)
    dark = torch.from_numpy(rng.random(n) < cfg.dark_p)
    if dark.any():
        k = int(dark.sum())
        gamma = torch.from_numpy(rng.uniform(1.3, 2.5, (k, 1, 1, 1)).astype(np.float32))
        noisy = 255.0 * (x[dark] / 255.0) ** gamma
        noisy = noisy + torch.from_numpy(rng.normal(0, cfg.noise, noisy.shape).astype(np.float32))
        x[dark] = noisy.clamp(0, 255)
    return ((x - MEAN) / STD).contiguous(memory_format=torch.channels_last)
