"""The finops-forecast command line, run as a user runs it (a real subprocess for the report)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from finops_forecast.cli import app

runner = CliRunner()


def test_ingest_real_focus_sample(focus_sample):
    result = runner.invoke(app, ["ingest", str(focus_sample)])
    assert result.exit_code == 0, result.output
    assert "balanced (in = out + rejected): True" in result.output
    assert "g5.4xlarge" in result.output and "not a usage charge" in result.output


def test_ingest_sample_as_focus(tmp_path):
    out = tmp_path / "usage.parquet"
    result = runner.invoke(app, ["ingest", "--sample", "--out", str(out)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert out.exists() and "Standard_ND96isr_H100_v5" in result.output


def test_bad_input_is_one_clear_line(tmp_path):
    path = tmp_path / "usage.csv"
    path.write_text("ts,provider,region,instance_type,workload_class,team,gpu_hours\n"
                    "2026-10-01 00:00:00,aws,us-east-1,p5.48xlarge,training,r,-8\n")
    result = runner.invoke(app, ["ingest", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "row 1" in result.output and "gpu_hours" in result.output and "negative" in result.output


def test_report_rejects_a_bad_quarter():
    result = runner.invoke(app, ["report", "--quarter", "2027Q5"])
    assert result.exit_code == 2 and "2027Q5" in result.output and "Traceback" not in result.output


@pytest.mark.slow
def test_report_command_end_to_end(tmp_path):
    params = tmp_path / "report.yaml"
    params.write_text("n_paths: 20\nquarters: 4\nhistory_days: 30\n")
    proc = subprocess.run([sys.executable, "-m", "finops_forecast.cli", "report", "--sample", "--output",
                           str(tmp_path), "--quarter", "2027Q1", "--params", str(params)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert (tmp_path / "2027Q1" / "report.html").exists()


@pytest.mark.slow
def test_optimize_command_integer_plan_with_clean_stdout(tmp_path):
    """A real subprocess: whole reserved instances with the proven gap in the notes, and no solver banner on
    stdout (HiGHS prints one per process unless silenced)."""
    out = tmp_path / "plan.json"
    proc = subprocess.run([sys.executable, "-m", "finops_forecast.cli", "optimize", "--sample", "--n-paths", "10",
                           "--quarters", "2", "--horizon", "720", "--integer-units", "--json", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "Running HiGHS" not in proc.stdout and "Copyright" not in proc.stdout
    assert "integer reserved-instance counts" in " ".join(proc.stdout.split())
    assert out.exists()
