"""Run every benchmark of the project (``bench/bench_*.py``), each in its own process.

    python bench/run_all.py            # or: make bench

Each script prints its medians and ratios and writes ``bench/results/<name>.json``; this runner prints a
summary and exits non-zero if any script failed.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: runs beside the default one of each script
EXTRA = [("bench_ingest.py", ["--realistic"])]


def main() -> int:
    runs = [(script, []) for script in sorted(HERE.glob("bench_*.py"))]
    runs += [(HERE / script, args) for script, args in EXTRA]
    failed = []
    for script, args in runs:
        label = " ".join([script.name, *args])
        print(f"== {label}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script), *args], cwd=HERE.parent)
        print(f"== {label}: exit {proc.returncode} in {time.perf_counter() - t0:.1f} s", flush=True)
        if proc.returncode:
            failed.append(label)
    scripts = runs
    sys.path.insert(0, str(HERE))
    from _results import summary_lines

    print(f"{len(scripts) - len(failed)} of {len(scripts)} benchmarks ran; results in {HERE / 'results'}:")
    for path in sorted((HERE / "results").glob("*.json")):
        for line in summary_lines(path):
            print(line)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
