"""What every benchmark writes: its numbers, the goals they are held to, and the commit they measured.

A result without the commit it measured cannot be told from a stale one, so :func:`write_result` adds
``git rev-parse HEAD`` (and whether the tree had uncommitted changes) to every ``bench/results/<name>.json``, with
the date, Python, machine and core count. ``goals`` are ``{name: (measured, goal, unit)}`` with "lower is better"
goals (seconds, MB); each is written with its ratio ``measured / goal`` (below 1 meets it), which
``bench/run_all.py`` prints one line per goal.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
REPO = Path(__file__).resolve().parents[1]


def git_commit() -> dict:
    """``{"commit": sha or None, "dirty": bool or None}`` of the checkout the benchmark ran from."""
    def run(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
    head = run("rev-parse", "HEAD")
    if head is None or head.returncode:
        return {"commit": None, "dirty": None}
    # the results folder is not code: results written earlier in the same `make bench` must not mark the later
    # ones as measured on a dirty tree
    status = run("status", "--porcelain", "--untracked-files=no", "--", "finops_forecast", "bench", "pricing",
                 "notebooks", "pyproject.toml", ":(exclude)bench/results")
    return {"commit": head.stdout.strip(), "dirty": bool(status and status.stdout.strip())}


def goal_rows(goals: dict) -> list[dict]:
    """``{name: (measured, goal, unit)}`` -> rows with ``ratio = measured / goal`` and ``met``."""
    rows = []
    for name, (value, goal, unit) in goals.items():
        ratio = None if value is None or not goal else float(value) / float(goal)
        rows.append({"name": name, "measured": value, "goal": goal, "unit": unit, "ratio": ratio,
                     "met": ratio is not None and ratio < 1.0})
    return rows


def write_result(name: str, data: dict, goals: dict | None = None) -> Path:
    """Write ``bench/results/<name>.json``: ``data`` plus provenance and goals; returns the path.

    The file is written to a temporary name and renamed into place.
    """
    out = dict(data)
    out.update(git_commit())
    out.update(measured_at=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
               python=sys.version.split()[0], machine=platform.machine(), cpus=os.cpu_count())
    if goals:
        out["goals"] = goal_rows(goals)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(out, indent=1, default=str) + "\n")
    os.replace(tmp, path)
    return path


def summary_lines(path: Path) -> list[str]:
    """One line per goal of a result file (for ``run_all``): name, measured / goal, ratio, commit."""
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError):
        return [f"{path.stem}: unreadable result"]
    commit = (d.get("commit") or "no commit")[:10] + (" (dirty tree)" if d.get("dirty") else "")
    lines = []
    for g in d.get("goals", []):
        ratio = "n/a" if g["ratio"] is None else f"{g['ratio']:.2f}"
        lines.append(f"{path.stem:>22} {g['name']:<34} {g['measured']!s:>10} {g['unit']:<4} / goal "
                     f"{g['goal']!s:>6} {g['unit']:<4} ratio {ratio:>5} {'met' if g['met'] else 'NOT MET'}  "
                     f"@ {commit}")
    return lines or [f"{path.stem:>22} (no goal)  @ {commit}"]
