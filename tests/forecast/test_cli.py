"""The forecast commands through typer's runner."""
from __future__ import annotations

import numpy as np
import typer
from typer.testing import CliRunner

from finops_forecast.forecast.cli import register


def _app():
    app = typer.Typer()
    register(app)
    return app


def test_forecast_command_writes_tables(tmp_path, usage):
    src = tmp_path / "usage.csv"
    usage.to_csv(src, index=False)
    out, paths = tmp_path / "f.csv", tmp_path / "p.npy"
    res = CliRunner().invoke(_app(), ["forecast", str(src), "--horizon", "48", "--models", "seasonal_naive",
                                      "--n-paths", "20", "--out", str(out), "--paths-out", str(paths)])
    assert res.exit_code == 0, res.output
    assert np.load(paths).shape == (2, 20, 48)
    assert out.read_text().splitlines()[0].startswith("provider,region,instance_type,workload_class,ds")


def test_forecast_command_bad_model_is_a_clear_error(tmp_path, usage):
    src = tmp_path / "usage.csv"
    usage.to_csv(src, index=False)
    res = CliRunner().invoke(_app(), ["forecast", str(src), "--models", "arima"])
    assert res.exit_code == 2
    assert "Invalid model 'arima'" in res.output
