"""Review benchmark: how right the people get as a truthful user answers the questions.

    python -m photoface.bench.review ../shared/data/lfw [--split report|wild] [--cache DIR]
    python -m photoface.bench.review --speed 10000

The album (as in bench.albums: LFW folds with one-photo strangers, or the held-out
celeba-wild-200 people with `--split wild`) goes through the app's scan and grouping; then a
simulated user answers the questions best first, truthfully where the truth is known: a person
is the true person of most of its labelled faces; a side with no labelled face is a stranger,
not any labelled person (two strangers: skip). Prints BCubed F1 (labelled faces) after 0, 10,
25, 50 and 100 answers. `--cache DIR` keeps the scanned library there and reuses it. `--speed N`
times an answer (the questions, then the edit) on a synthetic library of N faces.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from photoface.bench.albums import (
    SPLITS,
    WILD,
    Scanned,
    build_album,
    build_wild_album,
    scan_album,
    score,
)
from photoface.bench.clustering import INFO, bulk_fill, synthetic
from photoface.core.cluster import UNSORTED, ClusterParams
from photoface.core.review import IS, SAME, Question
from photoface.jobs import recluster
from photoface.library import Library
from photoface.library.review import Review
from photoface.settings import Settings

STOPS = (0, 10, 25, 50, 100)
UNKNOWN = -1


class TruthfulUser:
    """Answers from the true person of each labelled face (UNKNOWN: not labelled)."""

    def __init__(self, truth: dict[int, int]) -> None:
        self.truth = truth

    def _person_truth(self, lib: Library, person: int) -> int:
        faces = lib.query("SELECT id FROM faces WHERE person_id = ? AND removed = 0", (person,))
        labels = Counter(self.truth.get(f, UNKNOWN) for (f,) in faces)
        labels.pop(UNKNOWN, None)
        return labels.most_common(1)[0][0] if labels else UNKNOWN

    def answer(self, lib: Library, q: Question) -> str:
        if q.kind == SAME:
            assert q.a.person is not None and q.b.person is not None
            a, b = self._person_truth(lib, q.a.person), self._person_truth(lib, q.b.person)
        else:
            assert q.kind == IS and q.b.person is not None
            a, b = self.truth.get(q.a.faces[0], UNKNOWN), self._person_truth(lib, q.b.person)
        if a == UNKNOWN and b == UNKNOWN:
            return "skip"
        return "yes" if a == b else "no"


def bcubed_f1(lib: Library, truth: dict[int, int]) -> float:
    faces = sorted(truth)
    now = dict(lib.query("SELECT id, coalesce(person_id, ?) FROM faces", (UNSORTED,)))
    pred = np.array([now[f] for f in faces], np.int64)
    return score(pred, np.array([truth[f] for f in faces])).b3_f1


def simulate(
    lib: Library, review: Review, truth: dict[int, int], stops: Sequence[int] = STOPS
) -> list[tuple[int, float, Counter[str]]]:
    """Answer questions best first up to max(stops); (answers, BCubed F1, answers given) at
    each stop. When the questions run out, the later stops get the library as it is then,
    with the number of answers actually given."""
    user = TruthfulUser(truth)
    out, given = [], Counter[str]()
    for n in range(max(stops) + 1):
        if n in stops:
            out.append((n, bcubed_f1(lib, truth), Counter(given)))
        if n == max(stops):
            break
        found = review.questions(limit=1)
        if not found:
            f1 = bcubed_f1(lib, truth)
            out += [(n, f1, Counter(given)) for s in stops if s > n]
            break
        answer = user.answer(lib, found[0])
        review.answer(found[0].id, answer)
        given[f"{found[0].kind} {answer}"] += 1
    return out


def speed(n: int, answers: int = 20, threshold: float = 0.8) -> list[float]:
    """Seconds per answer (the questions, then the edit) on a synthetic library of n faces."""
    x, person = synthetic(n)
    with tempfile.TemporaryDirectory() as tmp, Library(Path(tmp) / "bench.sqlite3") as lib:
        bulk_fill(lib, x, person=person)
        recluster(lib, INFO, ClusterParams(threshold=threshold, min_size=3))
        ids = [r[0] for r in lib.query("SELECT id FROM faces ORDER BY id")]
        user = TruthfulUser(dict(zip(ids, person.tolist(), strict=True)))
        review = Review(lib, INFO.comparable_ids, threshold)
        times = []
        for _ in range(answers):
            t0 = time.perf_counter()
            found = review.questions(limit=1)
            if not found:
                break
            t1 = time.perf_counter()
            reply = user.answer(lib, found[0])  # the simulated user's time is not the app's
            t2 = time.perf_counter()
            review.answer(found[0].id, reply)
            times.append((t1 - t0) + (time.perf_counter() - t2))
        return times


def _scanned(args: argparse.Namespace, work: Path, embedder) -> tuple[Path, dict[int, int]]:
    """The scanned album's library (from --cache when there) and the truth of its faces."""
    cache = args.cache / args.split if args.cache else None
    if cache is not None and (cache / "lib.sqlite3").is_file() and (cache / "truth.npz").is_file():
        shutil.copy(cache / "lib.sqlite3", work / "lib.sqlite3")
        t = np.load(cache / "truth.npz")
        return work / "lib.sqlite3", dict(
            zip(t["faces"].tolist(), t["truth"].tolist(), strict=True)
        )
    if args.split == WILD:
        album = build_wild_album(args.wild or args.lfw.parent / "celeba-wild-200", args.lfw)
    else:
        album = build_album(args.lfw, SPLITS[args.split])
    print(f"scanning {len(album.photos)} photos of {len({p for _, p in album.photos})} people")
    photos = work / "album"
    photos.mkdir()
    with Library(work / "lib.sqlite3") as lib:
        s: Scanned = scan_album(album, lib, embedder, photos)
    faces, labels = s.face_ids[s.labelled], s.truth[s.labelled]
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copy(work / "lib.sqlite3", cache / "lib.sqlite3")
        np.savez(cache / "truth.npz", faces=faces, truth=labels)
    return work / "lib.sqlite3", dict(zip(faces.tolist(), labels.tolist(), strict=True))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("lfw", type=Path, nargs="?", help="the LFW folder (as bench.albums)")
    ap.add_argument("--split", choices=[*SPLITS, WILD], default="report")
    ap.add_argument("--wild", type=Path, help="celeba-wild-200 (default: beside the LFW folder)")
    ap.add_argument("--cache", type=Path, help="keep (and reuse) the scanned library here")
    ap.add_argument("--speed", type=int, metavar="N", help="time answers on N synthetic faces")
    args = ap.parse_args(argv)
    if args.speed:
        times = speed(args.speed)
        if not times:
            print(f"{args.speed} faces: no questions to answer")
            return 0
        print(
            f"{args.speed} faces: {len(times)} answers, seconds per answer (questions + edit): "
            f"median {statistics.median(times):.3f}, max {max(times):.3f}"
        )
        return 0
    if args.lfw is None:
        ap.error("the LFW folder is needed (or --speed N)")
    from photoface.core.embed import load_default_embedder

    embedder = load_default_embedder()
    params = Settings().cluster_params(embedder.info)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path, truth = _scanned(args, Path(tmp), embedder)
        except (FileNotFoundError, NotADirectoryError) as e:
            print(f"photoface: error: {e}", file=sys.stderr)
            return 1
        with Library(path) as lib:
            recluster(lib, embedder.info, params)
            review = Review(lib, embedder.info.comparable_ids, params.threshold)
            people = len(set(truth.values()))
            print(
                f"model {embedder.info.model_id}; split {args.split}: {len(truth)} labelled "
                f"faces of {people} people; threshold {params.threshold:.3f}; "
                f"{review.count()} questions"
            )
            for n, f1, given in simulate(lib, review, truth):
                what = ", ".join(f"{k} {v}" for k, v in sorted(given.items()))
                print(f"after {n:3d} answers: BCubed F1 {f1:.3f}  ({what or 'none'})")
            print(f"questions left: {review.count()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
