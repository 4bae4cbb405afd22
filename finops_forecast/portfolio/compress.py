"""Scenario compression: weighted representative hour-vectors per quarter.

Within a quarter the commitments held are fixed, so the hours of a quarter are exchangeable: the quarter's cost
depends only on the *distribution* of its hourly demand vectors, not on their order. We therefore replace the
``paths x hours`` demand vectors of each quarter by a few weighted representatives:

1. **Scenario groups** (for CVaR): paths are sorted by their total on-demand value over the horizon and cut into
   ``n_groups`` equal groups (``n_groups = n_paths`` keeps every path). CVaR is taken over the groups, each with
   probability ``size / n_paths``.
2. **Strata**: the hour-vectors of a group x quarter are sorted by their on-demand value (the total size of the
   hour) and cut into ``strata`` equal-count strata, which keeps how pools move together (the joint part).
3. **Levels**: inside a stratum each chunk column is sorted on its own and cut into ``levels`` equal-count bins
   whose means are the representative values: a load-duration curve per pool, comonotone inside the stratum.

With one pool, ``strata=1`` and many levels this is the discretized load-duration curve, and the model's optimum
tends to the newsvendor quantile. Bin means keep the mean demand of every pool exactly, so on-demand spend and
coverage are unbiased; what is lost is the spread inside a bin. ``tests/portfolio`` checks the compressed
optimum against the full hourly model.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Compressed:
    """Representative rows of the scenario set.

    Attributes
    ----------
    D : ndarray (R, C)
        Representative chunk vectors [GPU-h per hour].
    period, group : ndarray (R,)
        Period and scenario group of each row.
    weight : ndarray (R,)
        Share of the group x period hours each row stands for (sums to 1 within a group x period).
    hours : ndarray (T,)
        Hours in each period [h].
    prob : ndarray (M,)
        Probability of each scenario group.
    group_of_path : ndarray (N,)
        Group label of each path.
    """

    D: np.ndarray
    period: np.ndarray
    group: np.ndarray
    weight: np.ndarray
    hours: np.ndarray
    prob: np.ndarray
    group_of_path: np.ndarray

    @property
    def n_rows(self) -> int:
        return len(self.weight)

    @property
    def n_groups(self) -> int:
        return len(self.prob)

    def row_hours(self) -> np.ndarray:
        """Hours each row stands for within its group x period [h]."""
        return self.hours[self.period] * self.weight


def group_paths(score: np.ndarray, n_groups: int) -> np.ndarray:
    """Label paths by equal-count groups of their score (lowest score -> group 0)."""
    n = len(score)
    n_groups = max(1, min(int(n_groups), n))
    order = np.argsort(score, kind="stable")
    labels = np.empty(n, dtype=int)
    for m, idx in enumerate(np.array_split(order, n_groups)):
        labels[idx] = m
    return labels


def _bin_means(Y: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Means of equal-count bins of each row of ``Y`` (C, n) by value: (k, C).

    Each row is sorted in float32 (numpy's SIMD sort: measured 5x faster than ``np.partition`` at the bin
    boundaries on 49 x 68k rows); the bin sums accumulate in float64."""
    P = np.sort(Y.astype(np.float32, copy=False), axis=1) if len(bounds) > 2 else Y
    sums = np.column_stack([P[:, a:b].sum(axis=1, dtype=np.float64) for a, b in zip(bounds[:-1], bounds[1:])])
    return (sums / np.diff(bounds)[None, :]).T


def representatives(X: np.ndarray, values: np.ndarray, strata: int, levels: int):
    """Compress hour-vectors, given chunk-major as ``X`` (C, n), into rows (k, C) and weights (k,) summing
    to 1."""
    n = X.shape[1]
    strata = max(1, min(strata, n))
    if strata == 1:
        parts = [X]
    else:
        sb = np.linspace(0, n, strata + 1).round().astype(int)
        order = np.argpartition(values @ X, sb[1:-1], kind="introselect")
        parts = [X[:, order[a:b]] for a, b in zip(sb[:-1], sb[1:]) if b > a]
    rows, weights = [], []
    for Y in parts:
        lv = max(1, min(levels, Y.shape[1]))
        bounds = np.unique(np.linspace(0, Y.shape[1], lv + 1).round().astype(int))
        rows.append(_bin_means(Y, bounds))
        weights.append(np.diff(bounds) / n)
    return np.vstack(rows), np.concatenate(weights)


def compress(periods, values: np.ndarray, hours: np.ndarray, *, n_groups: int = 16, strata: int = 1,
             levels: int = 4, score: np.ndarray | None = None, transform=None) -> Compressed:
    """Compress chunked scenario demand period by period.

    Parameters
    ----------
    periods : callable t -> ndarray (C, N, H_t)
        Chunk-major demand of period ``t`` for every path [GPU-h per hour]; called once per period (twice when
        ``score`` is not given), so a generator of large data never holds more than one quarter in memory.
    values : ndarray (C,)
        Value of a GPU-h of each chunk [USD/GPU-h] (used to order hours and paths).
    hours : ndarray (T,)
        Hours of each period [h].
    n_groups, strata, levels : int
        Scenario groups, strata per group x period, levels per stratum.
    score : ndarray (N,), optional
        Path score for grouping; default: total on-demand value of the path over all periods [USD].
    transform : callable, optional
        Applied to each group's ``(S, n)`` slice of ``periods(t)`` before compressing (e.g.
        ``Market.chunks_major`` when ``periods`` returns series demand), so the chunked data of only one group
        is in memory at a time.

    Returns
    -------
    Compressed
    """
    T = len(hours)
    if score is None:
        score = sum(np.tensordot(values, periods(t), axes=(0, 0)).sum(axis=1) for t in range(T))
    labels = group_paths(np.asarray(score), n_groups)
    M = labels.max() + 1
    D, per, grp, wgt = [], [], [], []
    for t in range(T):
        X = periods(t)
        for m in range(M):
            Xm = X[:, labels == m, :]
            Xm = Xm.reshape(Xm.shape[0], -1)
            if transform is not None:
                Xm = transform(Xm)
            rows, w = representatives(Xm, values, strata, levels)
            D.append(rows); wgt.append(w)
            per.append(np.full(len(w), t)); grp.append(np.full(len(w), m))
        del X
    prob = np.bincount(labels, minlength=M) / len(labels)
    return Compressed(D=np.vstack(D), period=np.concatenate(per), group=np.concatenate(grp),
                      weight=np.concatenate(wgt), hours=np.asarray(hours, float), prob=prob,
                      group_of_path=labels)


def full(periods, hours: np.ndarray, transform=None) -> Compressed:
    """No compression: every path is a group and every hour a row (for checks on small cases). ``periods(t)``
    is chunk-major (C, N, H), as in :func:`compress`."""
    T = len(hours)
    D, per, grp, wgt = [], [], [], []
    N = None
    for t in range(T):
        X = periods(t)
        if transform is not None:
            X = transform(X)
        C, N, H = X.shape
        D.append(X.reshape(C, -1).T)
        per.append(np.full(N * H, t)); grp.append(np.repeat(np.arange(N), H)); wgt.append(np.full(N * H, 1 / H))
    return Compressed(D=np.vstack(D), period=np.concatenate(per), group=np.concatenate(grp),
                      weight=np.concatenate(wgt), hours=np.asarray(hours, float), prob=np.full(N, 1 / N),
                      group_of_path=np.arange(N))
