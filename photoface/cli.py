"""The command line: scan, list and edit people, undo, export. `photoface --help` for the list."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from photoface import __version__, jobs, paths, settings
from photoface.errors import NotFoundError, PhotofaceError
from photoface.fileio import describe_os_error, write_atomic
from photoface.jobs import EmbedProgress, ScanProgress, ScanResult
from photoface.library import Library, Person
from photoface.names import clean_name, printable

if TYPE_CHECKING:
    from photoface.core.embed import OnnxEmbedder
    from photoface.core.review import Question, Side
    from photoface.library.review import Review

log = logging.getLogger(__name__)

# Ids are SQLite integers; a larger number names nothing (and would overflow a query).
MAX_ID = 2**63 - 1


class Context:
    """What a command needs, resolved from the arguments, the environment and the settings."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data_dir = paths.data_dir()
        if args.library is not None and not args.library.strip():
            raise PhotofaceError("--library needs the path of a library file")
        self.settings = self._read_settings(explicit_library=bool(args.library))
        self.library_path = jobs.library_path(self.settings, args.library)
        # Only a scan makes a library (see jobs.open_library).
        self.creates_library = getattr(args, "fn", None) is cmd_scan
        self._library: Library | None = None

    def _read_settings(self, explicit_library: bool) -> settings.Settings:
        try:
            conf, problems = settings.read(self.data_dir)
        except settings.SettingsError as e:
            if not explicit_library:  # the file may name the library: never guess another
                raise
            # --library names it: nothing can be written to a library the user did not name.
            _warn(f"{e}; using the default settings")
            return settings.Settings()
        for line in problems:
            _warn(line)
        return conf

    @property
    def library(self) -> Library:
        if self._library is None:
            self._library = jobs.open_library(self.library_path, create=self.creates_library)
        return self._library

    def close(self) -> None:
        if self._library is not None:
            self._library.close()

    def embedder(self) -> OnnxEmbedder:
        """The embedding model; a job that cannot do without one fails with how to get it."""
        from photoface.core.embed import load_default_embedder

        return load_default_embedder(self.settings.threads)

    def optional_embedder(self) -> OnnxEmbedder | None:
        return jobs.optional_embedder(self.settings.threads)

    def person(self, ref: str) -> Person:
        """A person by id (ASCII digits), or by exact (case-insensitive) name."""
        if _is_id(ref):
            return self.library.person(db_id(ref, "person"))
        found = self.library.person_by_name(text_arg(ref))
        if found is None:
            with contextlib.suppress(PhotofaceError):  # the name as it would have been stored
                found = self.library.person_by_name(clean_name(ref))
        if found is None:
            raise NotFoundError(f"no person with id or name {_quote(ref)} (see `photoface people`)")
        return found


def _is_id(text: str) -> bool:
    # str.isdigit() also accepts superscripts and other digits int() refuses.
    return text.isascii() and text.isdecimal()


def db_id(text: str, what: str) -> int:
    """An id typed by the user; one beyond what SQLite can store names nothing."""
    # Checking the length first keeps int() off thousands of digits.
    if len(text.lstrip("0")) > len(str(MAX_ID)) or int(text) > MAX_ID:
        raise NotFoundError(f"no {what} with id {_cut(text)}")
    return int(text)


def face_ids(texts: Sequence[str]) -> list[int]:
    return [db_id(t, "face") for t in texts]


def _face_id_arg(text: str) -> str:
    """argparse type for a face id: ASCII digits (the range is checked by `face_ids`)."""
    if not _is_id(text):
        raise argparse.ArgumentTypeError(f"not a face id: {_quote(text)}")
    return text


def text_arg(text: str) -> str:
    """A command-line string for the library: the bytes of a non-UTF-8 argument come through
    as lone surrogates, which SQLite cannot store or compare."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PhotofaceError(
            f"{_quote(text)} is not valid text (is the terminal's encoding UTF-8?)"
        ) from None
    return text


def _cut(text: str, limit: int = 60) -> str:
    """A user's string inside a one-line message: escaped, cut short."""
    return printable(text if len(text) <= limit else text[: limit - 3] + "...")


def _quote(text: str) -> str:
    return f"'{_cut(text)}'"


def _warn(text: str) -> None:
    print(f"photoface: warning: {printable(text)}", file=sys.stderr)


def _out(text: str = "") -> None:
    print(text, flush=True)


def _progress_line(p: ScanProgress | ScanResult) -> str:
    width = 30
    frac = p.done / p.total if p.total else 1.0
    bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
    eta = f" ETA {p.eta:4.0f}s" if isinstance(p, ScanProgress) and p.eta is not None else ""
    return f"[{bar}] {p.done}/{p.total} photos, {p.faces} faces, {p.errors} errors{eta}"


def _embedded(p: EmbedProgress, model_id: str) -> None:
    if p.done == p.total:  # the last batch (a job yields none when there is nothing to do)
        _out(f"embedded {p.total} stored faces with model {model_id}")


def _workers_arg(text: str) -> int:
    from photoface.settings import MAX_THREADS

    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_THREADS:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to {MAX_THREADS}")
    return n


def cmd_scan(ctx: Context) -> int:
    from photoface.core.detect import make_detector
    from photoface.core.embed import NO_MODEL_HELP
    from photoface.core.pipeline import ScanOptions

    root = Path(ctx.args.folder).expanduser()
    if not root.is_dir():
        raise PhotofaceError(f"{root} is not a folder (nothing was scanned)")
    detector = make_detector(ctx.args.detector or ctx.settings.detector, ctx.settings.threads)
    embedder = ctx.optional_embedder()
    group = embedder is not None and not ctx.args.no_cluster
    params = ctx.settings.cluster_params(embedder.info) if embedder and group else None
    tty = sys.stderr.isatty() and not ctx.args.quiet
    last: ScanProgress | None = None
    workers = ctx.args.workers or ctx.settings.scan_workers()
    options = ScanOptions(max_side=ctx.settings.max_side, workers=workers)
    steps = jobs.scan_folder(ctx.library, root, detector, embedder, params, None, options)
    try:
        while True:
            try:
                p = next(steps)
            except StopIteration as stop:
                result: jobs.ScanFolderResult = stop.value
                break
            if isinstance(p, EmbedProgress):
                assert embedder is not None
                _embedded(p, embedder.info.model_id)
                continue
            if not isinstance(p, ScanProgress):
                continue  # grouping: one step, said after the scan's summary
            last = p
            if tty:
                print("\r" + _progress_line(p), end="", file=sys.stderr, flush=True)
            elif not ctx.args.quiet and p.done % 100 == 0:
                print(_progress_line(p), file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        steps.close()  # stores the photos it had decoded before it stops
        done = f"{last.done} of {last.total} photos" if last else "no photos"
        message = f"interrupted after {done}: what was scanned is kept; scan again to go on."
        print("\n" + message, file=sys.stderr)
        return 130
    scanned = result.scan
    if tty:
        print("\r" + _progress_line(scanned), file=sys.stderr, flush=True)
    elif not ctx.args.quiet:
        print(_progress_line(scanned), file=sys.stderr, flush=True)
    rate = scanned.new_photos / scanned.elapsed if scanned.elapsed > 0 else 0.0
    _out(
        f"scanned {root}: {scanned.total} photos ({scanned.new_photos} new, "
        f"{scanned.unchanged} unchanged, {scanned.moved} moved or duplicate, {scanned.errors} "
        f"errors), {scanned.faces} faces found in {scanned.elapsed:.1f}s ({rate:.1f} new "
        "photos/s)"
    )
    if scanned.missing:
        gone = f"{scanned.missing} photo(s) gone from their folder: kept, marked missing"
        _out(f"  {gone} (photoface errors lists them)")
    if scanned.retired_faces:
        changed = f"{scanned.retired_faces} face(s) of photos changed on disk left their people"
        _out(f"  {changed} (they come back if the old file does)")
    for path, reason in scanned.error_list[:20]:
        _out(f"  error: {path}: {reason}")
    if len(scanned.error_list) > 20:
        more = len(scanned.error_list) - 20
        _out(f"  ... and {more} more (photoface errors lists them all)")
    if embedder is None:
        print(f"warning: {NO_MODEL_HELP}", file=sys.stderr)
        return 0
    r = result.grouping
    if r is not None:
        _out(f"grouped: {r.people} people, {r.assigned} faces placed, {r.unsorted} unsorted")
    return 0


def cmd_people(ctx: Context) -> int:
    search = text_arg(ctx.args.search or "")
    people = ctx.library.people(include_hidden=ctx.args.all, search=search)
    if ctx.args.json:
        rows = [
            {"id": p.id, "name": p.name, "faces": p.face_count, "hidden": p.hidden} for p in people
        ]
        _out(json.dumps(rows, indent=1))
        return 0
    if not people:
        _out("no people yet: scan a folder with `photoface scan DIR`")
    for p in people:
        hidden = "  (hidden)" if p.hidden else ""
        _out(f"{p.id:6d}  {printable(p.label):<30s} {p.face_count:6d} faces{hidden}")
    unsorted = ctx.library.counts()["unsorted"]
    if unsorted:
        _out(f"{'':6s}  {'(unsorted)':<30s} {unsorted:6d} faces")
    return 0


def cmd_show(ctx: Context) -> int:
    person = ctx.person(ctx.args.person)
    _out(f"{person.id}: {person.label}, {person.face_count} faces")
    by_photo: dict[int, list[int]] = {}
    for f in ctx.library.faces_of_person(person.id):
        by_photo.setdefault(f.photo_id, []).append(f.id)
    photos = sorted((ctx.library.photo(pid) for pid in by_photo), key=lambda ph: ph.path)
    for photo in photos:
        gone = "  [missing: the file is not there]" if photo.missing else ""
        _out(f"  {photo.path}  (face {', '.join(map(str, by_photo[photo.id]))}){gone}")
    return 0


def cmd_name(ctx: Context) -> int:
    person = ctx.person(ctx.args.person)
    ctx.library.edits.rename(person.id, clean_name(" ".join(ctx.args.name)))
    _out(f"{person.id} is now {printable(ctx.library.person(person.id).label)}")
    return 0


def cmd_merge(ctx: Context) -> int:
    ids = [ctx.person(r).id for r in ctx.args.people]
    into = ctx.person(ctx.args.into).id if ctx.args.into else None
    target = ctx.library.edits.merge(ids, into, ctx.args.name)
    p = ctx.library.person(target)
    _out(f"merged into {p.id}: {printable(p.label)}, {p.face_count} faces")
    return 0


def cmd_move(ctx: Context) -> int:
    target = None if ctx.args.person == "new" else ctx.person(ctx.args.person).id
    faces = face_ids(ctx.args.faces)
    pid = ctx.library.edits.move_faces(faces, target)
    _out(f"moved {len(faces)} face(s) to {pid}: {printable(ctx.library.person(pid).label)}")
    return 0


def cmd_reject(ctx: Context) -> int:
    faces = face_ids(ctx.args.faces)
    person = ctx.person(ctx.args.person)
    ctx.library.edits.reject(faces, person.id)
    _out(f"{len(faces)} face(s) marked as not {printable(person.label)}")
    return 0


def cmd_hide(ctx: Context) -> int:
    person = ctx.person(ctx.args.person)
    ctx.library.edits.hide(person.id, not ctx.args.show)
    _out(f"{printable(person.label)} is {'shown' if ctx.args.show else 'hidden'}")
    return 0


def cmd_remove(ctx: Context) -> int:
    faces = face_ids(ctx.args.faces)
    ctx.library.edits.remove_faces(faces)
    _out(f"removed {len(faces)} face(s)")
    return 0


def _pixels(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"not a number of pixels: {_quote(text)}")
    return v


def cmd_add_face(ctx: Context) -> int:
    from photoface.core.detect import make_detector
    from photoface.jobs.drawn import add_drawn_face

    path = os.path.abspath(Path(ctx.args.photo).expanduser())
    photo = ctx.library.photo_by_path(path)
    if photo is None:
        raise NotFoundError(f"{printable(path)} is not in the library (scan its folder first)")
    box = (ctx.args.x, ctx.args.y, ctx.args.w, ctx.args.h)
    detector = make_detector(ctx.settings.detector, ctx.settings.threads)
    embedder = ctx.optional_embedder()
    params = ctx.settings.cluster_params(embedder.info) if embedder else None
    added = add_drawn_face(
        ctx.library, photo.id, box, detector, embedder, params, ctx.settings.max_side
    )
    where = "unsorted"
    if added.person_id is not None:
        label = printable(ctx.library.person(added.person_id).label)
        where = f"in person {added.person_id}: {label}"
    how = "" if added.detected else " (no landmarks found: the default layout)"
    _out(f"added face {added.face_id}, {where}{how}")
    return 0


def _undo_redo(ctx: Context, fn: Callable[[], str | None], verb: str) -> int:
    done = fn()
    if done is None:
        raise PhotofaceError(f"nothing to {verb}")
    _out(f"{verb}: {printable(done)}")
    return 0


def cmd_undo(ctx: Context) -> int:
    return _undo_redo(ctx, ctx.library.edits.undo, "undo")


def cmd_redo(ctx: Context) -> int:
    return _undo_redo(ctx, ctx.library.edits.redo, "redo")


def cmd_recluster(ctx: Context) -> int:
    if ctx.args.threshold is not None and not 0.0 < ctx.args.threshold < 4.0:  # nan too
        raise PhotofaceError("--threshold must be between 0 and 4 (squared L2 distance)")
    embedder = ctx.embedder()
    params = ctx.settings.cluster_params(embedder.info)
    if ctx.args.threshold is not None:
        params = replace(params, threshold=ctx.args.threshold)
    model_id = embedder.info.model_id
    done = jobs.drain(
        jobs.regroup(ctx.library, embedder, params),
        lambda p: _embedded(p, model_id) if isinstance(p, EmbedProgress) else None,
    )
    r = done.grouping
    assert r is not None  # nothing cancels it here
    _out(
        f"{r.faces} faces: {r.people} people, {r.unsorted} unsorted "
        f"(threshold {params.threshold:.3f})"
    )
    return 0


def _review(ctx: Context) -> Review:
    from photoface.library.review import Review

    embedder = ctx.embedder()
    params = ctx.settings.cluster_params(embedder.info)
    return Review(ctx.library, embedder.info.comparable_ids, params.threshold)


def _side_json(side: Side) -> dict[str, object]:
    return {"person": side.person, "faces": list(side.faces)}


def cmd_review(ctx: Context) -> int:
    args = ctx.args
    if args.action is not None:
        if args.action != "answer" or args.qid is None or args.answer is None or args.extra:
            raise PhotofaceError("usage: photoface review answer ID yes|no|skip")
        if args.json or args.limit is not None:
            raise PhotofaceError("--json and --limit list questions; they do not go with answer")
        _out(_review(ctx).answer(text_arg(args.qid), text_arg(args.answer)))
        return 0
    limit = None
    if args.limit is not None:
        if not _is_id(args.limit) or len(args.limit) > 9:
            raise PhotofaceError(f"--limit takes a number of questions, not {_quote(args.limit)}")
        limit = int(args.limit)
    if args.json:
        found = _review(ctx).questions(limit)
        rows = [
            {"id": q.id, "kind": q.kind, "a": _side_json(q.a), "b": _side_json(q.b)} for q in found
        ]
        _out(json.dumps(rows, indent=1))
        return 0
    return _ask(ctx, _review(ctx), limit)


def _ask(ctx: Context, review: Review, limit: int | None) -> int:
    """Ask in the terminal, best question first, until none is left, `limit`, q or end of input."""
    asked = 0
    while limit is None or asked < limit:
        found = review.questions()
        if not found:
            _out("no questions left: the people look right" if asked else "no questions")
            return 0
        q = found[0]
        _out(f"question {q.id} ({len(found)} left): {_question_text(ctx, q)}")
        for label, side in (("A", q.a), ("B", q.b)):
            _out(f"  {label}: {_side_text(ctx, side)}")
            for fid in side.faces:
                face = ctx.library.face(fid)
                box = ",".join(f"{v:.0f}" for v in face.box)
                _out(f"     {printable(face.path)}  box {box}  (face {fid})")
        while True:
            try:
                reply = input("  [y]es / [n]o / [s]kip / [q]uit? ").strip().lower()
            except EOFError:
                _out()
                return 0
            if reply in ("q", "quit"):
                return 0
            answer = {"y": "yes", "n": "no", "s": "skip"}.get(reply[:1] if reply else "", None)
            if answer is not None:
                break
            _out("  please answer y, n, s or q")
        _out(f"  {review.answer(q.id, answer)}")
        asked += 1
    return 0


def _question_text(ctx: Context, q: Question) -> str:
    if q.kind == "same-person":
        return "are A and B the same person?"
    return f"is face A {ctx.library.person(q.b.person).label} (person {q.b.person})?"


def _side_text(ctx: Context, side: Side) -> str:
    if side.person is None:
        return "an unsorted face"
    p = ctx.library.person(side.person)
    return f"person {p.id}, {printable(p.label)}, {p.face_count} faces"


def cmd_errors(ctx: Context) -> int:
    for path, reason in ctx.library.scan_errors():
        _out(f"{path}: {reason}")
    for photo in ctx.library.missing_photos():
        _out(f"{photo.path}: missing (not found at the last scan; its faces are kept)")
    return 0


def cmd_export(ctx: Context) -> int:
    lib = ctx.library
    people = []
    for p in lib.people(include_hidden=True):
        faces = [
            {
                "face": f.id,
                "photo": f.path,
                "box": [round(v, 1) for v in f.box],
                "quality": round(f.quality, 3),
                "confirmed": f.locked,
            }
            for f in lib.faces_of_person(p.id)
        ]
        people.append({"id": p.id, "name": p.name, "hidden": p.hidden, "faces": faces})
    doc = {"library": str(lib.path), "counts": lib.counts(), "people": people}
    text = json.dumps(doc, indent=1)
    if ctx.args.output:
        out = Path(ctx.args.output).expanduser()
        try:
            write_atomic(out, text.encode("utf-8"))
        except OSError as e:
            raise PhotofaceError(f"cannot write {out}: {describe_os_error(e)}") from e
        _out(f"wrote {out}")
    else:
        _out(text)
    return 0


def cmd_xmp_export(ctx: Context) -> int:
    from photoface import xmp

    r = xmp.export(ctx.library, dry_run=ctx.args.dry_run, include_hidden=ctx.args.hidden)
    verb = "would write" if ctx.args.dry_run else "wrote"
    for it in r.written:
        names = ", ".join(sorted({reg.name for reg in it.regions}))
        how = "merge into" if it.existed else "new"
        _out(f"{verb} {it.sidecar} ({how}): {names}")
    for s in r.skipped:
        _out(f"skipped {s.sidecar}: {s.reason}")
    skipped = f", skipped {len(r.skipped)} (reasons above)" if r.skipped else ""
    _out(f"{verb} {len(r.written)} sidecar(s){skipped}; the photos themselves are never modified")
    return 1 if r.skipped else 0


def cmd_xmp_import(ctx: Context) -> int:
    from photoface import xmp

    r = xmp.import_regions(ctx.library)
    for s in r.skipped:
        _out(f"skipped {s.sidecar}: {s.reason}")
    skipped = f", skipped {len(r.skipped)} (reasons above)" if r.skipped else ""
    named = f"{r.named_faces} faces named ({r.people} people)"
    unmatched = f"{r.unmatched_regions} region(s) matched no detected face"
    _out(f"read {r.sidecars} sidecar(s){skipped}: {named}, {unmatched}")
    return 1 if r.skipped else 0


def cmd_find(ctx: Context) -> int:
    from photoface.core.detect import make_detector

    path = Path(ctx.args.photo).expanduser()
    library = ctx.library  # no library: said before a model is loaded
    embedder = ctx.embedder()
    detector = make_detector(ctx.settings.detector, ctx.settings.threads)
    threshold = ctx.settings.cluster_params(embedder.info).threshold
    limit, max_side = ctx.args.limit, ctx.settings.max_side
    r = jobs.find_people(library, path, detector, embedder, threshold, limit, max_side)
    if ctx.args.json:
        _out(json.dumps([_found_json(f) for f in r.faces], indent=1))
        return 0
    if not r.faces:
        _out(f"no faces found in {printable(r.path)}")
        return 0
    known = "; this photo is in the library already" if r.known_photo_id is not None else ""
    _out(
        f"{printable(r.path)}: {len(r.faces)} face(s); distances are squared L2, the grouping "
        f"threshold is {r.threshold:.3f}{known}"
    )
    for n, f in enumerate(r.faces, 1):
        x, y, w, h = (round(v) for v in f.box)
        _out(f"face {n} at x={x} y={y} w={w} h={h} (quality {f.quality:.2f})")
        _out("  nearest people:" if f.people else "  nearest people: none yet")
        for p in f.people:
            hidden = " (hidden)" if p.hidden else ""
            same = "  within the threshold: the same person" if p.within else ""
            _out(f"    {p.distance:6.3f}  {printable(p.label)}{hidden}{same}")
        _out("  nearest faces:")
        for m in f.faces:
            who = _person_label(ctx.library, m.person_id)
            _out(f"    {m.distance:6.3f}  {printable(m.path)}  (face {m.face_id}, {who})")
    return 0


def _person_label(library: Library, person_id: int | None) -> str:
    if person_id is None:
        return "unsorted"
    p = library.person(person_id)
    return printable(p.name or f"Person {p.id}")


def _found_json(f: jobs.FaceFound) -> dict[str, object]:
    return {
        "box": [round(v, 1) for v in f.box],
        "quality": round(f.quality, 3),
        "people": [
            {
                "person": p.person_id,
                "name": p.name,
                "label": p.label,
                "hidden": p.hidden,
                "faces": p.face_count,
                "distance": round(p.distance, 4),
                "within_threshold": p.within,
            }
            for p in f.people
        ],
        "faces": [
            {
                "face": m.face_id,
                "photo": m.path,
                "person": m.person_id,
                "distance": round(m.distance, 4),
                "within_threshold": m.within,
            }
            for m in f.faces
        ],
    }


def cmd_photos(ctx: Context) -> int:
    people: dict[int, Person] = {}
    for ref in ctx.args.with_people:
        p = ctx.person(ref)
        people.setdefault(p.id, p)
    floor = ctx.settings.seed_quality
    photos = jobs.photos_together(ctx.library, list(people), ctx.args.only, floor)
    if ctx.args.json:
        rows = [{"photo": ph.id, "path": ph.path, "missing": ph.missing} for ph in photos]
        _out(json.dumps(rows, indent=1))
        return 0
    for ph in photos:
        _out(f"{printable(ph.path)}{'  [missing: the file is not there]' if ph.missing else ''}")
    if not photos:  # on stderr: standard output stays a list of paths for scripts
        names = " and ".join(printable(p.name or f"Person {p.id}") for p in people.values())
        alone = " with nobody else" if ctx.args.only else ""
        print(f"no photo shows {names}{alone}", file=sys.stderr)
    return 0


def _limit_arg(text: str) -> int:
    """argparse type for --limit: a whole number from 1."""
    if not _is_id(text) or not 1 <= int(text) <= 1000:
        raise argparse.ArgumentTypeError(f"not a number from 1 to 1000: {_quote(text)}")
    return int(text)


def cmd_info(ctx: Context) -> int:
    _out(f"library: {ctx.library_path}")
    for k, v in ctx.library.counts().items():
        _out(f"  {k}: {v}")
    embedder = ctx.optional_embedder()
    model = f"{embedder.info.describe()} ({embedder.path})" if embedder else "none installed"
    _out(f"embedding model: {model}")
    _out(f"detector: {ctx.settings.detector}")
    return 0


def cmd_setup_blazeface(ctx: Context) -> int:
    from photoface import models_install

    wheel = Path(ctx.args.wheel) if ctx.args.wheel else None
    path = models_install.install(paths.user_models_dir(), wheel)
    _out(f"BlazeFace model ready: {path} (sha256 checked)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="photoface", description=__doc__)
    ap.add_argument("--version", action="version", version=f"photoface {__version__}")
    ap.add_argument("--library", help="library file (default: library.sqlite3 in the data dir)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log debug detail to stderr")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, fn: Callable[[Context], int], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(fn=fn)
        return p

    p = add("scan", cmd_scan, "scan a photo folder into the library and group the faces")
    p.add_argument("folder")
    p.add_argument("--detector", choices=["yunet", "blazeface"])
    p.add_argument("--no-cluster", action="store_true", help="store faces, do not group them")
    p.add_argument(
        "--workers",
        type=_workers_arg,
        help="processes that read and detect (default: the `workers` setting, one per core)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p = add("people", cmd_people, "list people: id, name, face count (biggest first)")
    p.add_argument("--all", action="store_true", help="include hidden people")
    p.add_argument("--search", help="only names containing this")
    p.add_argument("--json", action="store_true")
    p = add("show", cmd_show, "list the photos of a person")
    p.add_argument("person", help="id or name")
    p = add("name", cmd_name, "name a person (names all its faces)")
    p.add_argument("person", help="id or name")
    p.add_argument("name", nargs="+")
    p = add("merge", cmd_merge, "merge people into one")
    p.add_argument("people", nargs="+", help="ids or names")
    p.add_argument("--into", help="the person to keep (default: the named or biggest)")
    p.add_argument("--name", help="the merged person's name (needed when the names differ)")
    p = add("move", cmd_move, "move faces to a person, or to a new one with 'new'")
    p.add_argument("faces", nargs="+", type=_face_id_arg)
    p.add_argument("person", help="id, name or 'new'")
    p = add("reject", cmd_reject, "'not this person': faces leave a person for good")
    p.add_argument("faces", nargs="+", type=_face_id_arg)
    p.add_argument("person", help="id or name")
    p = add("hide", cmd_hide, "hide a person (a stranger); --show shows it again")
    p.add_argument("person", help="id or name")
    p.add_argument("--show", action="store_true")
    p = add("remove", cmd_remove, "remove faces that are not faces (false detections)")
    p.add_argument("faces", nargs="+", type=_face_id_arg)
    p = add("add-face", cmd_add_face, "add a face the scan missed: a box on a photo (undoable)")
    p.add_argument("photo", help="a photo of the library")
    for name in ("x", "y", "w", "h"):
        p.add_argument(name, type=_pixels, help=f"box {name} in pixels of the photo as shown")
    add("undo", cmd_undo, "undo the last edit")
    add("redo", cmd_redo, "redo the last undone edit")
    p = add("recluster", cmd_recluster, "group all faces again, keeping every user edit")
    p.add_argument("--threshold", type=float, help="merge distance (squared L2, 0-4)")
    p = add(
        "review",
        cmd_review,
        "answer questions that fix the people (same person? is this X?), best first; "
        "'review answer ID yes|no|skip' answers one",
    )
    p.add_argument("action", nargs="?", help="'answer' to answer one question by its id")
    p.add_argument("qid", nargs="?", metavar="ID", help="a question id (from --json)")
    p.add_argument("answer", nargs="?", metavar="yes|no|skip")
    p.add_argument("extra", nargs="*", help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print the questions as JSON, best first")
    p.add_argument("--limit", help="at most this many questions")
    add("errors", cmd_errors, "list photos that could not be read (and why) or are missing")
    p = add("export", cmd_export, "export people and faces")
    p.add_argument("--json", action="store_true", required=True, help="as JSON (the format)")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p = add(
        "xmp-export",
        cmd_xmp_export,
        "write named faces to XMP sidecars (MWG regions), merging into existing ones; a sidecar "
        "that cannot be merged safely is skipped with its reason (exit code 1)",
    )
    p.add_argument("--dry-run", action="store_true", help="only list what would be written")
    p.add_argument("--hidden", action="store_true", help="include hidden people")
    add(
        "xmp-import",
        cmd_xmp_import,
        "name faces from MWG regions in sidecars next to the photos (e.g. from digiKam); "
        "an unreadable sidecar is skipped with its reason (exit code 1)",
    )
    p = add(
        "find",
        cmd_find,
        "the people and faces of the library nearest each face of a photo (the photo is only "
        "read, never added)",
    )
    p.add_argument("photo", help="a photo file, in the library or not")
    p.add_argument("--limit", type=_limit_arg, default=5, help="people and faces per face (5)")
    p.add_argument("--json", action="store_true")
    p = add(
        "photos",
        cmd_photos,
        "the photos in which all the given people appear together",
    )
    p.add_argument(
        "--with",
        dest="with_people",
        action="append",
        required=True,
        metavar="PERSON",
        help="a person (id or name); repeat for each",
    )
    p.add_argument(
        "--only",
        action="store_true",
        help="and nobody else: no other person, no unsorted face of good quality",
    )
    p.add_argument("--json", action="store_true")
    add("info", cmd_info, "library location, counts and models")
    p = add(
        "setup-blazeface",
        cmd_setup_blazeface,
        "install the BlazeFace model from the mediapipe 0.10.21 wheel (sha256-checked)",
    )
    p.add_argument("--wheel", help="a downloaded mediapipe-0.10.21 wheel (default: pip download)")
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "fn", None):
        ap.print_help()
        return 2
    ctx = None
    try:
        ctx = Context(args)
        return args.fn(ctx)
    except PhotofaceError as e:
        return _error(str(e))
    except BrokenPipeError:
        # The reader went away (`photoface people | head`): stop quietly, as Unix tools do.
        # Output still buffered would fail again at exit, so it goes to the null device.
        with contextlib.suppress(OSError, ValueError):  # no real stdout (tests)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except sqlite3.Error as e:
        # Last resort: the library failed in a way no command turned into a message.
        log.debug("library error", exc_info=True)
        where = ctx.library_path if ctx is not None else "the library"
        return _error(f"the library {where} cannot be used: {e}")
    except OSError as e:
        log.debug("system error", exc_info=True)
        return _error(
            f"{e.filename}: {describe_os_error(e)}" if e.filename else describe_os_error(e)
        )
    finally:
        if ctx is not None:
            ctx.close()


def _error(text: str) -> int:
    print(f"photoface: error: {printable(text)}", file=sys.stderr)
    return 1
