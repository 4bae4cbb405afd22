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
    ({"min_utilization_p10": 0.3, "recourse": True}, "parameter 'min_utilization_p10' = 0.3 needs recourse = False"),
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


@pytest.fixture()
def bad_files(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    return tmp_path


@pytest.mark.parametrize("values, fragment", [
    ({"pricing": "{d}/empty.csv"}, "parameter 'pricing': '{d}/empty.csv' is empty (0 bytes)"),
    ({"pricing": "{d}/folder"}, "parameter 'pricing': '{d}/folder' is a folder, not a file"),
    ({"commitments": "{d}/empty.csv"}, "parameter 'commitments': '{d}/empty.csv' is empty (0 bytes)"),
    ({"planned_runs": "{d}/empty.csv"}, "parameter 'planned_runs': '{d}/empty.csv' is empty"),
    ({"output_dir": "{d}/empty.csv"}, "parameter 'output_dir': '{d}/empty.csv' is a file, not a folder"),
    ({"budget_usd": "nan"}, "parameter 'budget_usd' = 'nan' is not a finite number"),
    ({"budget_usd": float("inf")}, "parameter 'budget_usd' = inf is not a finite number"),
    ({"risk_lambda": float("nan")}, "parameter 'risk_lambda' = nan is not a finite number"),
])
def test_bad_files_and_numbers_name_the_parameter(bad_files, values, fragment):
    values = {k: v.format(d=bad_files) if isinstance(v, str) else v for k, v in values.items()}
    with pytest.raises(ReportParamsError) as exc:
        ReportParams.from_mapping(values)
    assert fragment.format(d=bad_files) in str(exc.value)


def test_a_misspelled_provider_is_refused_with_did_you_mean():
    from finops_forecast.report.analysis import load_report_usage

    with pytest.raises(ReportParamsError, match=r"parameter 'providers': no usage of provider 'oracel'.* The "
                                                r"usage has: aws, azure, gcp"):
        load_report_usage(ReportParams.from_mapping({"providers": "aws,oracel"}))
    with pytest.raises(ReportParamsError, match=r"Did you mean 'azure'"):
        load_report_usage(ReportParams.from_mapping({"providers": "azur"}))
    assert set(load_report_usage(ReportParams.from_mapping({"providers": "aws,gcp"}))["provider"]) == {"aws", "gcp"}


def test_render_report_refuses_an_output_dir_it_would_replace(tmp_path):
    from finops_forecast.report.render import render_report

    with pytest.raises(ReportParamsError, match=r"parameter 'output_dir' = '../../x'.*--output"):
        render_report({"output_dir": "../../x", "quarter": "2027Q1"}, output_root=tmp_path)
    assert not any(tmp_path.iterdir())
