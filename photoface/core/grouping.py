"""Grouping faces into people, from arrays: full re-clustering and the incremental update."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from photoface.core.cluster import NO_TAG, UNSORTED, ClusterParams, agglomerate, nearest_clusters
from photoface.core.embed import dequantize

log = logging.getLogger(__name__)

# A face in no person ("unsorted"). The same value as a cluster label's UNSORTED, so
# pairs_in_same_photo reads the library's person ids as labels.
NO_PERSON = UNSORTED


class ClusterArrays(Protocol):
    """What grouping reads, as arrays aligned by row (the library's ClusterInput is one)."""

    face_ids: np.ndarray  # int64 (n,)
    photo_ids: np.ndarray  # int64 (n,)
    embeddings: np.ndarray  # int8 (n, D)
    person_ids: np.ndarray  # int64 (n,), NO_PERSON for none
    locked: np.ndarray  # bool (n,)
    quality: np.ndarray  # float32 (n,)
    rejections: list[tuple[int, int]]  # (face_id, person_id)
    apart: list[tuple[int, int]]  # (person_id, person_id): "not the same person"


@dataclass(frozen=True)
class Labels:
    """A grouping of the rows it decides (the others are left as they are): each goes to a
    person that exists, to a new person (numbered 0, 1, ... in `person`, where `new`), or to
    no one (NO_PERSON)."""

    person: np.ndarray  # int64 (n,): a person id, the number of a new person, or NO_PERSON
    new: np.ndarray  # bool (n,): `person` numbers a person still to be made
    decided: np.ndarray  # bool (n,)

    def people(self, rows: np.ndarray | slice = slice(None)) -> int:
        """How many people (existing and new) the given rows go to."""
        person, new = self.person[rows], self.new[rows]
        placed = person != NO_PERSON
        return len(set(zip(person[placed].tolist(), new[placed].tolist(), strict=True)))

    def placed(self, rows: np.ndarray | slice = slice(None)) -> int:
        """How many of the given rows go to a person."""
        return int((self.person[rows] != NO_PERSON).sum())


class _NewPeople:
    """Numbers the new people of one grouping 0, 1, ... as they are made."""

    def __init__(self, labels: np.ndarray, new: np.ndarray) -> None:
        self.labels, self.new, self.count = labels, new, 0

    def add(self, members: np.ndarray) -> None:
        self.labels[members] = self.count
        self.new[members] = True
        self.count += 1


def _forbidden(ci: ClusterArrays, index: dict[int, int]) -> dict[int, set[int]]:
    """Row -> the people it must never be with: the people its face was said not to be, and
    for a row in a person, the people the user said are not that person."""
    out: dict[int, set[int]] = {}
    for face_id, person_id in ci.rejections:
        i = index.get(face_id)
        if i is not None:
            out.setdefault(i, set()).add(person_id)
    if ci.apart:
        other: dict[int, set[int]] = {}
        for a, b in ci.apart:
            other.setdefault(int(a), set()).add(int(b))
            other.setdefault(int(b), set()).add(int(a))
        keys = np.array(sorted(other), np.int64)
        for i in np.nonzero(np.isin(ci.person_ids, keys))[0].tolist():
            out.setdefault(i, set()).update(other[int(ci.person_ids[i])])
    return out


def _groups(roots: np.ndarray) -> list[np.ndarray]:
    """The rows of each distinct value of `roots`, by value (one sort, not a scan per value)."""
    order = np.argsort(roots, kind="stable")
    cuts = np.flatnonzero(np.diff(roots[order])) + 1
    return np.split(order, cuts) if len(roots) else []


def recluster_labels(ci: ClusterArrays, params: ClusterParams) -> Labels:
    """Cluster every face again; what the user said (locks, names, rejections, people kept
    apart) is kept. Decides every unlocked face."""
    n = len(ci.face_ids)
    x = dequantize(ci.embeddings)
    tags = np.where(ci.locked, ci.person_ids, NO_TAG)
    index = {int(f): i for i, f in enumerate(ci.face_ids)}
    # Where each face was before is where a "no" about its person applies: an automatic
    # person, re-made by this run, keeps apart what the user said is not it.
    roots = agglomerate(x, ci.photo_ids, params, tags, _forbidden(ci, index), ci.person_ids)
    labels, new = np.full(n, NO_PERSON, np.int64), np.zeros(n, bool)
    new_people = _NewPeople(labels, new)
    used: set[int] = set()
    tagged_people = set(tags[tags != NO_TAG].tolist())
    for members in _groups(roots):
        pinned = tags[members][tags[members] != NO_TAG]  # one tag at most: agglomerate says so
        if pinned.size:
            labels[members] = pinned[0]
            continue
        if not params.is_person(ci.quality[members]):
            continue  # unsorted
        # Keep the id of the automatic person most of these faces had, so views stay stable.
        had = ci.person_ids[members]
        had = had[had != NO_PERSON].tolist()
        old = Counter(p for p in had if p not in tagged_people) if had else Counter()
        reuse = next((p for p, _ in old.most_common() if p not in used), None)
        if reuse is not None:
            used.add(reuse)
            labels[members] = reuse
        else:
            new_people.add(members)
    return Labels(labels, new, ~ci.locked)


def update_labels(ci: ClusterArrays, params: ClusterParams) -> Labels:
    """Incremental: faces with no person join the nearest person within the threshold; the
    rest are clustered among themselves. Decides only the faces with no person."""
    x = dequantize(ci.embeddings)
    has = ci.person_ids != NO_PERSON
    todo = np.nonzero(~has)[0]
    labels, new = np.full(len(x), NO_PERSON, np.int64), np.zeros(len(x), bool)
    if todo.size == 0:
        return Labels(labels, new, ~has)
    people = np.unique(ci.person_ids[has])
    at = np.searchsorted(people, ci.person_ids[has])  # each placed face's row in `people`
    order = np.argsort(at, kind="stable")
    counts = np.bincount(at, minlength=len(people)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    sums = np.zeros((len(people), x.shape[1]), np.float64)
    if len(people):  # one gather, not two (reduceat's own cast to float64 is 3x slower)
        rows = np.nonzero(has)[0][order]
        sums = np.add.reduceat(x[rows].astype(np.float64), starts, axis=0)
    # (person row, photo) pairs taken, as one int each: a set per person costs seconds here.
    span = int(ci.photo_ids.max()) + 1
    taken = set((at * span + ci.photo_ids[has]).tolist())
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
        if j * span + ph in taken or pid in rejected.get(int(ci.face_ids[i]), ()):
            continue
        taken.add(j * span + ph)
        labels[i] = pid
        joined[k] = True
    rest = todo[~joined]
    if rest.size:
        sub_roots = agglomerate(x[rest], ci.photo_ids[rest], params)
        new_people = _NewPeople(labels, new)
        for group in _groups(sub_roots):
            members = rest[group]
            if params.is_person(ci.quality[members]):
                new_people.add(members)
    return Labels(labels, new, ~has)
