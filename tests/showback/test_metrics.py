"""Readers of DCGM exporter metrics (Prometheus text, CSV) and nvidia-smi logs, and their attribution."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from finops_forecast.errors import FinopsError
from finops_forecast.showback.common import IDLE, UNALLOCATED, ShowbackError
from finops_forecast.showback.metrics import (
    attribute_metrics,
    read_dcgm,
    read_dcgm_csv,
    read_dcgm_prometheus,
    read_gpu_metrics,
    read_nvidia_smi,
)


def _prom_values(path, metric):
    """Independent parse of the example file: (uuid, value) of every sample line of ``metric``."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith(metric + "{"):
            uuid = re.search(r'UUID="([^"]+)"', line).group(1)
            out.append((uuid, float(line.rsplit(" ", 2)[1])))
    return out


def test_prometheus_example_is_read_sample_by_sample(data_dir):
    path = data_dir / "dcgm_metrics.prom"
    m = read_dcgm_prometheus(path)
    util = _prom_values(path, "DCGM_FI_DEV_GPU_UTIL")
    fb = _prom_values(path, "DCGM_FI_DEV_FB_USED")
    assert len(m) == len(util)
    for uuid in {u for u, _ in util}:
        got = m.loc[m["uuid"] == uuid].sort_values("ts")
        assert got["util_pct"].tolist() == [v for u, v in util if u == uuid]
        assert got["fb_used_mib"].tolist() == [v for u, v in fb if u == uuid]
    assert set(m["hostname"]) == {"gpu-node-1"}
    assert (m.loc[m["pod"] == "", "util_pct"] == 0).all()  # the GPU no pod holds
    assert str(m["ts"].dt.tz) == "UTC" and m["ts"].min() == pd.Timestamp("2026-10-05", tz="UTC")


def test_csv_long_and_nvidia_smi_examples(data_dir):
    m = read_dcgm_csv(data_dir / "dcgm_metrics.csv")
    raw = pd.read_csv(data_dir / "dcgm_metrics.csv")
    util = raw[raw["metric"] == "DCGM_FI_DEV_GPU_UTIL"]
    assert len(m) == len(util)
    assert m["util_pct"].sum() == util["value"].sum()
    assert set(m["namespace"]) == {"recsys", "sandbox"}
    s = read_nvidia_smi(data_dir / "nvidia_smi_gpu-node-2.csv", hostname="gpu-node-2")
    lines = (data_dir / "nvidia_smi_gpu-node-2.csv").read_text().splitlines()[1:]
    assert len(s) == len(lines)
    assert s["util_pct"].sum() == sum(float(ln.split(",")[3].replace("%", "")) for ln in lines)
    assert (s["fb_total_mib"] == 23028).all()
    assert s["ts"].min() == pd.Timestamp("2026-10-05", tz="UTC")
    # auto-detection picks the same readers
    assert read_gpu_metrics(data_dir / "nvidia_smi_gpu-node-2.csv", hostname="gpu-node-2").equals(s)
    assert read_dcgm(data_dir / "dcgm_metrics.csv").equals(m)


def _write_prom(path, frame, with_ts=True):
    lines = ["# TYPE DCGM_FI_DEV_GPU_UTIL gauge"]
    for r in frame.itertuples():
        lab = f'gpu="{r.gpu}",UUID="{r.uuid}",Hostname="h1",namespace="ns",pod="{r.pod}"'
        stamp = f" {int(r.ts.timestamp() * 1000)}" if with_ts else ""
        lines.append(f"DCGM_FI_DEV_GPU_UTIL{{{lab}}} {r.util}{stamp}")
        lines.append(f"DCGM_FI_DEV_FB_USED{{{lab}}} {r.fb}{stamp}")
    path.write_text("\n".join(lines) + "\n")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.floats(0, 100, allow_nan=False),
                          st.integers(0, 81559)), min_size=1, max_size=30, unique_by=lambda t: (t[0], t[1])))
def test_prometheus_and_csv_give_the_same_frame(tmp_path, samples):
    t0 = pd.Timestamp("2026-10-05", tz="UTC")
    f = pd.DataFrame([{"gpu": str(g), "uuid": f"GPU-{g}", "pod": f"p{g}", "ts": t0 + pd.Timedelta(minutes=k),
                       "util": round(u, 3), "fb": fb} for g, k, u, fb in samples])
    _write_prom(tmp_path / "m.prom", f)
    wide = f.rename(columns={"uuid": "UUID", "util": "DCGM_FI_DEV_GPU_UTIL", "fb": "DCGM_FI_DEV_FB_USED",
                             "ts": "timestamp"}).assign(Hostname="h1", namespace="ns")
    wide["timestamp"] = wide["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    wide.to_csv(tmp_path / "m.csv", index=False)
    a = read_dcgm(tmp_path / "m.prom").drop(columns=["row", "source"])
    b = read_dcgm(tmp_path / "m.csv").drop(columns=["row", "source"])
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    assert np.allclose(np.sort(a["util_pct"]), np.sort(f["util"]))


def test_utilization_outside_0_100_names_file_row_and_column(tmp_path, data_dir):
    bad = (data_dir / "dcgm_metrics.prom").read_text().replace("} 9 1791158400000", "} 150 1791158400000", 1)
    p = tmp_path / "bad.prom"
    p.write_text(bad)
    with pytest.raises(ShowbackError) as exc:
        read_dcgm(p)
    line = next(i for i, ln in enumerate(bad.splitlines(), 1) if "} 150 " in ln)
    assert exc.value.row == line and exc.value.column == "DCGM_FI_DEV_GPU_UTIL"
    assert "150" in str(exc.value) and "0-100" in str(exc.value) and str(p) in str(exc.value)
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, FinopsError)
    # a 0-1 share exported by mistake is not caught by the range, a negative value is
    smi = (data_dir / "nvidia_smi_gpu-node-2.csv").read_text().replace(", 45 %,", ", -3 %,", 1)
    (tmp_path / "neg.csv").write_text(smi)
    with pytest.raises(ShowbackError, match="outside 0-100") as exc:
        read_nvidia_smi(tmp_path / "neg.csv")
    assert exc.value.row == 1


def test_nvidia_smi_na_and_missing_columns(tmp_path, data_dir):
    text = (data_dir / "nvidia_smi_gpu-node-2.csv").read_text().splitlines()
    text[4] = text[4].replace(", 46 %,", ", [N/A],").replace(", 47 %,", ", [N/A],").replace(", 52 %,", ", [N/A],")
    text[4] = re.sub(r", \d+ %,", ", [N/A],", text[4])
    (tmp_path / "na.csv").write_text("\n".join(text))
    with pytest.raises(ShowbackError, match=r"\[N/A\]") as exc:
        read_nvidia_smi(tmp_path / "na.csv")
    assert exc.value.row == 4
    (tmp_path / "other.csv").write_text("timestamp, name\n2026/10/05 00:00:00.000, H100\n")
    with pytest.raises(ShowbackError, match="not an nvidia-smi --query-gpu log"):
        read_nvidia_smi(tmp_path / "other.csv")


def test_prometheus_without_timestamps_needs_scrape_time(tmp_path):
    f = pd.DataFrame([{"gpu": "0", "uuid": "GPU-a", "pod": "p", "ts": pd.Timestamp("2026-10-05", tz="UTC"),
                       "util": 40, "fb": 100}])
    _write_prom(tmp_path / "one.prom", f, with_ts=False)
    with pytest.raises(ShowbackError, match="scrape_time") as exc:
        read_dcgm(tmp_path / "one.prom")
    assert exc.value.row == 2
    m = read_dcgm(tmp_path / "one.prom", scrape_time="2026-10-05 12:00")
    assert m["ts"].iloc[0] == pd.Timestamp("2026-10-05 12:00", tz="UTC") and m["util_pct"].iloc[0] == 40


def test_attribution_owner_sources(attributed, data_dir):
    by_gpu = attributed.groupby("gpu_id").first()
    assert by_gpu.loc["GPU-1f7a2c3e-0000-4000-8000-000000000003", "team"] == IDLE  # no pod on it
    sandbox = by_gpu.loc["GPU-9c4e5d6f-0000-4000-8000-000000000001"]  # pod whose namespace nobody owns
    assert sandbox["team"] == UNALLOCATED and sandbox["owner_source"] == "unallocated"
    assert by_gpu.loc["GPU-1f7a2c3e-0000-4000-8000-000000000000", "team"] == "risk"
    assert by_gpu.loc["GPU-1f7a2c3e-0000-4000-8000-000000000002", "model"] == "llm-7b"
    assert by_gpu.loc["GPU-3b8d1e2f-0000-4000-8000-000000000000", "owner_source"] == "inventory"
    # every 15-minute sample stands for a quarter of an hour
    assert np.allclose(attributed["hours"], 0.25)
    assert len(attributed) == 8 * 24


def test_unknown_gpu_is_an_error_naming_it(raw_metrics, inventory, owners):
    inv = inventory[inventory["uuid"] != "GPU-9c4e5d6f-0000-4000-8000-000000000001"]
    with pytest.raises(ShowbackError) as exc:
        attribute_metrics(raw_metrics, inv, owners)
    msg = str(exc.value)
    assert "GPU-9c4e5d6f-0000-4000-8000-000000000001" in msg and "not in the inventory" in msg
    assert "dcgm_metrics.csv" in msg and exc.value.row is not None
    with pytest.raises(ShowbackError, match="needs a 'instance_type' column"):
        attribute_metrics(raw_metrics, inventory.drop(columns="instance_type"), owners)


def test_scrape_gaps_are_not_counted_as_hours(tmp_path):
    t0 = pd.Timestamp("2026-10-05", tz="UTC")
    ts = [t0 + pd.Timedelta(minutes=m) for m in (0, 1, 2, 3, 60, 61)]
    f = pd.DataFrame({"gpu": "0", "uuid": "GPU-a", "pod": "p", "ts": ts, "util": 50, "fb": 1})
    _write_prom(tmp_path / "gap.prom", f)
    inv = pd.DataFrame({"uuid": ["GPU-a"], "provider": ["aws"], "region": ["us-east-1"],
                        "instance_type": ["p5.48xlarge"]})
    att = attribute_metrics(read_dcgm(tmp_path / "gap.prom"), inv)
    # five 1-minute samples and the one before the gap, capped at 2 x the median interval: 7 minutes, not 62
    assert att["hours"].sum() == pytest.approx(7 / 60)


def test_owner_rules_on_the_job_label(tmp_path):
    t0 = pd.Timestamp("2026-10-05", tz="UTC")
    lines = []
    for k in range(3):
        ms = int((t0 + pd.Timedelta(minutes=k)).timestamp() * 1000)
        lines.append(f'DCGM_FI_DEV_GPU_UTIL{{gpu="0",UUID="GPU-a",Hostname="h",job_id="train-42"}} 80 {ms}')
        lines.append(f'DCGM_FI_DEV_GPU_UTIL{{gpu="1",UUID="GPU-b",Hostname="h",job_id="train-43"}} 80 {ms}')
    (tmp_path / "jobs.prom").write_text("\n".join(lines) + "\n")
    inv = pd.DataFrame({"uuid": ["GPU-a", "GPU-b"], "provider": "aws", "region": "us-east-1",
                        "instance_type": "p5.48xlarge"})
    owners = pd.DataFrame([{"job": "train-42", "team": "research", "workload_class": "training", "model": "m1"}])
    att = attribute_metrics(read_dcgm(tmp_path / "jobs.prom"), inv, owners).groupby("gpu_id").first()
    assert att.loc["GPU-a", "team"] == "research" and att.loc["GPU-a", "owner_source"] == "label"
    assert att.loc["GPU-b", "team"] == UNALLOCATED  # a job nobody owns: unallocated, not idle
