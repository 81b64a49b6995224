"""Album benchmark: are the people right? Clustering quality on albums of labelled photos.

    python -m photoface.bench.albums ../shared/data/lfw [--split tune|report|wild] [--grid]

An album is LFW's people of some View-2 folds (never trained on: folds 0-4, the evaluation
folds): everyone with >= 3 photos, plus one-photo strangers as distractors. `tune` uses folds
0-1, `report` folds 2-4: defaults are chosen on one and reported on the other. `wild` is the
in-the-wild tuning album: the WILD_HOLDOUT people of celeba-wild-200 (beside the LFW folder, or
--wild; kept out of training), everyone with >= 3 photos, plus the `tune` split's one-photo
strangers (so the `report` folds stay unseen). The photos go
through the app's own scan (detect, align, embed, store) into a temporary library, then the
app's grouping. Only the central face of each photo carries its label; other faces take part
but are not scored. Prints pairwise and BCubed precision/recall/F1, predicted vs true people,
the unsorted share, the share of clusters that mix people, and how many same-photo pairs would
have been merged without that constraint. --grid compares thresholds, average vs complete
linkage, and a DBSCAN baseline as Immich configures it (cosine eps 0.5, min 3 faces).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoface.core.cluster import UNSORTED, ClusterParams, agglomerate, pairs_in_same_photo
from photoface.core.detect import make_detector
from photoface.core.embed import Embedder, dequantize, load_default_embedder
from photoface.core.grouping import NO_PERSON
from photoface.core.pipeline import list_photos
from photoface.jobs import drain, recluster, scan
from photoface.library import Library
from photoface.settings import Settings

SPLITS = {"tune": (0, 1), "report": (2, 3, 4)}
WILD = "wild"
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
# celeba-wild-200 identities never trained on (training.data leaves them out): the 60 lowest
# ids, 1,324 photos of everyday in-the-wild framing, for choosing the grouping defaults.
WILD_HOLDOUT = tuple(
    """
7203 7204 7205 7206 7207 7208 7209 7212 7215 7216 7218 7219 7222 7224 7225 7226 7227 7228 7229
7231 7232 7233 7237 7238 7239 7242 7244 7246 7248 7249 7250 7251 7252 7254 7255 7256 7257 7258
7259 7261 7263 7264 7265 7267 7269 7270 7271 7273 7274 7276 7277 7279 7281 7282 7283 7284 7285
7286 7287 7289
""".split()
)


@dataclass(frozen=True)
class Album:
    photos: list[tuple[Path, str]]  # (file, person)


def _fold_of(lfw: Path) -> dict[str, int]:
    fold_of: dict[str, int] = {}
    with open(lfw / "view2_identity_fold_from_pairs.tsv") as f:
        for row in csv.reader((ln for ln in f if not ln.startswith("#")), delimiter="\t"):
            fold_of[row[0]] = int(row[1])
    return fold_of


def build_album(
    lfw: Path,
    folds: tuple[int, ...],
    min_photos: int = 3,
    cap: int = 60,
    strangers: int = 200,
    seed: int = 0,
) -> Album:
    photos: list[tuple[Path, str]] = []
    for name in sorted(n for n, fo in _fold_of(lfw).items() if fo in folds):
        files = sorted((lfw / "lfw-deepfunneled" / name).glob("*.jpg"))
        if len(files) >= min_photos:
            photos += [(p, name) for p in files[:cap]]
    return Album(photos + lfw_strangers(lfw, folds, strangers, seed))


def lfw_strangers(
    lfw: Path, folds: tuple[int, ...], n: int = 200, seed: int = 0
) -> list[tuple[Path, str]]:
    """`n` of the people of `folds` with a single photo, picked at random (seeded)."""
    singles = []
    for name in sorted(n for n, fo in _fold_of(lfw).items() if fo in folds):
        files = sorted((lfw / "lfw-deepfunneled" / name).glob("*.jpg"))
        if len(files) == 1:
            singles.append((files[0], name))
    pick = np.random.default_rng(seed).permutation(len(singles))[:n]
    return [singles[i] for i in sorted(pick)]


def build_wild_album(
    wild: Path, lfw: Path, min_photos: int = 3, cap: int = 60, strangers: int = 200, seed: int = 0
) -> Album:
    """The WILD_HOLDOUT people of celeba-wild-200 (`wild`) with >= min_photos photos, plus
    the `tune` split's one-photo LFW strangers."""
    photos: list[tuple[Path, str]] = []
    for ident in WILD_HOLDOUT:
        folder = wild / ident
        files: list[Path] = []
        if folder.is_dir():
            files = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
        if len(files) >= min_photos:
            photos += [(p, f"celeba/{ident}") for p in files[:cap]]
    if not photos:
        raise FileNotFoundError(f"no photos of the held-out celeba-wild-200 people in {wild}")
    return Album(photos + lfw_strangers(lfw, SPLITS["tune"], strangers, seed))


@dataclass(frozen=True)
class Scores:
    pair_p: float
    pair_r: float
    pair_f1: float
    b3_p: float
    b3_r: float
    b3_f1: float
    predicted: int
    true: int
    unsorted: float
    mixed: float


def score(pred: np.ndarray, truth: np.ndarray, min_size: int = 3) -> Scores:
    """Unsorted faces (label UNSORTED) count as singletons."""
    pred = pred.copy()
    single = pred == UNSORTED
    pred[single] = pred.max(initial=0) + 1 + np.arange(single.sum())
    _, p = np.unique(pred, return_inverse=True)
    _, t = np.unique(truth, return_inverse=True)
    joint = Counter(zip(p.tolist(), t.tolist(), strict=True))
    pc, tc = Counter(p.tolist()), Counter(t.tolist())
    tp = sum(c * (c - 1) / 2 for c in joint.values())
    pp = sum(c * (c - 1) / 2 for c in pc.values())
    tt = sum(c * (c - 1) / 2 for c in tc.values())
    pair_p, pair_r = (tp / pp if pp else 1.0), (tp / tt if tt else 1.0)
    b3_p = sum(c * c / pc[a] for (a, _), c in joint.items()) / len(p)
    b3_r = sum(c * c / tc[b] for (_, b), c in joint.items()) / len(p)
    clusters = [a for a, c in pc.items() if c >= min_size]
    mixed = sum(1 for a in clusters if sum(1 for (x, _) in joint if x == a) > 1)
    true_people = sum(1 for c in tc.values() if c >= min_size)
    return Scores(
        pair_p=pair_p,
        pair_r=pair_r,
        pair_f1=_f1(pair_p, pair_r),
        b3_p=b3_p,
        b3_r=b3_r,
        b3_f1=_f1(b3_p, b3_r),
        predicted=len(clusters),
        true=true_people,
        unsorted=float(single.mean()),
        mixed=mixed / max(len(clusters), 1),
    )


def junk_clusters(pred: np.ndarray, labelled: np.ndarray, min_size: int = 3) -> int:
    """People (>= min_size faces) made only of unlabelled faces: background strangers, the
    junk clusters a face-quality floor is meant to prevent."""
    sizes = Counter(pred[pred != UNSORTED].tolist())
    with_label = set(pred[labelled & (pred != UNSORTED)].tolist())
    return sum(1 for c, k in sizes.items() if k >= min_size and c not in with_label)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Scanned:
    face_ids: np.ndarray
    photo_ids: np.ndarray
    x: np.ndarray
    labelled: np.ndarray  # bool: the central face of its photo
    truth: np.ndarray  # person index, -1 where not labelled
    quality: np.ndarray


def scan_album(
    album: Album, lib: Library, embedder: Embedder, work: Path, distractors: list[Path] = ()
) -> Scanned:
    """Scan the album's photos (and unlabelled distractor photos, e.g. crowds) into `lib`."""
    names = {}
    for i, (src, person) in enumerate(album.photos):
        dst = work / f"{i:05d}.jpg"
        shutil.copy(src, dst)
        names[str(dst)] = person
    for i, src in enumerate(distractors):
        shutil.copy(src, work / f"extra_{i:04d}{src.suffix.lower()}")
    drain(scan(lib, work, make_detector("yunet"), embedder))
    ci = lib.cluster_input(embedder.info.comparable_ids)
    people = {n: k for k, n in enumerate(sorted(set(names.values())))}
    truth = np.full(len(ci.face_ids), -1)
    labelled = np.zeros(len(ci.face_ids), bool)
    faces = {f: i for i, f in enumerate(ci.face_ids.tolist())}
    for photo in lib.photos():
        centre = np.array([photo.width / 2, photo.height / 2])
        fs = lib.faces_of_photo(photo.id)
        if not fs or photo.path not in names:
            continue  # no face, or a distractor: its faces take part unlabelled
        best = min(fs, key=lambda f: np.hypot(*(_box_centre(f.box) - centre)))
        i = faces[best.id]
        labelled[i] = True
        truth[i] = people[names[photo.path]]
    x = dequantize(ci.embeddings)
    return Scanned(ci.face_ids, ci.photo_ids, x, labelled, truth, ci.quality)


def _box_centre(box: tuple[float, float, float, float]) -> np.ndarray:
    return np.array(box[:2]) + np.array(box[2:]) / 2


def run_app_grouping(
    lib: Library, s: Scanned, embedder: Embedder, params: ClusterParams
) -> np.ndarray:
    """The app's own recluster, read back as a label per face (UNSORTED for none)."""
    recluster(lib, embedder.info, params)
    ci = lib.cluster_input(embedder.info.comparable_ids)
    return np.where(ci.person_ids != NO_PERSON, ci.person_ids, UNSORTED)


def other_method(s: Scanned, method: str, threshold: float, min_size: int) -> np.ndarray:
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    if method == "dbscan":
        from sklearn.cluster import DBSCAN

        lab = DBSCAN(eps=threshold, min_samples=min_size, metric="cosine").fit_predict(s.x)
        return np.where(lab >= 0, lab, UNSORTED)
    z = linkage(pdist(s.x, "sqeuclidean"), method=method)
    lab = fcluster(z, threshold, criterion="distance")
    sizes = Counter(lab.tolist())
    return np.array([v if sizes[v] >= min_size else UNSORTED for v in lab.tolist()])


def line(name: str, sc: Scores, junk: int | None = None) -> str:
    junk_part = f"  junk {junk}" if junk is not None else ""
    return (
        f"{name:34s} pair P/R/F1 {sc.pair_p:.3f}/{sc.pair_r:.3f}/{sc.pair_f1:.3f}  "
        f"BCubed P/R/F1 {sc.b3_p:.3f}/{sc.b3_r:.3f}/{sc.b3_f1:.3f}  people "
        f"{sc.predicted}/{sc.true}  unsorted {100 * sc.unsorted:.1f}%  "
        f"mixed {100 * sc.mixed:.1f}%{junk_part}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("lfw", type=Path, help="the LFW folder (lfw-deepfunneled + protocol files)")
    ap.add_argument("--split", choices=[*SPLITS, WILD], default="report")
    ap.add_argument(
        "--wild",
        type=Path,
        help="celeba-wild-200 for --split wild (default: beside the LFW folder)",
    )
    ap.add_argument("--threshold", type=float, help="default: the app's (the model's grouping one)")
    ap.add_argument("--min-size", type=int, default=3)
    ap.add_argument("--seed-quality", type=float, help="default: the app's setting")
    ap.add_argument("--grid", action="store_true", help="compare thresholds and methods")
    ap.add_argument("--cap", type=int, default=60, help="photos per person at most")
    ap.add_argument(
        "--distractors",
        type=Path,
        help="a folder of unlabelled photos to mix in (e.g. groups/: crowds of "
        "small background faces, the usual source of junk people)",
    )
    args = ap.parse_args(argv)
    if args.split == WILD:
        wild = args.wild or args.lfw.parent / "celeba-wild-200"
        try:
            album = build_wild_album(wild, args.lfw, cap=args.cap)
        except (FileNotFoundError, NotADirectoryError) as e:
            print(f"photoface: error: {e}", file=sys.stderr)
            return 1
        what = f"{len(WILD_HOLDOUT)} held-out celeba-wild-200 people + tune strangers"
    else:
        album = build_album(args.lfw, SPLITS[args.split], cap=args.cap)
        what = f"folds {SPLITS[args.split]}"
    embedder = load_default_embedder()
    n_people = len({p for _, p in album.photos})
    print(
        f"model {embedder.info.model_id}; split {args.split} ({what}): "
        f"{len(album.photos)} photos of {n_people} people"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "album"
        work.mkdir()
        with Library(Path(tmp) / "lib.sqlite3") as lib:
            extra = list_photos(args.distractors) if args.distractors else []
            s = scan_album(album, lib, embedder, work, extra)
            m = s.labelled
            print(f"{len(s.x)} faces, {int(m.sum())} labelled; {len(extra)} distractor photos")
            t0 = args.threshold or embedder.info.grouping_threshold  # the app's default
            grid = [embedder.info.threshold, *np.round(np.arange(0.5, 1.45, 0.05), 2)]
            thresholds = sorted({t0, *grid}) if args.grid else [t0]
            q0 = Settings().seed_quality if args.seed_quality is None else args.seed_quality
            best = (-1.0, t0)
            for t in thresholds:
                params = ClusterParams(t, args.min_size, seed_quality=q0)
                pred = run_app_grouping(lib, s, embedder, params)
                sc = score(pred[m], s.truth[m])
                best = max(best, (sc.b3_f1, t))
                junk = junk_clusters(pred, m, args.min_size)
                print(line(f"photoface average t={t:.2f} q={q0:.2f}", sc, junk))
            if args.grid:
                t = best[1]
                print(
                    f"best BCubed F1 on this split: {best[0]:.3f} at t={t:.2f} "
                    f"(the model's verification threshold is {embedder.info.threshold:.2f})"
                )
                for q in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7):  # the face-quality floor
                    params = ClusterParams(t, args.min_size, seed_quality=q)
                    pred = run_app_grouping(lib, s, embedder, params)
                    sc = score(pred[m], s.truth[m])
                    junk = junk_clusters(pred, m, args.min_size)
                    print(line(f"photoface average t={t:.2f} q={q:.2f}", sc, junk))
                for size in (2, 3, 4, 5):  # the minimum faces of a person, at the app's floor
                    params = ClusterParams(t, size, seed_quality=q0)
                    pred = run_app_grouping(lib, s, embedder, params)
                    sc = score(pred[m], s.truth[m], size)
                    junk = junk_clusters(pred, m, size)
                    print(line(f"photoface average t={t:.2f} min {size}", sc, junk))
                for t in thresholds:
                    pred = other_method(s, "complete", t, args.min_size)
                    print(line(f"complete linkage t={t:.2f}", score(pred[m], s.truth[m])))
                for eps in (0.15, 0.2, 0.25, 0.3, 0.4, 0.5):  # 0.5: Immich's default
                    pred = other_method(s, "dbscan", eps, args.min_size)
                    print(line(f"DBSCAN cosine eps={eps} min 3", score(pred[m], s.truth[m])))
            free = agglomerate(s.x, np.arange(len(s.x)), ClusterParams(t0, args.min_size))
            same = pairs_in_same_photo(free, s.photo_ids.tolist())
            constrained = run_app_grouping(lib, s, embedder, ClusterParams(t0, args.min_size))
            kept = pairs_in_same_photo(constrained, s.photo_ids.tolist())
            print(f"same-photo pairs merged without the constraint: {same} (with it: {kept})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
