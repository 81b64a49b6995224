"""The face datasets in ../shared/data: which photos may be trained on, and the LFW protocol."""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from photoface.bench import albums

log = logging.getLogger(__name__)

EVAL_FOLDS = (0, 1, 2, 3, 4)  # LFW View-2 folds we report on: never trained on
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".pgm", ".gif", ""}

# celeba-wild-200 identities kept out of training: the in-the-wild tuning album's people
# (python -m photoface.bench.albums LFW --split wild)
WILD_HOLDOUT = frozenset(albums.WILD_HOLDOUT)

# The two extra face sources (issue 16), extracted with `git archive` under --extra-data:
# All-Age-Faces (middleyuan/All-Age-Faces-Dataset @ 28741a75), one person per photo, and
# twelve folders of Face-Applications' celebrity faces (ElisonSherton/Face-Applications @
# a5758019, 112 x 112, pre-aligned); the repository's other twelve folders are LFW evaluation
# people or kept out for evaluation and are never read.
ALL_AGE_DIR = Path("all-age-faces") / "All-Age-Faces Dataset" / "original images"
ALL_AGE_COUNT = 13_322
CELEB_DIR = Path("face-applications") / "datasets" / "celebrity_images"
CELEB_PEOPLE = (
    "Barack Obama",
    "Gwyneth Paltrow",
    "Hugh Jackman",
    "Hugh Laurie",
    "James Spader",
    "Jennifer Aniston",
    "Jennifer Lopez",
    "Mark Ruffalo",
    "Miley Cyrus",
    "Simon Cowell",
    "Tom Hanks",
    "Victoria Beckham",
)
CELEB_COUNT = 5_734


def default_data_dir() -> Path:
    env = os.environ.get("PHOTOFACE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def default_extra_dir(data: Path | None = None) -> Path:
    """Where the extra face sources were extracted: `facedata/` beside the `shared/` that holds
    `data` (so a test's own small data set never picks up the real sources)."""
    env = os.environ.get("PHOTOFACE_EXTRA_DATA")
    return Path(env) if env else (data or default_data_dir()).resolve().parents[1] / "facedata"


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
    return sorted(p for p in folder.iterdir() if _is_image(p))


def _is_image(p: Path) -> bool:
    hidden = p.name.startswith(".") or p.name == "README"
    return p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not hidden


def lfw_name(name: str) -> str:
    """A person's name as LFW spells it ("Barack Obama" -> "Barack_Obama")."""
    return "_".join(name.replace("_", " ").split())


def training_items(data: Path, extra: Path | None = None) -> list[Item]:
    """Every photo the data README allows for training: LFW people outside the evaluation
    folds, both CelebA sets (less the WILD_HOLDOUT identities) and the classic lab sets; with
    `extra`, the two extra sources found there."""
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
            if ident in WILD_HOLDOUT:
                continue  # the in-the-wild tuning album's people
            items += [Item(p, f"celeba/{ident}") for p in _images(root / ident)]
    classic = data / "classic"
    for ident in sorted(os.listdir(classic / "orl")):
        if (classic / "orl" / ident).is_dir():
            items += [Item(p, f"orl/{ident}") for p in _images(classic / "orl" / ident)]
    for ident in sorted(os.listdir(classic / "yaleB")):
        items += [Item(p, f"yaleB/{ident}") for p in _images(classic / "yaleB" / ident)]
    for p in _images(classic / "yale"):
        items.append(Item(p, f"yale/{p.name.split('.')[0]}"))
    if extra is not None:
        items += extra_items(extra, folds, {i.identity for i in items})
    return items


def extra_items(extra: Path, folds: dict[str, int], known: set[str] = frozenset()) -> list[Item]:
    """The extra sources under `extra` (each skipped with a warning when absent; a count other
    than the expected one is warned about). A celebrity who is an LFW evaluation person is
    left out by name; one who is an LFW training person keeps that identity (`known`), so the
    same person is never their own negative."""
    items: list[Item] = []
    ages = extra / ALL_AGE_DIR
    if ages.is_dir():
        found = [Item(p, f"allage/{p.stem}") for p in _images(ages)]
        if len(found) != ALL_AGE_COUNT:
            log.warning("%s: %d photos, expected %d", ages, len(found), ALL_AGE_COUNT)
        items += found
    else:
        log.warning("no All-Age-Faces photos in %s: skipped", ages)
    celebs = extra / CELEB_DIR
    if not celebs.is_dir():
        log.warning("no celebrity faces in %s: skipped", celebs)
        return items
    n = 0
    for person in CELEB_PEOPLE:
        name = lfw_name(person)
        folder = celebs / person
        photos = _images(folder) if folder.is_dir() else []
        n += len(photos)
        if folds.get(name, -1) in EVAL_FOLDS:
            log.warning("%s is an LFW evaluation person: left out", person)
            continue
        ident = f"lfw/{name}" if f"lfw/{name}" in known else f"celeb/{name}"
        items += [Item(p, ident) for p in photos]
    if n != CELEB_COUNT:
        log.warning(
            "%s: %d faces of the %d people, expected %d", celebs, n, len(CELEB_PEOPLE), CELEB_COUNT
        )
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
