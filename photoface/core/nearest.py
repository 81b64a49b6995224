"""The stored faces and people nearest some query vectors, by the grouping's distance.

Distances are the squared L2 of DESIGN.md (unit vectors, 0..4). A person's distance to a face is
the average-linkage distance the incremental grouping uses to decide whether a new face joins that
person (core.grouping.update_labels): the mean distance from the face to every member, which for
unit vectors is 2 - 2 q . mean(members), so each person is one centroid and a query costs one
matrix product over the people and one over the faces; no loop over faces in Python.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from photoface.core.grouping import NO_PERSON

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Centroids:
    """Each person's mean vector (not renormalised: the mean is what average linkage needs)."""

    person_ids: np.ndarray  # int64 (p,)
    means: np.ndarray  # float32 (p, D)
    counts: np.ndarray  # int64 (p,)


def centroids(x: np.ndarray, person_ids: np.ndarray) -> Centroids:
    """The people of rows `x` (float (n, D)) by `person_ids` (NO_PERSON rows left out)."""
    placed = person_ids != NO_PERSON
    ids, inverse, counts = np.unique(person_ids[placed], return_inverse=True, return_counts=True)
    sums = np.zeros((len(ids), x.shape[1] if x.ndim == 2 else 0), np.float64)
    if len(ids):
        # Rows sorted by person, then one reduceat: a sum per person without a Python loop.
        order = np.argsort(inverse, kind="stable")
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        sums = np.add.reduceat(x[placed][order].astype(np.float64), starts, axis=0)
    means = (sums / np.maximum(counts, 1)[:, None]).astype(np.float32)
    return Centroids(ids.astype(np.int64), means, counts.astype(np.int64))


def top_k(d: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row of distances `d` (m, n): the columns of the k smallest, closest first, and those
    distances (ties broken by column, so the order is stable)."""
    m, n = d.shape
    k = min(k, n)
    if k <= 0:
        return np.zeros((m, 0), np.int64), np.zeros((m, 0), np.float32)
    part = np.argpartition(d, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (m, 1))
    pd = np.take_along_axis(d, part, axis=1)
    order = np.lexsort((part, pd), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    return idx.astype(np.int64), np.take_along_axis(pd, order, axis=1).astype(np.float32)


def distances(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Squared L2 from each unit query (m, D) to each row (n, D) given as unit vectors or
    centroids: 2 - 2 q . x, clipped at 0 against rounding."""
    return np.maximum(2.0 - 2.0 * (q.astype(np.float32) @ x.astype(np.float32).T), 0.0)
