"""Benchmark of the quarterly report: :func:`finops_forecast.report.render_report` on the bundled sample.

Renders the sample's next-quarter report (papermill + nbconvert) into a temporary folder ``--repeat`` times
(default 3) and prints the median and the spread (max / median); writes ``bench/results/report.json``.

Run: ``python bench/bench_report.py [--repeat 3]``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results" / "report.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="renders (median time)")
    args = ap.parse_args(argv)

    from finops_forecast.report import ReportParams, render_report

    times, files = [], []
    for i in range(max(args.repeat, 1)):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res = render_report(ReportParams(), output_root=Path(tmp))
            times.append(time.perf_counter() - t0)
            files = sorted(Path(f).name for f in res.files)
        print(f"render {i + 1}: {times[-1]:.1f} s", flush=True)
    med = statistics.median(times)
    out = {"benchmark": "report", "case": "render_report(ReportParams()) on the bundled sample",
           "seconds_median": med, "seconds": times, "repeats": len(times),
           "ratio_max_over_median": max(times) / med, "files": files,
           "python": sys.version.split()[0], "machine": platform.machine(), "cpus": os.cpu_count()}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2))
    print(f"report: median {med:.1f} s over {len(times)} renders (max / median {max(times) / med:.2f}); "
          f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
