"""Review questions from arrays: which people may be one, which faces may be someone, best first.

Distances are the grouping's own: average linkage on squared L2 between unit vectors, exact from
a cluster's sum and count (see core.cluster). A question is worth asking when its answer is
likely to change the library and the change is big: the score is the chance the answer changes
something (a yes to "same person?" or "is this X?" for a face outside X; a no for a face inside
X) times the faces it settles, ab / (a + b) for two groups of a and b faces (what a merge adds
to BCubed recall, up to the size of the true person). The chance is a logistic in the distance
around the grouping threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from photoface.core.embed import dequantize
from photoface.core.grouping import NO_PERSON, ClusterArrays

log = logging.getLogger(__name__)

SAME = "same-person"
IS = "is-this-person"
SHOWN = 4  # faces shown for a person side


@dataclass(frozen=True)
class ReviewParams:
    margin: float = 0.45  # how far past the threshold a pair is still asked about
    # Width of the logistic from distance to the chance of "same": measured on the held-out
    # wild album, half the pairs at the threshold are one person and few at 0.1 past it.
    scale: float = 0.05
    neighbours: int = 8  # nearest people looked at per person and per unsorted face
    # A face the grouping put in a person is judged by its distance to the rest of it, which
    # average linkage keeps below the threshold: on the wild album half the faces at 0.1
    # under it belong elsewhere, and hardly any at 0.3 under it.
    outlier_offset: float = 0.1
    outlier_floor: float = 0.3


@dataclass(frozen=True)
class Side:
    person: int | None  # None: an unsorted face
    faces: tuple[int, ...]  # the faces shown (a person's: a few typical ones)


@dataclass(frozen=True)
class Question:
    id: str  # "same:A:B" (person ids, A < B) or "face:F:P" (is face F person P?)
    kind: str  # SAME or IS
    a: Side
    b: Side
    distance: float  # average-linkage distance between the two sides
    p_yes: float  # the estimated chance that the answer is yes
    score: float  # expected faces settled: higher is asked first


def same_id(a: int, b: int) -> str:
    return f"same:{min(a, b)}:{max(a, b)}"


def face_id(face: int, person: int) -> str:
    return f"face:{face}:{person}"


def parse_id(qid: str) -> tuple[str, int, int]:
    """(kind, x, y) of a question id: (SAME, a, b) or (IS, face, person); ValueError if bad."""
    parts = qid.split(":")
    if len(parts) == 3 and parts[0] in ("same", "face"):
        if all(p.isascii() and p.isdigit() and len(p) <= 18 for p in parts[1:]):
            x, y = int(parts[1]), int(parts[2])
            if parts[0] == "same" and x < y:
                return SAME, x, y
            if parts[0] == "face":
                return IS, x, y
    raise ValueError(f"not a question id: {qid!r} (they look like same:12:40 or face:123:7)")


def chance_same(d: np.ndarray, threshold: float, params: ReviewParams) -> np.ndarray:
    """The estimated chance that two sides at distance d are one person."""
    z = np.clip((threshold - np.asarray(d, np.float64)) / params.scale, -50, 50)
    return 1.0 / (1.0 + np.exp(-z))


def settled(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return a * b / np.maximum(a + b, 1.0)


@dataclass
class _Found:
    """Candidate questions of one kind as arrays (built into Questions only when asked for).
    SAME: x, y are people, ja, jb their indexes. IS: x is a face, y the person asked about
    (index jb), a_person the face's person (NO_PERSON: unsorted)."""

    kind: str
    x: np.ndarray
    y: np.ndarray
    ja: np.ndarray
    jb: np.ndarray
    a_person: np.ndarray
    d: np.ndarray
    p_yes: np.ndarray
    score: np.ndarray

    def take(self, keep: np.ndarray) -> _Found:
        return _Found(
            self.kind,
            *(getattr(self, f)[keep] for f in ("x", "y", "ja", "jb", "a_person", "d")),
            self.p_yes[keep],
            self.score[keep],
        )

    def without(self, skipped: set[tuple[str, int, int]]) -> _Found:
        pairs = np.array([(x, y) for k, x, y in skipped if k == self.kind], np.int64)
        if pairs.size == 0 or self.x.size == 0:
            return self
        width = int(max(pairs[:, 1].max(), self.y.max())) + 1
        return self.take(~np.isin(self.x * width + self.y, pairs[:, 0] * width + pairs[:, 1]))


@dataclass
class _Ctx:
    """One call's arrays: the faces, the people (by index j into `people`) and the rules."""

    ci: ClusterArrays
    x: np.ndarray  # float32 (n, D) unit rows
    threshold: float
    params: ReviewParams
    skip: set[tuple[str, int, int]]  # parsed ids of skipped questions
    rows: np.ndarray  # the rows in a person
    inv: np.ndarray  # their person's index
    people: np.ndarray  # person ids
    sums: np.ndarray  # float64 (P, D)
    counts: np.ndarray  # float64 (P,)
    means: np.ndarray  # float32 (P, D)
    blocked: np.ndarray  # bool (P,): hidden, asked about never
    is_named: np.ndarray  # bool (P,)
    taken: np.ndarray  # sorted person index * big + photo id, for each face in a person
    big: int
    order: np.ndarray  # the rows of each person, most typical first
    starts: np.ndarray  # where each person's rows start in `order`

    def shown(self, j: int) -> tuple[int, ...]:
        """A few typical faces of person index j (nearest its mean)."""
        s = int(self.starts[j])
        picked = self.rows[self.order[s : s + min(SHOWN, int(self.counts[j]))]]
        return tuple(np.asarray(self.ci.face_ids, np.int64)[picked].tolist())

    def photos_of(self, j: int) -> set[int]:
        lo = np.searchsorted(self.taken, j * self.big)
        hi = np.searchsorted(self.taken, (j + 1) * self.big)
        return set((self.taken[lo:hi] - j * self.big).tolist())


class Ranking:
    """The questions worth asking, best first; `len` counts them, `top` builds the first."""

    def __init__(self, c: _Ctx | None, found: list[_Found]) -> None:
        self._c = c
        self._found = [f for f in found if f.x.size]
        total = sum(len(f.x) for f in self._found)
        self._total = total
        if not total:
            self._order = np.zeros(0, np.int64)
            return
        score = np.concatenate([f.score for f in self._found])
        kind = np.concatenate([np.full(len(f.x), k) for k, f in enumerate(self._found)])
        x = np.concatenate([f.x for f in self._found])
        y = np.concatenate([f.y for f in self._found])
        self._order = np.lexsort((y, x, kind, -score))  # ties: a fixed order
        self._kind, self._offset = kind, np.cumsum([0] + [len(f.x) for f in self._found])

    def __len__(self) -> int:
        return self._total

    def top(self, limit: int | None = None) -> list[Question]:
        picked = self._order if limit is None else self._order[: max(limit, 0)]
        return [self._question(int(i)) for i in picked.tolist()]

    def _question(self, i: int) -> Question:
        c = self._c
        assert c is not None
        k = int(self._kind[i])
        f, r = self._found[k], i - int(self._offset[k])
        x, y, jb = int(f.x[r]), int(f.y[r]), int(f.jb[r])
        d, p, score = float(f.d[r]), float(f.p_yes[r]), float(f.score[r])
        if f.kind == SAME:
            sa, sb = Side(x, c.shown(int(f.ja[r]))), Side(y, c.shown(jb))
            return Question(same_id(x, y), SAME, sa, sb, d, p, score)
        a_person = int(f.a_person[r])
        if a_person == NO_PERSON:
            sa, sb = Side(None, (x,)), Side(y, c.shown(jb))
        else:  # an outlier: the faces shown of its person are the others
            sa, sb = Side(a_person, (x,)), Side(y, tuple(g for g in c.shown(jb) if g != x))
        return Question(face_id(x, y), IS, sa, sb, d, p, score)


def rank(
    ci: ClusterArrays,
    threshold: float,
    *,
    hidden: Collection[int] = (),
    named: Collection[int] = (),
    skipped: Collection[str] = (),
    params: ReviewParams | None = None,
) -> Ranking:
    """Every question worth asking about these faces, ranked. Pairs the user answered
    (`ci.apart`, `ci.rejections`) or skipped are left out, and so are those the grouping's
    rules answer already: two people with a face in one photo, two named people, a hidden
    person, a face the user put in its person (locked)."""
    x = dequantize(ci.embeddings).astype(np.float32)
    person = np.asarray(ci.person_ids, np.int64)
    has = person != NO_PERSON
    people, inv = np.unique(person[has], return_inverse=True)
    if people.size == 0:
        return Ranking(None, [])
    rows = np.nonzero(has)[0]
    by_person = np.argsort(inv, kind="stable")
    firsts = np.searchsorted(inv[by_person], np.arange(len(people)))
    sums = np.add.reduceat(x[rows[by_person]].astype(np.float64), firsts, axis=0)
    counts = np.bincount(inv, minlength=len(people)).astype(np.float64)
    means = (sums / counts[:, None]).astype(np.float32)
    # Distance of each face in a person to its person (itself included), for the faces shown.
    own = 2.0 - 2.0 * np.einsum("ij,ij->i", x[rows], means[inv])
    order = np.lexsort((own, inv))
    # (person, photo) keys: a person that has a face in a photo is not another face there.
    photos = np.asarray(ci.photo_ids, np.int64)
    big = int(photos.max(initial=0)) + 1
    skip = set()
    for qid in skipped:
        try:
            skip.add(parse_id(qid))
        except ValueError:
            log.warning("ignoring a skipped question with a bad id: %r", qid)
    c = _Ctx(
        ci=ci,
        x=x,
        threshold=threshold,
        params=params or ReviewParams(),
        skip=skip,
        rows=rows,
        inv=inv,
        people=people,
        sums=sums,
        counts=counts,
        means=means,
        blocked=np.isin(people, np.fromiter(hidden, np.int64, len(hidden))),
        is_named=np.isin(people, np.fromiter(named, np.int64, len(named))),
        taken=np.unique(inv.astype(np.int64) * big + photos[rows]),
        big=big,
        order=order,
        starts=np.searchsorted(inv[order], np.arange(len(people))),
    )
    return Ranking(c, [_same_person(c), _unsorted(c), _outliers(c)])


def questions(
    ci: ClusterArrays,
    threshold: float,
    *,
    hidden: Collection[int] = (),
    named: Collection[int] = (),
    skipped: Collection[str] = (),
    params: ReviewParams | None = None,
) -> list[Question]:
    """All the questions of `rank`, best first."""
    found = rank(ci, threshold, hidden=hidden, named=named, skipped=skipped, params=params)
    return found.top()


def _nearest(
    q: np.ndarray, means: np.ndarray, k: int, block: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest people (by distance to their mean) of each row of q, nearest first."""
    k = min(k, len(means))
    idx = np.empty((len(q), k), np.int64)
    dist = np.empty((len(q), k), np.float32)
    for s in range(0, len(q), block):
        d = 2.0 - 2.0 * (q[s : s + block] @ means.T)
        part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < d.shape[1] else np.argsort(d, 1)
        pd = np.take_along_axis(d, part, axis=1)
        o = np.argsort(pd, axis=1)
        idx[s : s + block] = np.take_along_axis(part, o, axis=1)
        dist[s : s + block] = np.take_along_axis(pd, o, axis=1)
    return idx, dist


def _empty(kind: str) -> _Found:
    e = np.zeros(0, np.int64)
    return _Found(kind, e, e, e, e, e, e.astype(float), e.astype(float), e.astype(float))


def _same_person(c: _Ctx) -> _Found:
    """Pairs of people near each other: average linkage between P and Q is 2 - 2 m_P . m_Q."""
    people, counts, params = c.people, c.counts, c.params
    if len(people) < 2:
        return _empty(SAME)
    idx, dist = _nearest(c.means, c.means, params.neighbours + 1)
    a = np.repeat(np.arange(len(people)), idx.shape[1])
    b, d = idx.ravel(), dist.ravel()
    keep = (a != b) & (d <= c.threshold + params.margin)
    a, b, d = np.minimum(a, b)[keep], np.maximum(a, b)[keep], d[keep]
    _, first = np.unique(a * len(people) + b, return_index=True)
    a, b, d = a[first], b[first], d[first]
    keep = ~c.blocked[a] & ~c.blocked[b] & ~(c.is_named[a] & c.is_named[b])
    apart = {(int(p), int(q)) for p, q in c.ci.apart}
    for k in np.nonzero(keep)[0].tolist():
        ja, jb = int(a[k]), int(b[k])
        if (int(people[ja]), int(people[jb])) in apart:
            keep[k] = False
        elif not c.photos_of(ja).isdisjoint(c.photos_of(jb)):
            keep[k] = False  # two faces of one photo are two people
    a, b, d = a[keep], b[keep], d[keep]
    p_yes = chance_same(d, c.threshold, params)
    score = p_yes * settled(counts[a], counts[b])
    none = np.full(len(a), NO_PERSON, np.int64)
    found = _Found(SAME, people[a], people[b], a, b, none, d, p_yes, score)
    return found.without(c.skip)


def _rejected(ci: ClusterArrays, faces: np.ndarray, persons: np.ndarray) -> np.ndarray:
    """Whether each (face, person) pair was said "not this person"."""
    if not ci.rejections:
        return np.zeros(len(faces), bool)
    r = np.array(ci.rejections, np.int64)
    width = int(max(r[:, 1].max(), persons.max(initial=0))) + 1
    return np.isin(faces * width + persons, r[:, 0] * width + r[:, 1])


def _unsorted(c: _Ctx) -> _Found:
    """Each unsorted face and the nearest person it may be."""
    ci, people = c.ci, c.people
    todo = np.nonzero(np.asarray(ci.person_ids) == NO_PERSON)[0]
    if todo.size == 0:
        return _empty(IS)
    idx, dist = _nearest(c.x[todo], c.means, min(3, len(people)))
    rows = np.repeat(todo, idx.shape[1])
    j, d = idx.ravel(), dist.ravel()
    faces = np.asarray(ci.face_ids, np.int64)[rows]
    photo = np.asarray(ci.photo_ids, np.int64)[rows]
    ok = (d <= c.threshold + c.params.margin) & ~c.blocked[j]
    ok &= ~np.isin(j * c.big + photo, c.taken)
    ok &= ~_rejected(ci, faces, people[j])
    p_yes = chance_same(d, c.threshold, c.params)
    score = p_yes * settled(1, c.counts[j])
    none = np.full(len(faces), NO_PERSON, np.int64)
    found = _Found(IS, faces, people[j], none, j, none, d, p_yes, score).take(ok)
    found = found.without(c.skip)
    # One question per face: the nearest person it may be (rows run nearest first).
    _, first = np.unique(found.x, return_index=True)
    return found.take(np.sort(first))


def _outliers(c: _Ctx) -> _Found:
    """Faces the grouping put in a person that sit far from the rest of it."""
    ci, params = c.ci, c.params
    free = ~np.asarray(ci.locked, bool)[c.rows] & (c.counts[c.inv] >= 3) & ~c.blocked[c.inv]
    r, j = c.rows[free], c.inv[free]
    if r.size == 0:
        return _empty(IS)
    xr = c.x[r].astype(np.float64)
    d = 2.0 - 2.0 * np.einsum("ij,ij->i", xr, c.sums[j] - xr) / (c.counts[j] - 1)
    far = d > c.threshold - params.outlier_floor
    r, j, d = r[far], j[far], d[far]
    p_yes = chance_same(d, c.threshold - params.outlier_offset, params)
    score = (1.0 - p_yes) * settled(1, c.counts[j] - 1)
    faces = np.asarray(ci.face_ids, np.int64)[r]
    mine = c.people[j]
    found = _Found(IS, faces, mine, np.full(len(r), -1), j, mine, d, p_yes, score)
    return found.without(c.skip)
