"""Grouping faces into people in a library: full re-clustering and the incremental update."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from photoface.core import align
from photoface.core.cluster import ClusterParams, agglomerate, nearest_clusters
from photoface.core.embed import Embedder, ModelInfo, dequantize, quantize
from photoface.library import ClusterInput, Library

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GroupingResult:
    faces: int  # faces considered
    people: int  # people with faces afterwards
    assigned: int  # faces given a person by this run
    unsorted: int


def _forbidden(ci: ClusterInput, index: dict[int, int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for face_id, person_id in ci.rejections:
        i = index.get(face_id)
        if i is not None:
            out.setdefault(i, set()).add(person_id)
    return out


def recluster(library: Library, info: ModelInfo, params: ClusterParams) -> GroupingResult:
    """Cluster every face again; what the user said (locks, names, rejections) is kept."""
    ci = library.cluster_input([info.model_id, *info.compatible_with])
    n = len(ci.face_ids)
    x = dequantize(ci.embeddings)
    tags = np.where(ci.locked, ci.person_ids, -1)
    index = {int(f): i for i, f in enumerate(ci.face_ids)}
    roots = agglomerate(x, ci.photo_ids, params, tags, _forbidden(ci, index))
    labels = np.zeros(n, np.int64)
    used: set[int] = set()
    tagged_people = set(tags[tags >= 0].tolist())
    next_new = -1
    for root in np.unique(roots):
        members = np.nonzero(roots == root)[0]
        tag = tags[members].max()
        if tag >= 0:
            labels[members] = tag
            continue
        if not params.is_person(ci.quality[members]):
            continue  # unsorted (label 0)
        # Keep the id of the automatic person most of these faces had, so views stay stable.
        old = Counter(int(p) for p in ci.person_ids[members] if p >= 0 and p not in tagged_people)
        reuse = next((p for p, _ in old.most_common() if p not in used), None)
        if reuse is not None:
            used.add(reuse)
            labels[members] = reuse
        else:
            labels[members] = next_new
            next_new -= 1
    free = ~ci.locked
    library.write_clustering(ci.face_ids[free], labels[free])
    people = len(set(labels[labels != 0].tolist()))
    return GroupingResult(n, people, int((labels[free] != 0).sum()), int((labels == 0).sum()))


def update(library: Library, info: ModelInfo, params: ClusterParams) -> GroupingResult:
    """Incremental: faces with no person join the nearest person within the threshold; the
    rest are clustered among themselves. People already made are not reconsidered."""
    ci = library.cluster_input([info.model_id, *info.compatible_with])
    x = dequantize(ci.embeddings)
    has = ci.person_ids >= 0
    todo = np.nonzero(~has)[0]
    if todo.size == 0:
        return GroupingResult(len(x), len(set(ci.person_ids[has].tolist())), 0, 0)
    people = np.unique(ci.person_ids[has])
    pos = {int(p): i for i, p in enumerate(people)}
    sums = np.zeros((len(people), x.shape[1]), np.float64)
    counts = np.zeros(len(people), np.int64)
    photos: list[set[int]] = [set() for _ in people]
    for i in np.nonzero(has)[0]:
        j = pos[int(ci.person_ids[i])]
        sums[j] += x[i]
        counts[j] += 1
        photos[j].add(int(ci.photo_ids[i]))
    rejected: dict[int, set[int]] = {}
    for f, p in ci.rejections:
        rejected.setdefault(f, set()).add(p)
    labels = np.zeros(len(x), np.int64)
    nearest, dist = nearest_clusters(x[todo], sums, counts)
    joined = np.zeros(len(todo), bool)
    for k in np.argsort(dist):  # closest first, so one photo's faces compete fairly
        if dist[k] > params.threshold:
            break
        i, j = int(todo[k]), int(nearest[k])
        pid, ph = int(people[j]), int(ci.photo_ids[i])
        if ph in photos[j] or pid in rejected.get(int(ci.face_ids[i]), ()):
            continue
        photos[j].add(ph)
        labels[i] = pid
        joined[k] = True
    rest = todo[~joined]
    if rest.size:
        sub_roots = agglomerate(x[rest], ci.photo_ids[rest], params)
        next_new = -1
        for root in np.unique(sub_roots):
            members = rest[sub_roots == root]
            if params.is_person(ci.quality[members]):
                labels[members] = next_new
                next_new -= 1
    library.write_clustering(ci.face_ids[todo], labels[todo])
    after = library.counts()
    return GroupingResult(len(x), after["people"], int((labels[todo] != 0).sum()),
                          int((labels[todo] == 0).sum()))  # fmt: skip


@dataclass(frozen=True)
class EmbedProgress:
    done: int
    total: int
    finished: bool = False
    cancelled: bool = False


def reembed(
    library: Library, embedder: Embedder, cancel: threading.Event | None = None, batch: int = 256
) -> Iterator[EmbedProgress]:
    """Embed faces that have no vector, or one the current model cannot compare with, from
    their stored crops (no re-detection)."""
    info = embedder.info
    todo = library.faces_to_embed(info.model_id, info.compatible_with)
    for s in range(0, len(todo), batch):
        if cancel is not None and cancel.is_set():
            yield EmbedProgress(s, len(todo), finished=True, cancelled=True)
            return
        ids = todo[s : s + batch]
        crops = np.stack([align.model_crop_from_stored(align.decode_jpeg(c))
                          for c in library.crops(ids)])  # fmt: skip
        library.set_embeddings(ids, quantize(embedder.embed(crops)), info.model_id)
        yield EmbedProgress(min(s + batch, len(todo)), len(todo))
    yield EmbedProgress(len(todo), len(todo), finished=True)
