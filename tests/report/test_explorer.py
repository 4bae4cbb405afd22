"""The demand explorer's loader: the one usage loader, with its filters."""
from __future__ import annotations

import pytest

from finops_forecast.errors import FinopsError
from finops_forecast.report.explorer import ExplorerParams, load


def test_load_filters_through_the_one_loader_then_teams():
    """Providers and classes are matched in any case (load_usage's filter), teams as written; a filter that
    leaves nothing is an error naming it."""
    usage = load(ExplorerParams(providers="AWS, gcp", workload_classes="Training"))
    assert set(usage["provider"]) == {"aws", "gcp"} and set(usage["workload_class"]) == {"training"}
    team = usage["team"].iat[0]
    only = load(ExplorerParams(providers="aws,gcp", workload_classes="training", teams=team))
    assert set(only["team"]) == {team} and len(only) < len(usage)
    with pytest.raises(FinopsError, match="oracle"):
        load(ExplorerParams(providers="oracle"))
    with pytest.raises(FinopsError, match="teams"):
        load(ExplorerParams(teams="no-such-team"))
