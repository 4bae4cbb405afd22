"""Ingestion benchmark: a generated 10-million-row FOCUS Parquet export read into the usage table.

The export is the bundled sample fleet rendered as FOCUS (``usage_to_focus``), replicated across resources so
that it holds 10 million GPU rows, plus non-GPU rows (storage) that the reader must reject with a reason.
Each repetition runs ``read_focus`` in a fresh process so peak memory (max RSS) is measured per read.

Floors (issue 8): median < 15 s and peak RSS < 2 GB on the 2-core machine. Writes ``bench/results/ingest.json``.

    python bench/bench_ingest.py [--rows 10000000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time
from finops_forecast.usage.readers import read_focus
t0 = time.perf_counter()
usage, rec = read_focus(sys.argv[1])
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rows_in": int(rec.totals.loc["input", "rows"]), "usage_rows": len(usage),
                  "rejected_rows": int(rec.totals.loc["rejected", "rows"]), "balanced": rec.is_balanced()}))
"""


def make_export(path: Path, rows: int) -> dict:
    """Write a FOCUS Parquet export of about ``rows`` rows with DuckDB (bounded memory)."""
    import duckdb

    from finops_forecast.usage.sample import load_sample, usage_to_focus

    focus = usage_to_focus(load_sample(), prices={})
    n_gpu = len(focus)
    copies = max(1, round(rows * 0.99 / n_gpu))
    non_gpu = max(0, rows - copies * n_gpu)
    con = duckdb.connect()
    con.register("f", focus)
    con.execute(f"""
        COPY (
          SELECT * REPLACE (ResourceId || '#' || CAST(k AS VARCHAR) AS ResourceId) FROM f, range({copies}) t(k)
          UNION ALL
          SELECT * REPLACE ('Storage' AS ServiceCategory, 'GB-Months' AS ConsumedUnit, NULL AS x_InstanceType,
                            'S3 standard storage' AS ChargeDescription, 'bucket-' || CAST(k AS VARCHAR) AS ResourceId)
          FROM (SELECT * FROM f LIMIT 1), range({non_gpu}) t(k)
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 200000)""")
    con.close()
    return {"gpu_rows": copies * n_gpu, "non_gpu_rows": non_gpu, "file_mb": path.stat().st_size / 1e6}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "focus_export.parquet"
        t0 = time.perf_counter()
        info = make_export(path, args.rows)
        info["generate_seconds"] = time.perf_counter() - t0
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True,
                                 check=True).stdout
            runs.append(json.loads(out.strip().splitlines()[-1]))
    med = statistics.median(r["seconds"] for r in runs)
    peak = max(r["peak_rss_mb"] for r in runs)
    result = {"benchmark": "read_focus 10M-row FOCUS Parquet", "rows": runs[0]["rows_in"], **info,
              "median_seconds": med, "seconds": [r["seconds"] for r in runs], "peak_rss_mb": peak,
              "usage_rows": runs[0]["usage_rows"], "rejected_rows": runs[0]["rejected_rows"],
              "balanced": all(r["balanced"] for r in runs),
              "floor_seconds": 15.0, "floor_peak_rss_mb": 2048.0,
              "rows_per_second": runs[0]["rows_in"] / med,
              "meets_floor": med < 15.0 and peak < 2048.0}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "ingest.json").write_text(json.dumps(result, indent=2))
    print(f"read_focus: {result['rows']:,} rows ({info['file_mb']:.0f} MB parquet) in median {med:.1f} s "
          f"({result['rows_per_second'] / 1e6:.2f} M rows/s), peak RSS {peak:.0f} MB; floor 15 s / 2048 MB: "
          f"{'met' if result['meets_floor'] else 'NOT met'}; balanced: {result['balanced']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
