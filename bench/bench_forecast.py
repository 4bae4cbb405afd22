"""Speed and memory of the forecasting stage (issue 4 benchmarks).

Cases (each run in its own subprocess so peak memory is per case):

- ``ets_daily_1000``: 1,000 daily series of 2 years, 90-day horizon, ETS, local engine. Floor: < 60 s.
- ``{ets,prophet}_hourly_100_{local,dask}``: 100 hourly series of 1 year, 92-day (2,208 h) horizon, default
  pipeline (daily totals + analog-day hourly shape, hybrid components), local engine vs a 2-worker dask
  LocalCluster (cluster start-up timed separately).

Prints medians and ratios, writes bench/results/forecast.json. Run: ``python bench/bench_forecast.py
[--repeats N]``. Peak memory is the max resident set of the case's process [MiB] and, for dask, of its largest
worker process.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "results" / "forecast.json"
CASES = ["ets_daily_1000", "ets_hourly_100_local", "ets_hourly_100_dask", "prophet_hourly_100_local",
         "prophet_hourly_100_dask"]


def _usage(n_series: int, periods: int, freq: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    ts = pd.date_range("2024-01-01", periods=periods, freq=freq, tz="UTC")
    t = np.arange(periods)
    step_h = 24 if freq == "D" else 1
    hours = t * step_h
    level = rng.uniform(50, 5000, n_series)[:, None]
    growth = rng.normal(0.0005, 0.0005, n_series)[:, None] * (hours / 24)
    y = level * (1 + growth + 0.1 * np.sin(2 * np.pi * hours / 168) + (0.15 * np.sin(2 * np.pi * hours / 24)
                                                                       if freq == "h" else 0))
    y = np.maximum(y + rng.normal(0, 1, y.shape) * 0.05 * level, 0) * step_h
    return pd.DataFrame({
        "ts": np.tile(ts.to_numpy(), n_series),
        "provider": "aws", "region": np.repeat([f"r{i // 3}" for i in range(n_series)], periods),
        "instance_type": "p5.48xlarge",
        "workload_class": np.repeat([("training", "inference", "experimentation")[i % 3]
                                     for i in range(n_series)], periods),
        "team": "t", "gpu_hours": y.reshape(-1)})


def run_case(case: str, repeats: int) -> dict:
    warnings.simplefilter("ignore")
    from finops_forecast.forecast import forecast

    if case == "ets_daily_1000":
        usage = _usage(1000, 730, "D")
        kw = dict(horizon=90, freq="D", models="ets", components="total")
    else:
        model = case.split("_")[0]
        usage = _usage(100, 8760, "h")
        kw = dict(horizon=2208, freq="h", models=model)
    extra, startup = {}, None
    client = cluster = None
    if case.endswith("_dask"):
        from dask.distributed import Client, LocalCluster

        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
        startup = time.perf_counter() - t0
        extra = dict(engine="dask", address=client)
    times, r = [], None
    for _ in range(repeats):
        r = None  # free the previous run's paths: peak memory is that of one run
        t0 = time.perf_counter()
        r = forecast(usage, n_paths=200, seed=0, progress=False, **kw, **extra)
        times.append(time.perf_counter() - t0)
    worker_rss = None
    if client is not None:
        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        worker_rss = max(rss.values()) / 1024
        client.close()
        cluster.close()
    return {"case": case, "seconds": times, "median_s": statistics.median(times),
            "cluster_startup_s": startup, "n_series": int(r.paths.shape[0]), "paths_shape": list(r.paths.shape),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_worker_rss_mib": worker_rss}


def main() -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--case")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", nargs="*", default=CASES)
    a = ap.parse_args()
    if a.case:
        print(json.dumps(run_case(a.case, a.repeats)))
        return {}
    results = {}
    for case in a.only:
        proc = subprocess.run([sys.executable, __file__, "--case", case, "--repeats", str(a.repeats)],
                              capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS="ignore"))
        if proc.returncode:
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"case {case} failed")
        results[case] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = results[case]
        print(f"{case:28s} median {r['median_s']:7.2f} s  peak RSS {r['peak_rss_mib']:7.0f} MiB"
              + (f"  worker {r['peak_worker_rss_mib']:.0f} MiB  cluster start {r['cluster_startup_s']:.1f} s"
                 if r["peak_worker_rss_mib"] else ""))
    ratios = {}
    for model in ("ets", "prophet"):
        lo, da = results.get(f"{model}_hourly_100_local"), results.get(f"{model}_hourly_100_dask")
        if lo and da:
            ratios[f"{model}_hourly_100_local_over_dask"] = round(lo["median_s"] / da["median_s"], 2)
            print(f"{model}: local / dask (2 workers) = {ratios[f'{model}_hourly_100_local_over_dask']:.2f}")
    if "ets_daily_1000" in results:
        ok = results["ets_daily_1000"]["median_s"] < 60
        print(f"ets_daily_1000 floor < 60 s: {'PASS' if ok else 'FAIL'}")
        ratios["ets_daily_1000_floor_60s_pass"] = ok
    out = {"cpus": os.cpu_count(), "repeats": a.repeats, "cases": results, "ratios": ratios}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(OUT.read_text()) if OUT.exists() else {}
    if set(a.only) != set(CASES):  # a partial run updates its cases only
        old.setdefault("cases", {}).update(results)
        old["ratios"] = {**old.get("ratios", {}), **ratios}
        out = {**old, "cpus": os.cpu_count(), "repeats": a.repeats}
    ets = out.get("cases", {}).get("ets_daily_1000", {}).get("median_s")
    write_result(OUT.stem, out, goals={"ets daily 1000 series median [s]": (ets, 60.0, "s")} if ets else None)
    return out


if __name__ == "__main__":
    main()
