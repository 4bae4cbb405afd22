"""Fixtures of the portfolio tests (helpers live in pf_helpers.py)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.portfolio.pf_helpers import P4, P5, catalog_rows, make_catalog


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def two_pool_catalog():
    """Two AWS pools with RIs, Compute SP (1y, 3y; 3y rates proportional to 1y) and spot on p5."""
    return make_catalog(
        catalog_rows(P5, 8, 4.0, ri={12: 2.6, 36: 1.8}, sp={12: 2.8, 36: 2.0}, spot=2.0),
        catalog_rows(P4, 8, 2.5, ri={12: 1.6, 36: 1.1}, sp={12: 1.75, 36: 1.25}),
    )
