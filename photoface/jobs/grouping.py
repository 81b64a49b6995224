"""Group the library's faces into people: everything again, the new faces only, or after a
model change (re-embed, then everything again)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from dataclasses import dataclass

from photoface.core import grouping
from photoface.core.cluster import ClusterParams
from photoface.core.embed import Embedder, ModelInfo
from photoface.jobs.reembed import EmbedProgress, ReembedResult, reembed
from photoface.library import Library
from photoface.library.review import clear_skips

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupingResult:
    faces: int  # faces considered
    people: int  # people with faces afterwards
    assigned: int  # faces given a person by this run
    unsorted: int


@dataclass(frozen=True)
class GroupingStarted:
    """Progress: the faces are being grouped (one step, no count to show)."""

    everything: bool  # all faces again, or only those with no person


@dataclass(frozen=True)
class RegroupResult:
    reembedded: ReembedResult
    grouping: GroupingResult | None  # None: cancelled while re-embedding, not grouped


def recluster(library: Library, info: ModelInfo, params: ClusterParams) -> GroupingResult:
    """Cluster every face again; what the user said (locks, names, rejections, people kept
    apart) is kept. Skipped review questions may be asked again afterwards."""
    ci = library.cluster_input(info.comparable_ids)
    found = grouping.recluster_labels(ci, params)
    free = found.decided
    # Only the faces whose person changes are written: a regroup of a grouped library
    # moves few of them, and a million UPDATEs cost more than the grouping.
    moved = free & (found.new | (found.person != ci.person_ids))
    library.write_grouping(ci.face_ids[moved], found.person[moved], found.new[moved])
    clear_skips(library)
    n = len(found.person)
    placed = found.placed(free)
    return GroupingResult(n, found.people(), placed, n - found.placed())


def update(library: Library, info: ModelInfo, params: ClusterParams) -> GroupingResult:
    """Incremental: faces with no person join the nearest person within the threshold; the
    rest are clustered among themselves. People already made are not reconsidered."""
    ci = library.cluster_input(info.comparable_ids)
    found = grouping.update_labels(ci, params)
    todo, n = found.decided, len(found.person)
    if not todo.any():
        has = ci.person_ids != grouping.NO_PERSON
        return GroupingResult(n, len(set(ci.person_ids[has].tolist())), 0, 0)
    library.write_grouping(ci.face_ids[todo], found.person[todo], found.new[todo])
    placed = found.placed(todo)
    return GroupingResult(n, library.counts()["people"], placed, int(todo.sum()) - placed)


def regroup(
    library: Library,
    embedder: Embedder,
    params: ClusterParams,
    cancel: threading.Event | None = None,
) -> Generator[EmbedProgress | GroupingStarted, None, RegroupResult]:
    """Re-embed the faces the model cannot compare with, then group everything again (edits
    kept). Cancelled while re-embedding: the rest waits for the next start, nothing is
    grouped."""
    done = yield from reembed(library, embedder, cancel)
    if done.cancelled:
        return RegroupResult(done, None)
    yield GroupingStarted(everything=True)
    return RegroupResult(done, recluster(library, embedder.info, params))
