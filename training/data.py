"""The face datasets in ../shared/data: which photos may be trained on, and the LFW protocol."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

EVAL_FOLDS = (0, 1, 2, 3, 4)  # LFW View-2 folds we report on: never trained on
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".pgm", ".gif", ""}


def default_data_dir() -> Path:
    env = os.environ.get("PHOTOFACE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def default_cache_dir() -> Path:
    env = os.environ.get("PHOTOFACE_TRAIN_CACHE")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "cache"


@dataclass(frozen=True)
class Item:
    path: Path
    identity: str  # "source/name": unique across sources


def lfw_folds(lfw: Path) -> dict[str, int]:
    """The View-2 fold of every person appearing in a pair."""
    out: dict[str, int] = {}
    with open(lfw / "view2_identity_fold_from_pairs.tsv") as f:
        for row in csv.reader((ln for ln in f if not ln.startswith("#")), delimiter="\t"):
            out[row[0]] = int(row[1])
    return out


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not p.name.startswith(".") and p.name != "README")  # fmt: skip


def training_items(data: Path) -> list[Item]:
    """Every photo the data README allows for training: LFW people outside the evaluation
    folds, both CelebA sets and the classic lab sets."""
    items: list[Item] = []
    folds = lfw_folds(data / "lfw")
    lfw_root = data / "lfw" / "lfw-deepfunneled"
    for person in sorted(os.listdir(lfw_root)):
        if folds.get(person, -1) in EVAL_FOLDS:
            continue  # an evaluation identity: never trained on
        items += [Item(p, f"lfw/{person}") for p in _images(lfw_root / person)]
    for source in ("celeba-wild-200", "celeba-aligned"):
        root = data / source
        for ident in sorted(os.listdir(root)):
            items += [Item(p, f"celeba/{ident}") for p in _images(root / ident)]
    classic = data / "classic"
    for ident in sorted(os.listdir(classic / "orl")):
        if (classic / "orl" / ident).is_dir():
            items += [Item(p, f"orl/{ident}") for p in _images(classic / "orl" / ident)]
    for ident in sorted(os.listdir(classic / "yaleB")):
        items += [Item(p, f"yaleB/{ident}") for p in _images(classic / "yaleB" / ident)]
    for p in _images(classic / "yale"):
        items.append(Item(p, f"yale/{p.name.split('.')[0]}"))
    return items


@dataclass(frozen=True)
class Pair:
    a: str  # "Name/Name_0001.jpg" relative to lfw-deepfunneled
    b: str
    same: bool
    fold: int


def lfw_pairs(lfw: Path) -> list[Pair]:
    """The official View-2 pairs: 10 folds of 300 same + 300 different."""
    lines = (lfw / "pairs.txt").read_text().split("\n")
    n_folds, n = (int(v) for v in lines[0].split())
    pairs = []

    def img(name: str, k: str) -> str:
        return f"{name}/{name}_{int(k):04d}.jpg"

    rows = [ln.split("\t") for ln in lines[1:] if ln.strip()]
    for i, r in enumerate(rows):
        fold = i // (2 * n)
        if len(r) == 3:
            pairs.append(Pair(img(r[0], r[1]), img(r[0], r[2]), True, fold))
        else:
            pairs.append(Pair(img(r[0], r[1]), img(r[2], r[3]), False, fold))
    assert len(pairs) == n_folds * 2 * n
    return pairs
