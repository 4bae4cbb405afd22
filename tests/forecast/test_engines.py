"""The dask engine gives the same results as the local engine for the same seed (real LocalCluster)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from finops_forecast.errors import ForecastError
from finops_forecast.forecast import cross_validate, forecast

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    import dask.distributed as distributed  # in the dev extras that `make test` installs
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_dask_equals_local_forecast(make_usage, client):
    u = make_usage(pools=(("aws", "us-east-1", "p5.48xlarge"), ("gcp", "us-central1", "a3-highgpu-8g")))
    local = forecast(u, 48, models="auto", n_paths=30, seed=4)
    remote = forecast(u, 48, models="auto", n_paths=30, seed=4, engine="dask", address=client)
    np.testing.assert_array_equal(local.paths, remote.paths)
    pd.testing.assert_frame_equal(local.forecasts, remote.forecasts)
    pd.testing.assert_frame_equal(local.selection, remote.selection)


def test_dask_by_scheduler_address(usage, client):
    local = forecast(usage, 24, models="ets", n_paths=10, seed=1)
    remote = forecast(usage, 24, models="ets", n_paths=10, seed=1, engine="dask",
                      address=client.scheduler.address)
    np.testing.assert_array_equal(local.paths, remote.paths)


def test_dask_starts_its_own_local_cluster(usage):
    local = cross_validate(usage, 7, models=("seasonal_naive", "ets"), n_windows=2, n_paths=50, seed=0)
    remote = cross_validate(usage, 7, models=("seasonal_naive", "ets"), n_windows=2, n_paths=50, seed=0,
                            engine="dask", address=None)
    pd.testing.assert_frame_equal(local.scores, remote.scores)
    pd.testing.assert_frame_equal(local.cv, remote.cv)


def test_unreachable_scheduler_says_what_to_do(usage):
    with pytest.raises(ForecastError, match="Could not connect to the dask scheduler"):
        forecast(usage, 24, models="naive", engine="dask", address="tcp://127.0.0.1:1")
