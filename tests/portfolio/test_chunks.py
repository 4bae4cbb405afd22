"""The split of series demand into chunks (Market.chunks_major) against a plain reference: per pool, the series
summed, the spot classes cheapest first each taking what is left of the cap, the firm chunk the rest."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import PortfolioError
from finops_forecast.portfolio.instruments import Market, _chunks


def _market(rng) -> Market:
    """1-4 pools of 1-4 series, about 60% of them with a spot class (rates with ties), a random spot cap."""
    spool = np.concatenate([[p] * int(rng.integers(1, 5)) for p in range(int(rng.integers(1, 5)))])
    rng.shuffle(spool)
    rate = np.where(rng.random(len(spool)) < 0.6, rng.choice([0.5, 1.0, 1.5, 2.0], len(spool)), np.nan)
    pools = pd.DataFrame({"od_rate": rng.uniform(3, 5, spool.max() + 1)})
    cp, cs, cv = _chunks(pools, list(rate), spool)
    return Market(pools=pools, series=pd.DataFrame({"pool": spool, "spot_rate": rate}), instruments=pd.DataFrame(),
                  rate=np.zeros((0, len(pools))), chunk_pool=np.array(cp), chunk_series=np.array(cs),
                  chunk_value=np.array(cv), spot_cap=float(rng.choice([0.0, 0.3, 0.5, 1.0, rng.random()])))


def _reference(m: Market, D: np.ndarray) -> np.ndarray:
    dtype = np.float32 if D.dtype == np.float32 else np.float64
    X = D.reshape(D.shape[0], -1).astype(dtype)
    spool, rate = m.series["pool"].to_numpy(int), m.series["spot_rate"].to_numpy(float)
    out = np.zeros((m.n_chunks, X.shape[1]), dtype)
    for p in range(m.n_pools):
        total = np.zeros(X.shape[1], dtype)
        for s in np.flatnonzero(spool == p):
            total += X[s]
        left, taken = total * dtype(m.spot_cap), np.zeros(X.shape[1], dtype)
        for c in sorted(np.flatnonzero((m.chunk_series >= 0) & (m.chunk_pool == p)),
                        key=lambda c: rate[m.chunk_series[c]]):
            out[c] = np.minimum(X[m.chunk_series[c]], np.maximum(left, 0))
            left -= out[c]
            taken += out[c]
        out[np.flatnonzero((m.chunk_series < 0) & (m.chunk_pool == p))[0]] = np.maximum(total - taken, 0)
    return out.reshape((m.n_chunks,) + D.shape[1:])


@pytest.mark.parametrize("seed", range(40))
def test_chunks_equal_the_reference_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    m = _market(rng)
    for dtype in (np.float32, np.float64):
        shape = (m.n_series,) + tuple(rng.integers(1, 6, rng.integers(0, 3)))
        D = (rng.exponential(10, shape) * (rng.random(shape) < 0.8)).astype(dtype)
        got = m.chunks_major(D)
        assert got.dtype == dtype and got.shape == (m.n_chunks,) + shape[1:]
        np.testing.assert_array_equal(got, _reference(m, D))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1.0])
def test_bad_demand_is_refused(bad):
    m = _market(np.random.default_rng(3))
    for dtype in (np.float32, np.float64):
        D = np.ones((m.n_series, 4), dtype)
        D[-1, 2] = bad
        with pytest.raises(PortfolioError, match="finite and >= 0"):
            m.chunks_major(D)


def test_finite_demand_whose_pool_total_overflows_is_refused():
    m = _market(np.random.default_rng(3))
    assert m.n_series >= 2  # every value finite in float32, their sum not
    with pytest.raises(PortfolioError, match="finite and >= 0"):
        m.chunks_major(np.full((m.n_series, 3), 3e38, np.float32))
