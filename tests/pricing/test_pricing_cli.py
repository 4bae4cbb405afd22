"""`pricing list|show|diff` through a local typer app (the lead wires register() into the main app)."""
from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from finops_forecast.pricing.cli import register


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()

    @app.callback()
    def main():  # a group, like the real app
        pass

    register(app)
    return app


def run(app, *args):
    return CliRunner().invoke(app, ["pricing", *args])


def test_show_lists_every_option_with_sources(app):
    res = run(app, "show", "p5.48xlarge", "--region", "us-east-1", "--as-of", "2025-06-01")
    assert res.exit_code == 0, res.output
    assert "20 options" in res.output
    assert "12.2900" in res.output  # 98.32 / 8 GPUs, before the 2025-06 cut
    assert "aws-ondemand-karpenter" in res.output and "ASSUMPTION" in res.output


def test_show_a_gpu_type_needs_a_region(app):
    res = run(app, "show", "H100")
    assert res.exit_code == 2 and "pass --region" in res.output
    res = run(app, "show", "H100", "--region", "eastus")
    assert res.exit_code == 0 and "Standard_ND96isr_H100_v5" in res.output and "12.2900" in res.output


def test_list_cheapest_first_with_user_file(app, sample_dir):
    res = run(app, "list", "--gpu", "H100", "--limit", "3", "--file", str(sample_dir / "user_rates_example.csv"))
    assert res.exit_code == 0, res.output
    assert "lambda" in res.output.splitlines()[4]  # 2.99 USD/GPU-h is the cheapest H100 on-demand line


def test_diff_between_days_shows_the_p5_cut(app):
    res = run(app, "diff", "--before", "2025-06-01", "--after", "2025-07-01", "--provider", "aws", "--model",
              "on_demand")
    assert res.exit_code == 0, res.output
    assert "p5.48xlarge" in res.output and "-44.0%" in res.output


def test_errors_name_the_fix(app):
    res = run(app, "show", "p5.48xlage")
    assert res.exit_code == 2 and "Did you mean" in res.output and "p5.48xlarge" in res.output
    res = run(app, "list", "--provider", "awz")
    assert res.exit_code == 2 and "Did you mean 'aws'" in res.output
    res = run(app, "diff")
    assert res.exit_code == 2 and "--before" in res.output
