"""Forecast accuracy on the real demand traces (Philly training cluster, Alibaba DLRM inference fleet).

Rolling-origin backtests, one-day steps, horizon 7 days on daily totals (the floors of issue 4), every model and
``auto`` (nested selection), components "total"; the long horizon (28 days on Philly, ``daily_h28``); plus the
hourly question: is modelling daily totals with an
analog-day hourly shape as accurate as modelling hours directly, and how much faster?

Writes bench/results/forecast_accuracy.json. Run: ``python bench/bench_forecast_accuracy.py``.
"""
from __future__ import annotations

import json
import time
import warnings
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import write_result  # noqa: E402


from finops_forecast.forecast import cross_validate
from finops_forecast.forecast.traces import load_trace

OUT = Path(__file__).resolve().parent / "results" / "forecast_accuracy.json"
WINDOWS = {"philly": 30, "alibaba-dlrm": 10}
MODELS = ("seasonal_naive", "naive", "ets", "theta", "sarimax", "prophet", "level_bursts", "auto")
#: the long horizon: four weeks ahead on Philly (the longest trace, 73 days), eight cutoffs two days apart; the
#: commitment plan's forecast runs for years, so how a model's error grows past the week matters
LONG = {"philly": (28, 8, 2)}
LONG_MODELS = ("seasonal_naive", "ets", "theta", "level_bursts", "auto")
COLS = ["mase", "rel_mae", "smape", "pinball", "coverage_80", "coverage_95"]


def _scores(bt):
    return {r["model"]: {c: round(float(r[c]), 4) for c in COLS}
            for r in bt.scores.to_dict("records")}


def main() -> dict:
    warnings.simplefilter("ignore")
    out = {"daily_h7": {}, "daily_h7_components": {}, "hourly_h168": {}, "daily_h28": {}, "floors": {}}
    for name, nw in WINDOWS.items():
        usage = load_trace(name)
        t0 = time.perf_counter()
        bt = cross_validate(usage, 7, freq="D", models=MODELS, n_windows=nw, step=1, level=(80, 95), seed=0,
                            progress=False)
        sel = bt.selection[bt.selection.model_asked == "auto"]["model"].value_counts().to_dict()
        out["daily_h7"][name] = {"windows": nw, "seconds": round(time.perf_counter() - t0, 1),
                                 "scores": _scores(bt), "auto_selected": sel}
        s = out["daily_h7"][name]["scores"]["auto"]
        out["floors"][name] = {"auto_mase": s["mase"], "auto_rel_mae_vs_seasonal_naive": s["rel_mae"],
                               "auto_coverage_80": s["coverage_80"],
                               "pass": bool(s["mase"] < 1 and s["rel_mae"] < 1
                                            and 0.72 <= s["coverage_80"] <= 0.88)}
        comp = {}
        for components in ("split", "hybrid"):
            b = cross_validate(usage, 7, freq="D", models=("seasonal_naive", "auto"), n_windows=nw, step=1,
                               level=(80, 95), seed=0, components=components, progress=False)
            comp[components] = _scores(b)["auto"]
        out["daily_h7_components"][name] = comp
        # hourly: daily totals + analog-day shape vs a model on the hours (season 24), 7-day horizon
        hourly = {}
        for resolution, models in (("daily", ("seasonal_naive", "ets", "auto")),
                                   ("hourly", ("seasonal_naive", "ets"))):
            t0 = time.perf_counter()
            b = cross_validate(usage, 168, freq="h", models=models, n_windows=min(nw, 7), step=24,
                               level=(80, 95), seed=0, resolution=resolution, progress=False, n_paths=300)
            hourly[resolution] = {"seconds": round(time.perf_counter() - t0, 1), "scores": _scores(b)}
        out["hourly_h168"][name] = hourly
        if name in LONG:
            h, n_long, step_long = LONG[name]
            t0 = time.perf_counter()
            b = cross_validate(usage, h, freq="D", models=LONG_MODELS, n_windows=n_long, step=step_long,
                               level=(80, 95), seed=0, progress=False)
            sel = b.selection[b.selection.model_asked == "auto"]["model"].value_counts().to_dict()
            out["daily_h28"][name] = {"windows": n_long, "step": step_long,
                                      "seconds": round(time.perf_counter() - t0, 1), "scores": _scores(b),
                                      "auto_selected": sel}
        print(f"{name}: auto MASE {s['mase']:.3f}, rel MAE {s['rel_mae']:.3f}, sMAPE {s['smape']:.2f}%, "
              f"80% coverage {s['coverage_80']:.3f}, 95% {s['coverage_95']:.3f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    write_result(OUT.stem, out)
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
