"""Grouping faces into people, from arrays: full re-clustering and the incremental update."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from photoface.core.cluster import ClusterParams, agglomerate, nearest_clusters
from photoface.core.embed import dequantize

log = logging.getLogger(__name__)


class ClusterArrays(Protocol):
    """What grouping reads, as arrays aligned by row (the library's ClusterInput is one)."""

    face_ids: np.ndarray  # int64 (n,)
    photo_ids: np.ndarray  # int64 (n,)
    embeddings: np.ndarray  # int8 (n, D)
    person_ids: np.ndarray  # int64 (n,), -1 for none
    locked: np.ndarray  # bool (n,)
    quality: np.ndarray  # float32 (n,)
    rejections: list[tuple[int, int]]  # (face_id, person_id)


@dataclass(frozen=True)
class Labels:
    """A grouping: a label per row, and which rows it decides (the others are left as they
    are). A label is a person id (kept), a negative number per new person, or 0 (unsorted)."""

    labels: np.ndarray  # int64 (n,)
    decided: np.ndarray  # bool (n,)


def _forbidden(ci: ClusterArrays, index: dict[int, int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for face_id, person_id in ci.rejections:
        i = index.get(face_id)
        if i is not None:
            out.setdefault(i, set()).add(person_id)
    return out


def recluster_labels(ci: ClusterArrays, params: ClusterParams) -> Labels:
    """Cluster every face again; what the user said (locks, names, rejections) is kept.
    Decides every unlocked face."""
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
    return Labels(labels, ~ci.locked)


def update_labels(ci: ClusterArrays, params: ClusterParams) -> Labels:
    """Incremental: faces with no person join the nearest person within the threshold; the
    rest are clustered among themselves. Decides only the faces with no person."""
    x = dequantize(ci.embeddings)
    has = ci.person_ids >= 0
    todo = np.nonzero(~has)[0]
    labels = np.zeros(len(x), np.int64)
    if todo.size == 0:
        return Labels(labels, ~has)
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
    return Labels(labels, ~has)
