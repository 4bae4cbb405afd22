"""Property tests of the usage readers on generated files (FOCUS exports, job records, usage tables).

Rows are built from real-looking values (column names and values of the FinOps Foundation FOCUS 1.0 sample,
instance types of the bundled registry), then garbled: columns dropped, cells replaced by text, NULLs,
overflowing numbers or out-of-range timestamps, timestamps shifted off the hour, written as CSV in several
encodings or as Parquet. Every file goes through every reader. The properties:

- nothing but a :class:`FinopsError` escapes, and its message names the file;
- an accepted file conserves rows, GPU-hours and cost: ``input == output + rejected``, and the input totals
  equal totals recomputed here from the generated cells, independently of the readers.
"""
from __future__ import annotations

import json
import math
from decimal import Decimal, InvalidOperation

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops_forecast.errors import FinopsError
from finops_forecast.usage.instances import instance_registry
from finops_forecast.usage.readers import read_any, read_focus, read_jobs, read_usage

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])
NULLS = {"", "NULL", "null", "None", "NaN", "nan"}
GARBAGE = ["", "NULL", "NaN", "abc", "1e400", "-5", "inf", "2024-13-45 00:00:00", "1970-01-01 00:00:00",
           "2300-01-01 00:00:00", "Zürich", "0"]
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "utf-16"]
# (ProviderName, RegionId, ChargeDescription, instance type or None): descriptions as in the real sample
FOCUS_POOLS = [
    ("AWS", "us-east-1", "$1.624 per On Demand Linux g5.4xlarge Instance Hour", "g5.4xlarge"),
    ("AWS", "us-east-1", "$55.04 per On Demand Linux p5.48xlarge Instance Hour", "p5.48xlarge"),
    ("Microsoft", "eastus", "Standard_ND96isr_H100_v5 VM", "Standard_ND96isr_H100_v5"),
    ("Google Cloud", "us-central1", "a3-highgpu-8g running in Americas", "a3-highgpu-8g"),
    ("AWS", "us-west-2", "$0.40 per million Amazon SQS standard requests in Tier1 in US West (Oregon)", None),
    ("AWS", "us-west-2", "$0.0104 per On Demand Linux t3.micro Instance Hour", "t3.micro"),
]
TAGS = [None, '{"team": "research", "workload": "training"}', '{"business_unit": "PeoriaData"}',
        '{"workload_class": "inference"}', "not json"]
JOB_POOLS = [("aws", "us-east-1", "p5.48xlarge"), ("gcp", "us-central1", "a3-highgpu-8g"),
             ("azure", "eastus", "Standard_ND96isr_H100_v5"), ("aws", "us-east-1", "p9.48xlarge")]
BASE = pd.Timestamp("2024-09-01 00:00:00")


def _gpus_per_instance() -> dict[tuple[str, str], float]:
    reg = instance_registry()
    return {(p, i): float(g) for p, i, g in zip(reg["provider"], reg["instance_type"], reg["gpu_count"])}


GPUS = _gpus_per_instance()
PROVIDERS = {"aws": "aws", "microsoft": "azure", "google cloud": "gcp", "oracle": "oracle"}


# ----------------------------------------------------------------------------------- strategies
@st.composite
def focus_rows(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 12))
    rows = []
    for _ in range(n):
        provider, region, desc, _inst = draw(st.sampled_from(FOCUS_POOLS))
        start = BASE + pd.Timedelta(hours=draw(st.integers(0, 24 * 60)))
        hours = draw(st.sampled_from([1, 1, 1, 24, 720]))
        money = st.decimals(-10, 1000, places=6, allow_nan=False, allow_infinity=False)
        rows.append({
            "BillingPeriodStart": "2024-09-01 00:00:00", "ProviderName": provider, "RegionId": region,
            "ChargeCategory": draw(st.sampled_from(["Usage", "Usage", "Usage", "Purchase", "Tax"])),
            "ChargePeriodStart": f"{start:%Y-%m-%d %H:%M:%S}",
            "ChargePeriodEnd": f"{start + pd.Timedelta(hours=hours):%Y-%m-%d %H:%M:%S}",
            "ConsumedQuantity": str(draw(st.decimals(0, 64, places=4))),
            "ConsumedUnit": draw(st.sampled_from(["Hours", "Hours", "Requests"])),
            "BilledCost": str(draw(money)), "EffectiveCost": str(draw(money)), "ListCost": str(draw(money)),
            "ChargeDescription": desc, "ResourceId": f"i-0{draw(st.integers(0, 3))}",
            "CommitmentDiscountId": draw(st.sampled_from(["", "", "arn:sp/1"])),
            "Tags": draw(st.sampled_from(TAGS)),
        })
    return pd.DataFrame(rows)


@st.composite
def job_rows(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    rows = []
    for k in range(n):
        provider, region, inst = draw(st.sampled_from(JOB_POOLS[:3] * 3 + JOB_POOLS[3:]))  # p9: unknown
        start = pd.Timestamp("2026-01-01") + pd.Timedelta(minutes=draw(st.integers(0, 60 * 24 * 20)))
        end = start + pd.Timedelta(minutes=draw(st.integers(0, 60 * 24 * 3)))
        rows.append({"job_id": f"j{k}", "start": f"{start:%Y-%m-%d %H:%M:%S}", "end": f"{end:%Y-%m-%d %H:%M:%S}",
                     "gpus": str(draw(st.sampled_from([1, 2, 8, 64]))), "provider": provider, "region": region,
                     "instance_type": inst, "team": draw(st.sampled_from(["research", "", "serving"])),
                     "workload_class": draw(st.sampled_from(["", "training", "serving", "other"]))})
    df = pd.DataFrame(rows)
    repeats = draw(st.lists(st.integers(0, n - 1), max_size=4))  # exported twice
    return pd.concat([df, df.iloc[repeats]], ignore_index=True)


@st.composite
def usage_rows(draw) -> pd.DataFrame:
    keys = draw(st.sets(st.tuples(st.integers(0, 72), st.sampled_from(JOB_POOLS[:3]),
                                  st.sampled_from(["training", "inference", "experimentation"]),
                                  st.sampled_from(["research", "serving", ""])), min_size=1, max_size=10))
    rows = [{"ts": f"{pd.Timestamp('2026-03-01') + pd.Timedelta(hours=h):%Y-%m-%d %H:%M:%S}", "provider": p,
             "region": r, "instance_type": i, "workload_class": c, "team": t,
             "gpu_hours": str(draw(st.decimals(0, 512, places=3))),
             "billed_cost": str(draw(st.decimals(-5, 5000, places=4)))}
            for h, (p, r, i), c, t in sorted(keys)]
    return pd.DataFrame(rows)


@st.composite
def garbled(draw, rows) -> pd.DataFrame:
    """Drop a column, replace cells with garbage, shift timestamps off the hour or into another zone."""
    df = draw(rows).astype(object)
    for _ in range(draw(st.integers(0, 2))):
        op = draw(st.sampled_from(["drop", "cell", "shift"]))
        col = draw(st.sampled_from(list(df.columns)))
        if op == "drop" and len(df.columns) > 1:
            df = df.drop(columns=[col])
        elif op == "cell":
            df.iloc[draw(st.integers(0, len(df) - 1)), list(df.columns).index(col)] = draw(st.sampled_from(GARBAGE))
        elif op == "shift":
            tcols = [c for c in df.columns if c in ("ts", "start", "end", "ChargePeriodStart", "ChargePeriodEnd")]
            if tcols:
                c = draw(st.sampled_from(tcols))
                i = draw(st.integers(0, len(df) - 1))
                cell = str(df[c].iloc[i])
                stamp = BASE if cell in NULLS else pd.to_datetime(cell, errors="coerce")
                if pd.isna(stamp):  # a cell an earlier "cell" step garbled: it stays garbage
                    continue
                minutes = draw(st.sampled_from([0, 30, 60 * 24 * 365 * 30]))
                zone = draw(st.sampled_from(["", "Z", "+02:00"]))
                df.iloc[i, list(df.columns).index(c)] = (stamp + pd.Timedelta(minutes=minutes)).isoformat() + zone
    return df


FORMATS = st.sampled_from(["csv:" + e for e in ENCODINGS] + ["parquet", "parquet-typed", "empty", "header"])


def write(df: pd.DataFrame, fmt: str, folder) -> tuple[str, pd.DataFrame]:
    """Write ``df`` as ``fmt``; returns the path and the frame as it is in the file (typed Parquet: floats)."""
    if fmt in ("empty", "header"):
        path = folder / "input.csv"
        path.write_text("" if fmt == "empty" else ",".join(df.columns) + "\n")
        return str(path), df.iloc[:0]
    if fmt.startswith("csv:"):
        path = folder / "input.csv"
        path.write_bytes(df.to_csv(index=False).encode(fmt[4:], errors="replace"))
        return str(path), df
    path = folder / "input.parquet"
    if fmt == "parquet-typed":
        df = df.copy()
        for c in df.columns:
            if c in ("ConsumedQuantity", "BilledCost", "EffectiveCost", "ListCost", "gpus", "gpu_hours",
                     "billed_cost"):
                df[c] = pd.to_numeric(df[c], errors="coerce")
    df.to_parquet(path)
    return str(path), df


# ----------------------------------------------------------------------------------- independent totals
def _number(value) -> float | None:
    """A cell as a finite number, or None (empty, NULL, NaN, text, infinite)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    if text in NULLS:
        return None
    try:
        x = float(Decimal(text))
    except (InvalidOperation, ValueError):
        return None
    return x if math.isfinite(x) else None


def _cost(df: pd.DataFrame, col: str) -> float:
    return sum(x for x in map(_number, df[col]) if x is not None) if col in df.columns else float("nan")


def focus_totals(df: pd.DataFrame) -> dict[str, float]:
    """Rows, GPU-hours of GPU-instance rows (quantity x GPUs per instance) and costs, from the cells."""
    gpu_hours = 0.0
    for _, r in df.iterrows():
        prov = PROVIDERS.get(str(r.get("ProviderName", "")).strip().lower())
        desc = str(r.get("ChargeDescription", ""))
        inst = next((p[3] for p in FOCUS_POOLS if p[3] and p[2] == desc), None)
        qty = _number(r.get("ConsumedQuantity"))
        if prov and inst and (prov, inst) in GPUS and qty is not None and qty >= 0:
            gpu_hours += qty * GPUS[(prov, inst)]
    return {"rows": len(df), "gpu_hours": gpu_hours, "billed_cost": _cost(df, "BilledCost"),
            "effective_cost": _cost(df, "EffectiveCost"), "list_cost": _cost(df, "ListCost")}


def job_totals(df: pd.DataFrame) -> dict[str, float]:
    hours = (pd.to_datetime(df["end"], utc=True, format="ISO8601")
             - pd.to_datetime(df["start"], utc=True, format="ISO8601")).dt.total_seconds() / 3600
    return {"rows": len(df), "gpu_hours": float((hours * df["gpus"].map(_number)).sum())}


def usage_totals(df: pd.DataFrame) -> dict[str, float]:
    return {"rows": len(df), "gpu_hours": _cost(df, "gpu_hours"), "billed_cost": _cost(df, "billed_cost")}


# ----------------------------------------------------------------------------------- the properties
READERS = {"read_focus": read_focus, "read_jobs": read_jobs, "read_usage": read_usage, "read_any": read_any}


def check_every_reader(path: str, expected: dict[str, float], kind: str) -> int:
    """Run every reader on ``path``; returns how many accepted it (and checks conservation for those)."""
    accepted = 0
    for name, reader in READERS.items():
        try:
            usage, rec = reader(path)
        except FinopsError as exc:
            assert path in str(exc), f"{name}: the error does not name the file: {exc}"
            continue
        accepted += 1
        t = rec.totals
        assert rec.is_balanced(), f"{name}: not balanced\n{t}"
        assert t.loc["output", "gpu_hours"] == pytest.approx(usage["gpu_hours"].sum(), rel=1e-9, abs=1e-6)
        if rec.kind == kind:
            for col, value in expected.items():
                if not math.isnan(value):
                    assert t.loc["input", col] == pytest.approx(value, rel=1e-9, abs=0.005), (name, col, t)
    return accepted


@pytest.mark.slow
@SETTINGS
@given(df=garbled(focus_rows()), fmt=FORMATS)
def test_focus_files(tmp_path_factory, df, fmt):
    path, written = write(df, fmt, tmp_path_factory.mktemp("focus"))
    check_every_reader(path, focus_totals(written), "focus")


@pytest.mark.slow
@SETTINGS
@given(df=garbled(job_rows()), fmt=FORMATS)
def test_job_files(tmp_path_factory, df, fmt):
    path, written = write(df, fmt, tmp_path_factory.mktemp("jobs"))
    try:
        expected = job_totals(written)
    except (ValueError, TypeError, KeyError, OverflowError):  # cells the readers must reject
        expected = {}
    check_every_reader(path, expected, "jobs")


@pytest.mark.slow
@SETTINGS
@given(df=garbled(usage_rows()), fmt=FORMATS)
def test_usage_files(tmp_path_factory, df, fmt):
    path, written = write(df, fmt, tmp_path_factory.mktemp("usage"))
    check_every_reader(path, usage_totals(written), "usage")


def test_ungarbled_files_are_accepted(tmp_path):
    """The strategies' clean rows are valid inputs (so the properties test accepted files, not only errors)."""
    focus = pd.DataFrame([{**r, "Tags": json.dumps({"team": "research"})} for r in [
        {"BillingPeriodStart": "2024-09-01 00:00:00", "ProviderName": "AWS", "RegionId": "us-east-1",
         "ChargeCategory": "Usage", "ChargePeriodStart": "2024-09-01 00:00:00",
         "ChargePeriodEnd": "2024-09-01 01:00:00", "ConsumedQuantity": "2", "ConsumedUnit": "Hours",
         "BilledCost": "110.08", "EffectiveCost": "80", "ListCost": "110.08",
         "ChargeDescription": FOCUS_POOLS[1][2], "ResourceId": "i-01", "CommitmentDiscountId": ""}]])
    path, written = write(focus, "csv:utf-8", tmp_path)
    assert check_every_reader(path, focus_totals(written), "focus") == 2  # read_focus and read_any
    assert focus_totals(written)["gpu_hours"] == 16
