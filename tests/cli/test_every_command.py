"""Every command of the CLI, fed everyday mistakes, answers with one line and exit code 2, never a traceback.

The commands are enumerated from the typer app (the stages' commands included), so a new command without bad-input
cases here fails :func:`test_every_command_has_bad_input_cases`. The invocations run in ONE real subprocess (a fresh
interpreter, as a user runs the tool) through typer's CliRunner, which records the exception a command let through:
any exception other than the exit is a traceback the user would see. A few invocations also run as the real
``finops-forecast`` process to check stderr itself.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: a folder even root cannot write into (a read-only kernel file system), for the read-only output cases
READ_ONLY = "/sys"

# (command words, arguments) -> every one must exit 2 with one "error:" line (or typer's usage error)
# {empty} is a 0-byte file, {folder} an existing folder, {file} an existing non-empty text file, {missing} a path
# that does not exist, {usage} a small valid usage table, {ro} a read-only folder.
CASES = [
    # ingest
    ("ingest", ["{missing}"]),
    ("ingest", ["{usage}", "--kind", "bogus"]),
    ("ingest", ["{usage}", "--out", "{missing}/out.csv"]),
    ("ingest", ["{usage}", "--out", "{folder}"]),
    ("ingest", ["{usage}", "--out", "{ro}/out.csv"]),
    ("ingest", ["{usage}", "--rules", "{empty}"]),
    # report (all fail before papermill starts)
    ("report", ["--quarter", "2027Q5"]),
    ("report", ["--pricing", "{empty}"]),
    ("report", ["--pricing", "{folder}"]),
    ("report", ["--pricing", "{missing}"]),
    ("report", ["--usage", "{missing}"]),
    ("report", ["--params", "{missing}"]),
    ("report", ["--params", "{params_typo}"]),
    ("report", ["--params", "{params_nan}"]),
    ("report", ["--params", "{params_output_dir}"]),
    ("report", ["--params", "{params_empty_commitments}"]),
    ("report", ["--quarter", "2027Q1", "--output", "{file}"]),
    ("report", ["--quarter", "2027Q1", "--output", "{ro}/reports"]),
    # pricing
    ("pricing list", ["--as-of", "2026-02-30"]),
    ("pricing list", ["--file", "{empty}"]),
    ("pricing list", ["--file", "{folder}"]),
    ("pricing list", ["--file", "{missing}"]),
    ("pricing list", ["--model", "on_demnd"]),
    ("pricing list", ["--provider", "oracel"]),
    ("pricing show", ["p5.48xlarge", "--as-of", "2026-02-30"]),
    ("pricing show", ["p5.48xlarge", "--file", "{empty}"]),
    ("pricing show", ["p5.48xlarg"]),
    ("pricing diff", ["--before", "2026-02-30"]),
    ("pricing diff", ["--before", "2025-01-01", "--after", "2026-13-01"]),
    ("pricing diff", ["--file", "{folder}"]),
    ("pricing diff", ["--before", "2025-01-01", "--model", "bogus"]),
    # forecast, forecast-cv
    ("forecast", ["{missing}"]),
    ("forecast", ["{empty}"]),
    ("forecast", ["{folder}"]),
    ("forecast", ["--trace", "bogus"]),
    ("forecast", ["{usage}", "--freq", "x"]),
    ("forecast", ["{usage}", "--horizon", "-5"]),
    ("forecast", ["{usage}", "--planned", "{empty}"]),
    ("forecast", ["{usage}", "--out", "{ro}/f.csv"]),
    ("forecast", ["{usage}", "--paths-out", "{missing}/p.npy"]),
    ("forecast-cv", ["{missing}"]),
    ("forecast-cv", ["{usage}", "--freq", "x"]),
    ("forecast-cv", ["{usage}", "--out", "{folder}"]),
    # optimize (all fail before the forecast runs)
    ("optimize", ["{usage}", "--lambda", "nan"]),
    ("optimize", ["{usage}", "--lambda", "inf"]),
    ("optimize", ["{usage}", "--lambda", "-1"]),
    ("optimize", ["{usage}", "--budget", "nan"]),
    ("optimize", ["{usage}", "--budget", "inf"]),
    ("optimize", ["{usage}", "--budget", "-1"]),
    ("optimize", ["{usage}", "--alpha", "nan"]),
    ("optimize", ["{usage}", "--spot-cap", "nan"]),
    ("optimize", ["{usage}", "--terms", "twelve"]),
    ("optimize", ["{usage}", "--min-utilization-p10", "0.3", "--recourse"]),
    ("optimize", ["{usage}", "--payment", "no_upfrnt"]),
    ("optimize", ["{usage}", "--pricing", "{empty}"]),
    ("optimize", ["{usage}", "--pricing", "{folder}"]),
    ("optimize", ["{usage}", "--inventory", "{empty}"]),
    ("optimize", ["{usage}", "--inventory", "{folder}"]),
    ("optimize", ["{usage}", "--inventory", "{missing}"]),
    ("optimize", ["{usage}", "--inventory", "{huge_inventory}"]),
    ("optimize", ["{usage}", "--json", "{ro}/plan.json"]),
    ("optimize", ["{usage}", "--json", "{missing}/plan.json"]),
    ("optimize", ["{usage}", "--json", "{folder}"]),
    ("optimize", ["{usage}", "--csv", "{folder}"]),
    ("optimize", ["{missing}"]),
    ("optimize", ["{empty}"]),
    # whatif
    ("whatif", ["{usage}"]),
    ("whatif", ["{usage}", "--buy", "aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront"]),
    ("whatif", ["{usage}", "--buy", "aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=-3"]),
    ("whatif", ["{usage}", "--buy", "aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=nan"]),
    ("whatif", ["{missing}", "--buy", "aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=4"]),
    ("whatif", ["{usage}", "--buy", "aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=4", "--pricing",
                "{empty}"]),
    ("whatif", ["{usage}", "--buy", "aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=4", "--inventory",
                "{folder}"]),
    ("whatif", ["{usage}", "--buy", "aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=4",
                "--cost-of-capital", "nan"]),
    # backtest
    ("backtest", ["{missing}"]),
    ("backtest", ["{folder}"]),
    ("backtest", ["{usage}", "--lookback", "2026-02-30"]),
    ("backtest", ["{usage}", "--spot-cap", "nan"]),
    ("backtest", ["{usage}", "--policies", "forcast"]),
    ("backtest", ["{usage}", "--pricing", "{empty}"]),
    ("backtest", ["{usage}", "--json", "{ro}/b.json"]),
    ("backtest", ["{usage}", "--json", "{folder}"]),
    ("backtest", ["{usage}", "--price-outlook", "histroy"]),
    ("backtest", ["{usage}", "--price-outlook", "{empty}"]),
    ("backtest", ["{usage}", "--price-outlook", "{folder}"]),
    ("backtest", ["{usage}", "--price-outlook", "{file}"]),
    # commitments
    ("commitments", ["{missing}"]),
    ("commitments", ["{empty}"]),
    ("commitments", ["{folder}"]),
    ("commitments", ["{usage}", "--period", "2026-13"]),
    ("commitments", ["{usage}", "--json", "{ro}/c.json"]),
    ("commitments", ["{usage}", "--json", "{folder}"]),
    # showback
    ("showback", ["--period", "2026-13"]),
    ("showback", ["--period", "2026-02-30"]),
    ("showback", ["--period", "2026-10", "--usage", "{missing}"]),
    ("showback", ["--period", "2026-10", "--pricing", "{empty}"]),
    ("showback", ["--period", "2026-10", "--idle-min-hours", "nan"]),
    ("showback", ["--period", "2026-10", "--idle-threshold-pct", "inf"]),
    ("showback", ["--period", "2026-10", "--out", "{file}"]),
    ("showback", ["--period", "2026-10", "--out", "{ro}/tables"]),
]

_RUNNER = r"""
import json, sys, traceback
import typer
from typer.testing import CliRunner
from finops_forecast.cli import app

runner = CliRunner()
out = []
for words, args in json.loads(open(sys.argv[1]).read()):
    r = runner.invoke(app, words.split() + args, env={"COLUMNS": "200", "NO_COLOR": "1"})
    exc = r.exception
    unexpected = exc is not None and not isinstance(exc, SystemExit)
    out.append(dict(words=words, args=args, code=r.exit_code, stdout=r.stdout, stderr=r.stderr,
                    exception=None if not unexpected else "".join(traceback.format_exception(exc))[-1500:]))
print(json.dumps(out))
"""


def _fill(args: list[str], files: dict[str, str]) -> list[str]:
    return [a.format(**files) for a in args]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, str]:
    """The bad (and one good) inputs the cases refer to."""
    d = tmp_path_factory.mktemp("bad_inputs")
    (d / "empty.csv").write_bytes(b"")
    (d / "folder").mkdir()
    (d / "file.txt").write_text("not a folder\n")
    ts = [f"2026-10-01 {h:02d}:00:00" for h in range(24)]
    (d / "usage.csv").write_text("ts,provider,region,instance_type,workload_class,team,gpu_hours\n"
                                 + "".join(f"{t},aws,us-east-1,p5.48xlarge,training,r,16\n" for t in ts))
    (d / "typo.yaml").write_text("quater: 2027Q1\n")
    (d / "nan.yaml").write_text("budget_usd: .nan\n")
    (d / "output_dir.yaml").write_text("output_dir: ../../x\n")
    (d / "empty_commitments.yaml").write_text(f"commitments: {d / 'empty.csv'}\n")
    (d / "huge_inventory.csv").write_text("commitment_id,family,provider,region,instance_type,term_months,"
                                          "payment_option,quantity,expires\n"
                                          "ri-1,aws_standard_ri,aws,us-east-1,p5.48xlarge,12,no_upfront,1e9,"
                                          "2027-06-30\n")
    return dict(empty=str(d / "empty.csv"), folder=str(d / "folder"), file=str(d / "file.txt"),
                missing=str(d / "no_such_thing"), usage=str(d / "usage.csv"), ro=READ_ONLY,
                params_typo=str(d / "typo.yaml"), params_nan=str(d / "nan.yaml"),
                params_output_dir=str(d / "output_dir.yaml"),
                params_empty_commitments=str(d / "empty_commitments.yaml"),
                huge_inventory=str(d / "huge_inventory.csv"))


def _env() -> dict[str, str]:
    root = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest.fixture(scope="module")
def results(files, tmp_path_factory) -> list[dict]:
    """Run every case in one fresh interpreter; one result per case, in order."""
    spec = tmp_path_factory.mktemp("cases") / "cases.json"
    spec.write_text(json.dumps([(w, _fill(a, files)) for w, a in CASES]))
    proc = subprocess.run([sys.executable, "-c", _RUNNER, str(spec)], capture_output=True, text=True,
                          timeout=300, env=_env(), cwd=str(tmp_path_factory.mktemp("cwd")))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def _commands() -> list[str]:
    import typer

    from finops_forecast.cli import app

    found = []

    def walk(cmd, words=()):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, (*words, name))
        else:
            found.append(" ".join(words))

    walk(typer.main.get_command(app))
    return found


def test_every_command_has_bad_input_cases():
    commands = _commands()
    assert {"ingest", "report", "forecast", "optimize", "backtest", "showback", "pricing list"} <= set(commands)
    missing = [c for c in commands if c not in {w for w, _ in CASES}]
    assert not missing, f"commands without bad-input cases in CASES: {missing}"


def _problem(r: dict) -> str | None:
    """What is wrong with one result, or None."""
    if r["exception"]:
        return "traceback: " + r["exception"].strip().splitlines()[-1]
    text = r["stdout"] + r["stderr"]
    if "Traceback" in text:
        return "Traceback in the output"
    if r["code"] != 2:
        return f"exit code {r['code']}"
    lines = [ln for ln in r["stderr"].splitlines() if ln.strip()]
    if "Usage:" in r["stderr"]:
        return None  # typer's own usage error (exit 2, its boxed message)
    if len(lines) != 1 or not lines[0].startswith("error: "):
        return f"not one 'error:' line on stderr: {lines}"
    return None


@pytest.mark.slow
def test_every_command_rejects_bad_input_in_one_line(results):
    bad = [f"{r['words']} {' '.join(r['args'])}: {_problem(r)}; stderr: {r['stderr'][-200:]!r}"
           for r in results if _problem(r)]
    assert not bad, f"{len(bad)} of {len(results)} invocations:\n" + "\n".join(bad)


@pytest.mark.slow
def test_the_messages_name_the_input(results, files):
    """Spot checks that the one line names the thing at fault and the fix."""
    by = {(r["words"], tuple(r["args"])): r["stderr"] for r in results}

    def err(words, *args):
        return " ".join(by[(words, tuple(_fill(list(args), files)))].split())

    assert "--lambda" in err("optimize", "{usage}", "--lambda", "nan")
    assert "--price-outlook" in err("backtest", "{usage}", "--price-outlook", "histroy")
    assert "missing column" in err("backtest", "{usage}", "--price-outlook", "{file}")
    assert "--budget" in err("optimize", "{usage}", "--budget", "inf")
    assert "--no-recourse" in err("optimize", "{usage}", "--min-utilization-p10", "0.3", "--recourse")
    assert "2026-02-30" in err("pricing list", "--as-of", "2026-02-30")
    assert files["empty"] in err("pricing list", "--file", "{empty}") and "empty" in err("pricing list", "--file",
                                                                                        "{empty}")
    assert "'pricing'" in err("report", "--pricing", "{empty}")
    assert "'commitments'" in err("report", "--params", "{params_empty_commitments}")
    assert "output_dir" in err("report", "--params", "{params_output_dir}")
    assert "quantity" in err("optimize", "{usage}", "--inventory", "{huge_inventory}")
    assert "Did you mean 'on_demand'" in err("pricing list", "--model", "on_demnd")
    assert "--json" in err("optimize", "{usage}", "--json", "{ro}/plan.json")


@pytest.mark.slow
@pytest.mark.parametrize("args", [["optimize", "{usage}", "--budget", "nan"],
                                  ["pricing", "list", "--file", "{empty}"],
                                  ["report", "--pricing", "{folder}"]])
def test_the_real_command_prints_no_traceback(files, args):
    proc = subprocess.run([sys.executable, "-m", "finops_forecast.cli", *_fill(args, files)], capture_output=True,
                          text=True, timeout=120, env=_env())
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len([ln for ln in proc.stderr.splitlines() if ln.strip()]) == 1, proc.stderr
