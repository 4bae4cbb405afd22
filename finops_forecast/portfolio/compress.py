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
    """Means of equal-count bins of each column of ``Y`` (n, C) by value, without a full sort.

    ``np.partition`` at the bin boundaries puts every bin's values in its segment (O(n) per column)."""
    n = Y.shape[0]
    kth = [int(b) for b in bounds[1:-1] if 0 < b < n]
    P = np.partition(Y, kth, axis=0) if kth else Y
    starts = bounds[:-1]
    sums = np.add.reduceat(P, starts, axis=0, dtype=np.float64)
    return sums / np.diff(bounds)[:, None]


def representatives(X: np.ndarray, values: np.ndarray, strata: int, levels: int):
    """Compress hour-vectors ``X`` (n, C) into rows (k, C) and weights (k,) summing to 1."""
    n = X.shape[0]
    strata = max(1, min(strata, n))
    if strata == 1:
        parts = [X]
    else:
        sb = np.linspace(0, n, strata + 1).round().astype(int)
        order = np.argpartition(X @ values, sb[1:-1], kind="introselect")
        parts = [X[order[a:b]] for a, b in zip(sb[:-1], sb[1:]) if b > a]
    rows, weights = [], []
    for Y in parts:
        lv = max(1, min(levels, len(Y)))
        bounds = np.linspace(0, len(Y), lv + 1).round().astype(int)
        bounds = np.unique(bounds)
        rows.append(_bin_means(Y, bounds))
        weights.append(np.diff(bounds) / n)
    return np.vstack(rows), np.concatenate(weights)


def compress(periods, values: np.ndarray, hours: np.ndarray, *, n_groups: int = 16, strata: int = 1,
             levels: int = 4, score: np.ndarray | None = None, transform=None) -> Compressed:
    """Compress chunked scenario demand period by period.

    Parameters
    ----------
    periods : callable t -> ndarray (N, H_t, C)
        Chunked demand of period ``t`` for every path [GPU-h per hour]; called once per period (twice when
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
        Applied to each group's slice of ``periods(t)`` before compressing (e.g. ``Market.chunks`` when
        ``periods`` returns series demand), so the chunked data of only one group is in memory at a time.

    Returns
    -------
    Compressed
    """
    T = len(hours)
    if score is None:
        score = sum((periods(t) @ values).sum(axis=1) for t in range(T))
    labels = group_paths(np.asarray(score), n_groups)
    M = labels.max() + 1
    D, per, grp, wgt = [], [], [], []
    for t in range(T):
        X = periods(t)
        for m in range(M):
            Xm = X[labels == m]
            if transform is not None:
                Xm = transform(Xm)
            rows, w = representatives(Xm.reshape(-1, Xm.shape[-1]), values, strata, levels)
            D.append(rows); wgt.append(w)
            per.append(np.full(len(w), t)); grp.append(np.full(len(w), m))
    prob = np.bincount(labels, minlength=M) / len(labels)
    return Compressed(D=np.vstack(D), period=np.concatenate(per), group=np.concatenate(grp),
                      weight=np.concatenate(wgt), hours=np.asarray(hours, float), prob=prob,
                      group_of_path=labels)


def full(periods, hours: np.ndarray, transform=None) -> Compressed:
    """No compression: every path is a group and every hour a row (for checks on small cases)."""
    T = len(hours)
    D, per, grp, wgt = [], [], [], []
    N = None
    for t in range(T):
        X = periods(t)
        if transform is not None:
            X = transform(X)
        N, H, C = X.shape
        D.append(X.reshape(-1, C))
        per.append(np.full(N * H, t)); grp.append(np.repeat(np.arange(N), H)); wgt.append(np.full(N * H, 1 / H))
    return Compressed(D=np.vstack(D), period=np.concatenate(per), group=np.concatenate(grp),
                      weight=np.concatenate(wgt), hours=np.asarray(hours, float), prob=np.full(N, 1 / N),
                      group_of_path=np.arange(N))
