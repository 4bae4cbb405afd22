"""ReportParams: unknown, misspelled and out-of-range parameters fail fast, naming the parameter."""
from __future__ import annotations

import pytest

from finops_forecast.report.params import ReportParams, ReportParamsError, next_quarter, quarter_bounds


@pytest.mark.parametrize("values, fragment", [
    ({"quater": "2027Q1"}, "unknown parameter 'quater'. Did you mean 'quarter'"),
    ({"quarter": "2027Q5"}, "parameter 'quarter': '2027Q5' is not a quarter"),
    ({"usage": "/no/such/usage.csv"}, "parameter 'usage': file '/no/such/usage.csv' does not exist"),
    ({"budget_usd": -5}, "parameter 'budget_usd' = -5.0 must be >= 0"),
    ({"cvar_alpha": 1.5}, "parameter 'cvar_alpha'"),
    ({"n_paths": "many"}, "parameter 'n_paths' = 'many' is not a whole number"),
    ({"terms": "12,24"}, "parameter 'terms'"),
    ({"quarters": 13}, "parameter 'quarters' = 13 must be between 1 and 12"),
    ({"track_record_weeks": 27}, "parameter 'track_record_weeks' = 27 must be between 0 and 26"),
    ({"forecast_model": "arima"}, "parameter 'forecast_model': unknown model 'arima'"),
    ({"workload_classes": "training,inferense"}, "Did you mean 'inference'?"),
])
def test_bad_parameters_name_the_parameter(values, fragment):
    with pytest.raises(ReportParamsError) as exc:
        ReportParams.from_mapping(values)
    assert fragment in str(exc.value)
    assert isinstance(exc.value, ValueError)


def test_namespace_collection_rejects_injected_typos():
    ns = {"quarter": "2027Q1", "usage": "sample", "qarter": "2027Q2", "__name__": "x", "In": [], "json": __import__("json")}
    with pytest.raises(ReportParamsError, match="did you mean|Did you mean"):
        ReportParams.from_namespace(ns)
    ns.pop("qarter")
    assert ReportParams.from_namespace(ns).quarter == "2027Q1"


def test_yaml_params(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("quarter: 2027Q2\nn_paths: 50\nproviders: [aws, gcp]\n")
    p = ReportParams.from_yaml(path)
    assert p.quarter == "2027Q2" and p.n_paths == 50 and p.provider_list() == ["aws", "gcp"]


def test_quarters():
    start, end = quarter_bounds("2027Q1")
    assert str(start.date()) == "2027-01-01" and str(end.date()) == "2027-04-01"
    import pandas as pd
    assert next_quarter(pd.Timestamp("2026-10-31 23:00", tz="UTC")) == "2027Q1"
    assert next_quarter(pd.Timestamp("2026-12-31 23:00", tz="UTC")) == "2027Q1"
