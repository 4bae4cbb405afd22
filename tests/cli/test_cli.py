"""The finops-forecast command line, run as a user runs it (a real subprocess for the report)."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
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
    # the console's width depends on where the test runs (a terminal, or a pytest-xdist worker): check the
    # table's title on screen and the pools in the file written
    assert "Reconciliation of focus input" in result.output
    assert "Standard_ND96isr_H100_v5" in set(pd.read_parquet(out)["instance_type"])


def test_ingest_out_on_a_full_disk_keeps_the_previous_file(focus_sample, tmp_path):
    """A write that fails midway (RLIMIT_FSIZE: writes past the limit fail, as on a full disk) leaves the
    previous --out file byte-identical and no temporary file beside it."""
    from tests.conftest import file_size_limit

    out = tmp_path / "usage.csv"
    out.write_text("the previous good usage table\n")
    with file_size_limit(256):
        result = runner.invoke(app, ["ingest", str(focus_sample), "--out", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert str(out) in result.output and "previous file, if any, is unchanged" in result.output
    assert out.read_text() == "the previous good usage table\n"
    assert [p.name for p in tmp_path.iterdir()] == ["usage.csv"]


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
    params.write_text("n_paths: 20\nquarters: 4\nhistory_days: 30\ntrack_record_weeks: 2\n")
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


@pytest.mark.slow
@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_report_interrupted_exits_cleanly_and_keeps_the_last_good_report(tmp_path, sig, code):
    """Ctrl-C or SIGTERM while the notebook runs: exit 130 / 143, one line and no traceback, the temporary
    folder removed, the last good report untouched and the notebook's kernel stopped."""
    good = tmp_path / "2027Q1" / "report.html"
    good.parent.mkdir()
    good.write_text("<p>the last good report</p>")
    params = tmp_path / "report.yaml"
    params.write_text("n_paths: 20\nquarters: 4\nhistory_days: 30\ntrack_record_weeks: 0\n")
    proc = subprocess.Popen([sys.executable, "-m", "finops_forecast.cli", "report", "--sample", "--output",
                             str(tmp_path), "--quarter", "2027Q1", "--params", str(params)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (list(tmp_path.glob(".tmp-*")) and _children(proc.pid)):  # papermill started the kernel
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    time.sleep(3.0)  # the kernel is running the notebook's cells
    kernels = _children(proc.pid)
    assert kernels and proc.poll() is None
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err + out
    assert "Traceback" not in err + out and "interrupted" in err, err
    assert not list(tmp_path.glob(".tmp-*")) and not list(tmp_path.glob(".old-*"))
    assert good.read_text() == "<p>the last good report</p>"
    assert sorted(p.name for p in good.parent.iterdir()) == ["report.html"]
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{k}").exists() for k in kernels) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(Path(f"/proc/{k}").exists() for k in kernels), "the notebook's kernel was left running"


def _children(pid: int) -> list[int]:
    """PIDs of the direct child processes of ``pid`` (Linux /proc)."""
    kids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(d.name))
    return kids
