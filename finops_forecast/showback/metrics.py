"""GPU utilization input: NVIDIA DCGM exporter metrics and ``nvidia-smi`` CSV logs, and their attribution.

Three formats are read into one long *metrics frame* (one row per GPU x sample):

``ts`` (UTC), ``hostname``, ``gpu`` (index on the host, str), ``uuid``, ``gpu_model``, ``namespace``, ``pod``,
``container``, ``job`` (labels; "" when absent), ``util_pct`` (DCGM_FI_DEV_GPU_UTIL / utilization.gpu [%], 0-100),
``fb_used_mib`` (DCGM_FI_DEV_FB_USED / memory.used [MiB]), ``fb_total_mib`` [MiB] (NaN when unknown), ``row``
(1-based line or data row in the source, for errors) and ``source`` (the file).

- DCGM exporter, Prometheus text exposition: ``DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-..",Hostname="n1",
  pod="p",namespace="ns",...} 37 1791129600000`` (value, optional timestamp in ms).
- DCGM exporter as CSV, long (``timestamp, metric, value`` + label columns, as a Prometheus range-query export)
  or wide (``timestamp`` + labels + ``DCGM_FI_DEV_GPU_UTIL``, ``DCGM_FI_DEV_FB_USED`` columns).
- ``nvidia-smi --query-gpu=timestamp,index,uuid,utilization.gpu,memory.used,memory.total --format=csv [-l 60]``.

:func:`attribute_metrics` then gives every sample a pool (from a GPU inventory: unknown GPUs are an error), an
owner (team, workload class, model; from the pod's namespace, the inventory, ``__idle__`` for a GPU no pod held,
``__unallocated__`` for a pod no owner is known for) and the sample's duration in hours.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from finops_forecast.showback.common import IDLE, UNALLOCATED, ShowbackError, first_row, unknown

UTIL = "DCGM_FI_DEV_GPU_UTIL"
FB_USED = "DCGM_FI_DEV_FB_USED"
FB_FREE = "DCGM_FI_DEV_FB_FREE"
METRIC_COLUMNS = ["ts", "hostname", "gpu", "uuid", "gpu_model", "namespace", "pod", "container", "job",
                  "util_pct", "fb_used_mib", "fb_total_mib", "row", "source"]
LABELS = {"hostname": ("Hostname", "hostname", "instance", "node"), "gpu": ("gpu", "index", "gpu_index"),
          "uuid": ("UUID", "uuid", "gpu_uuid"), "gpu_model": ("modelName", "model_name", "gpu_model", "name"),
          "namespace": ("namespace", "exported_namespace"), "pod": ("pod", "exported_pod", "pod_name"),
          "container": ("container", "exported_container"), "job": ("job_id", "job", "exported_job")}
_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?\s*$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def _label(labels: dict, name: str) -> str:
    for key in LABELS[name]:
        if labels.get(key) not in (None, ""):
            return str(labels[key])
    return ""


def _parse_ts(values: pd.Series, *, source, rows, column: str) -> pd.Series:
    """Timestamps as UTC: ISO text (naive = UTC), nvidia-smi's ``2026/10/05 14:00:00.000``, or epoch s / ms."""
    text = values.astype("string").str.strip()
    num = pd.to_numeric(text, errors="coerce")
    if num.notna().all():
        unit = "ms" if float(num.abs().max()) > 1e11 else "s"
        return pd.to_datetime(num.astype("int64"), unit=unit, utc=True)
    out = pd.to_datetime(text.str.replace("/", "-", regex=False), utc=True, errors="coerce", format="mixed")
    if out.isna().any():
        i, n = first_row(out.isna())
        raise ShowbackError(f"cannot read timestamp '{text.iloc[i - 1]}' ({n} rows in all). Use ISO 8601 "
                            f"('2026-10-05T14:00:00Z'), nvidia-smi's '2026/10/05 14:00:00.000' or epoch seconds.",
                            path=source, row=int(rows[i - 1]), column=column)
    return out


def _check_values(df: pd.DataFrame, source) -> pd.DataFrame:
    for col, name, unit in (("util_pct", UTIL, "%"), ("fb_used_mib", FB_USED, "MiB")):
        v = df[col].to_numpy(float)
        bad = np.isnan(v) if col == "util_pct" else np.zeros(len(v), bool)
        if bad.any():
            i, n = first_row(bad)
            raise ShowbackError(f"GPU utilization is missing or not a number ({n} samples in all). nvidia-smi "
                                f"prints [N/A] for MIG-partitioned or lost GPUs: drop those rows or use DCGM "
                                f"per-instance metrics.", path=source, row=int(df["row"].iloc[i - 1]), column=name)
        lo, hi = (0.0, 100.0) if col == "util_pct" else (0.0, np.inf)
        out_of = (v < lo) | (v > hi)
        if out_of.any():
            i, n = first_row(out_of)
            raise ShowbackError(f"{name} is {v[i - 1]:g} {unit}, outside {lo:g}-{hi:g} ({n} samples in all). "
                                f"Utilization is a percentage of time the GPU was busy; a value outside 0-100 "
                                f"means a unit mix-up (a 0-1 share?) or a broken exporter. Fix the source.",
                                path=source, row=int(df["row"].iloc[i - 1]), column=name)
    return df


def _finish(rows: list[dict] | pd.DataFrame, source, key_cols=("ts", "uuid", "hostname", "gpu")) -> pd.DataFrame:
    df = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows
    if df.empty:
        raise ShowbackError(f"no {UTIL} samples found. Expected DCGM exporter metrics or an nvidia-smi "
                            f"--query-gpu CSV log.", path=source)
    for col in METRIC_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan if col in ("util_pct", "fb_used_mib", "fb_total_mib") else ""
    df["source"] = str(source)
    noid = (df["uuid"] == "") & ((df["hostname"] == "") | (df["gpu"] == ""))
    if noid.any():
        i, n = first_row(noid)
        raise ShowbackError(f"a sample has no GPU identity ({n} in all): it needs a UUID label, or Hostname and "
                            f"gpu labels. Configure dcgm-exporter with its default labels.", path=source,
                            row=int(df["row"].iloc[i - 1]), column="UUID")
    df = _check_values(df, source)
    return df[METRIC_COLUMNS].sort_values(["uuid", "hostname", "gpu", "ts"], kind="stable").reset_index(drop=True)


def read_dcgm_prometheus(path, *, scrape_time=None) -> pd.DataFrame:
    """Read DCGM exporter metrics in the Prometheus text exposition format (one or many scrapes).

    Parameters
    ----------
    path : str or path
        A text file of ``/metrics`` scrapes (``# HELP``/``# TYPE`` lines are skipped; other metrics ignored).
    scrape_time : timestamp, optional
        Time of samples that carry no timestamp (a single scrape saved with curl). Required when one lacks it.

    Returns
    -------
    pandas.DataFrame
        The metrics frame (module docstring).
    """
    source = str(path)
    text = Path(path).read_text()
    recs: dict[tuple, dict] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ShowbackError(f"not a Prometheus sample line: '{line[:80]}'. Expected "
                                f"'NAME{{label=\"v\",...}} VALUE [TIMESTAMP_MS]'.", path=source, row=lineno)
        name, _, body, value, stamp = m.groups()
        if name not in (UTIL, FB_USED, FB_FREE):
            continue
        labels = dict(_LABEL.findall(body or ""))
        try:
            val = float(value)
        except ValueError:
            raise ShowbackError(f"value '{value}' of {name} is not a number.", path=source, row=lineno,
                                column=name) from None
        if stamp is None:
            if scrape_time is None:
                raise ShowbackError(f"the {name} sample has no timestamp. Pass scrape_time= (the time the page "
                                    f"was scraped) or export samples with timestamps.", path=source, row=lineno)
            ts = pd.Timestamp(scrape_time)
            ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        else:
            ts = pd.Timestamp(int(stamp), unit="ms", tz="UTC")
        ident = {k: _label(labels, k) for k in LABELS}
        key = (ts, ident["uuid"], ident["hostname"], ident["gpu"])
        rec = recs.setdefault(key, {"ts": ts, **ident, "row": lineno})
        for k, v in ident.items():  # labels present on one metric only (pod) complete the record
            if v and not rec.get(k):
                rec[k] = v
        col = {UTIL: "util_pct", FB_USED: "fb_used_mib", FB_FREE: "fb_free_mib"}[name]
        rec[col] = val
        if name == UTIL:
            rec["row"] = lineno
    df = pd.DataFrame(list(recs.values()))
    if not df.empty and "util_pct" not in df.columns:
        df["util_pct"] = np.nan
    if "fb_free_mib" in df.columns and "fb_used_mib" in df.columns:
        df["fb_total_mib"] = df["fb_used_mib"] + df["fb_free_mib"]
    if not df.empty:
        df = df[df["util_pct"].notna() | df.get("fb_used_mib", pd.Series(np.nan, index=df.index)).notna()]
        if df["util_pct"].isna().any():
            i, _ = first_row(df["util_pct"].isna())
            raise ShowbackError(f"GPU {df['uuid'].iloc[i - 1] or df['gpu'].iloc[i - 1]} has {FB_USED} but no {UTIL} "
                                f"at {df['ts'].iloc[i - 1]}. Enable {UTIL} in the exporter's counter list.",
                                path=source, row=int(df["row"].iloc[i - 1]), column=UTIL)
    return _finish(df, source)


def _csv(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ShowbackError(f"cannot read the file as CSV ({exc}).", path=path) from None


def read_dcgm_csv(path) -> pd.DataFrame:
    """Read DCGM exporter metrics saved as CSV, long or wide.

    Long: ``timestamp`` (or ``ts``/``time``), ``metric`` (or ``__name__``), ``value`` and label columns
    (``Hostname``, ``gpu``, ``UUID``, ``modelName``, ``namespace``, ``pod``, ``container`` ...). Wide: timestamp,
    labels and one column per metric (``DCGM_FI_DEV_GPU_UTIL``, ``DCGM_FI_DEV_FB_USED``, optional
    ``DCGM_FI_DEV_FB_FREE``).

    Returns
    -------
    pandas.DataFrame
        The metrics frame (module docstring).
    """
    source = str(path)
    raw = _csv(path)
    raw.columns = [c.strip() for c in raw.columns]
    tcol = next((c for c in ("timestamp", "ts", "time", "Time") if c in raw.columns), None)
    if tcol is None:
        raise ShowbackError(f"no timestamp column; expected one of timestamp, ts, time; found {list(raw.columns)}.",
                            path=source, column="timestamp")
    raw["row"] = np.arange(1, len(raw) + 1)
    mcol = next((c for c in ("metric", "__name__", "metric_name") if c in raw.columns), None)
    if mcol is not None:
        if "value" not in raw.columns:
            raise ShowbackError("a long DCGM CSV needs a 'value' column next to 'metric'.", path=source,
                                column="value")
        raw = raw[raw[mcol].isin([UTIL, FB_USED, FB_FREE])]
        if raw.empty:
            raise ShowbackError(f"no {UTIL} rows in column '{mcol}'.", path=source, column=mcol)
        ident = [c for c in raw.columns if c not in (mcol, "value", "row")]
        wide = raw.pivot_table(index=ident, columns=mcol, values="value", aggfunc="first").reset_index()
        rows = raw.groupby(ident)["row"].min().reset_index()
        raw = wide.merge(rows, on=ident, how="left")
    if UTIL not in raw.columns:
        raise ShowbackError(f"no {UTIL} column or rows; found {list(raw.columns)}. Export the GPU utilization "
                            f"counter.", path=source, column=UTIL)
    rows = raw["row"].to_numpy()
    out = pd.DataFrame({"ts": _parse_ts(raw[tcol], source=source, rows=rows, column=tcol).to_numpy(),
                        "row": rows})
    for name, aliases in LABELS.items():
        col = next((c for c in aliases if c in raw.columns), None)
        out[name] = raw[col].fillna("").astype(str).str.strip().to_numpy() if col else ""
    for col, name in (("util_pct", UTIL), ("fb_used_mib", FB_USED), ("fb_free_mib", FB_FREE)):
        if name in raw.columns:
            text = raw[name].astype("string").str.strip()
            num = pd.to_numeric(text, errors="coerce")
            bad = num.isna() & text.notna() & (text != "")
            if bad.any():
                i, n = first_row(bad)
                raise ShowbackError(f"'{text.iloc[i - 1]}' is not a number ({n} rows in all).", path=source,
                                    row=int(rows[i - 1]), column=name)
            out[col] = num.to_numpy(float)
    if "fb_free_mib" in out.columns:
        out["fb_total_mib"] = out["fb_used_mib"] + out.pop("fb_free_mib")
    return _finish(out, source)


def read_nvidia_smi(path, *, hostname: str | None = None) -> pd.DataFrame:
    """Read an ``nvidia-smi --query-gpu=timestamp,index,uuid,utilization.gpu,memory.used,memory.total
    --format=csv`` log (with or without ``,nounits``; repeated headers from ``-l`` loops are skipped).

    Parameters
    ----------
    path : str or path
        The CSV log of one host.
    hostname : str, optional
        The host it came from (default: the file name without suffix). nvidia-smi logs carry no pod labels:
        ownership comes from the GPU inventory (``attribute_metrics``).

    Returns
    -------
    pandas.DataFrame
        The metrics frame (module docstring).
    """
    source = str(path)
    raw = _csv(path)
    raw.columns = [c.strip() for c in raw.columns]
    want = {"timestamp": "timestamp", "index": "index", "uuid": "uuid", "utilization.gpu": "util",
            "memory.used": "used", "memory.total": "total"}
    found = {}
    for col in raw.columns:
        base = col.split(" [")[0].strip()
        if base in want:
            found[want[base]] = col
    missing = [k for k, v in want.items() if v not in found and k in ("timestamp", "uuid", "utilization.gpu",
                                                                         "memory.used")]
    if missing:
        raise ShowbackError(f"not an nvidia-smi --query-gpu log: missing {missing}; found {list(raw.columns)}. "
                            f"Run nvidia-smi --query-gpu=timestamp,index,uuid,utilization.gpu,memory.used,"
                            f"memory.total --format=csv.", path=source, column=missing[0])
    raw["row"] = np.arange(1, len(raw) + 1)
    raw = raw[raw[found["timestamp"]].str.strip() != "timestamp"]  # header repeated by a restarted logger
    rows = raw["row"].to_numpy()
    out = pd.DataFrame({"ts": _parse_ts(raw[found["timestamp"]], source=source, rows=rows,
                                        column="timestamp").to_numpy(), "row": rows})
    out["hostname"] = hostname or Path(path).name.split(".")[0]
    out["gpu"] = raw[found["index"]].str.strip().to_numpy() if "index" in found else ""
    out["uuid"] = raw[found["uuid"]].str.strip().to_numpy()
    for col, key in (("util_pct", "util"), ("fb_used_mib", "used"), ("fb_total_mib", "total")):
        if key not in found:
            continue
        text = raw[found[key]].astype(str).str.replace(r"\s*(%|MiB)\s*$", "", regex=True).str.strip()
        num = pd.to_numeric(text, errors="coerce")
        bad = num.isna() & (text != "[N/A]") if col != "util_pct" else num.isna()
        if bad.any():
            i, n = first_row(bad)
            raise ShowbackError(f"'{raw[found[key]].iloc[i - 1]}' is not a number ({n} rows in all). nvidia-smi "
                                f"prints [N/A] for MIG-partitioned or lost GPUs: drop those rows.", path=source,
                                row=int(rows[i - 1]), column=found[key])
        out[col] = num.to_numpy(float)
    return _finish(out, source)


def read_dcgm(path, *, scrape_time=None) -> pd.DataFrame:
    """Read DCGM exporter metrics, Prometheus text or CSV (chosen from the content)."""
    head = Path(path).read_text(errors="replace")[:4096]
    first = next((ln for ln in head.splitlines() if ln.strip()), "")
    if first.startswith("#") or re.match(r"^DCGM_FI_\w+[{ ]", first):
        return read_dcgm_prometheus(path, scrape_time=scrape_time)
    return read_dcgm_csv(path)


def read_gpu_metrics(path, *, hostname: str | None = None, scrape_time=None) -> pd.DataFrame:
    """Read any supported GPU metrics file (DCGM Prometheus text, DCGM CSV or nvidia-smi CSV)."""
    head = Path(path).read_text(errors="replace")[:4096]
    first = next((ln for ln in head.splitlines() if ln.strip()), "")
    if "utilization.gpu" in first:
        return read_nvidia_smi(path, hostname=hostname)
    return read_dcgm(path, scrape_time=scrape_time)


def _sample_hours(df: pd.DataFrame, max_gap_factor: float = 2.0) -> np.ndarray:
    """Duration each sample stands for [h]: the time to the GPU's next sample, capped at ``max_gap_factor``
    x the GPU's median interval (a scrape gap is missing data, not idle time); the last sample gets the median."""
    hours = np.empty(len(df))
    t = df["ts"].to_numpy("datetime64[ns]").astype(np.int64) / 3.6e12
    for idx in df.groupby("gpu_id", sort=False).indices.values():
        tt = t[idx]
        d = np.diff(tt)
        med = float(np.median(d[d > 0])) if (d > 0).any() else 1 / 60
        h = np.append(d, med)
        hours[idx] = np.minimum(h, max_gap_factor * med)
    return hours


def attribute_metrics(metrics: pd.DataFrame, inventory: pd.DataFrame, owners: pd.DataFrame | None = None,
                      *, max_gap_factor: float = 2.0) -> pd.DataFrame:
    """Give each GPU sample its pool, owner and duration.

    Parameters
    ----------
    metrics : pandas.DataFrame
        A metrics frame (one or several readers' output concatenated).
    inventory : pandas.DataFrame
        One row per GPU: ``uuid`` (or ``hostname`` + ``gpu``), ``provider``, ``region``, ``instance_type``;
        optional static owner ``team``, ``workload_class``, ``model`` (a team's dedicated node, or nvidia-smi
        logs that have no pod labels).
    owners : pandas.DataFrame, optional
        Owner of pods: ``namespace``, ``pod_prefix`` and/or ``job`` (the DCGM job label) -> ``team``,
        ``workload_class``, ``model``; every non-empty condition of a rule must hold; the longest matching pod
        prefix wins.

    Returns
    -------
    pandas.DataFrame
        The metrics plus ``gpu_id``, POOL_KEYS, ``team``, ``workload_class``, ``model``, ``owner_source``
        (``label``, ``inventory``, ``idle``, ``unallocated``) and ``hours`` [h]. A GPU sample with no pod and no
        static owner is ``__idle__``; a pod no owner rule knows is ``__unallocated__``.

    Raises
    ------
    ShowbackError
        When a sample's GPU is not in the inventory (it could not be priced), naming the GPU, file and row.
    """
    m = _join_inventory(metrics, inventory)
    pods = m["pod"].fillna("").astype(str).to_numpy()
    nss = m["namespace"].fillna("").astype(str).to_numpy()
    jobs = m["job"].fillna("").astype(str).to_numpy()
    team, klass, model, how = _owners_by_rule(pods, nss, jobs, owners)
    for c, arr in (("team", team), ("workload_class", klass), ("model", model)):
        if f"inv_{c}" in m.columns:
            inv_v = m[f"inv_{c}"].fillna("").astype(str).to_numpy()
            fill = (arr == "") & (inv_v != "")
            arr[fill] = inv_v[fill]
            how[fill & (how == "")] = "inventory"
    no_pod = (pods == "") & (jobs == "") & (team == "")
    team[no_pod], how[no_pod] = IDLE, "idle"
    orphan = (team == "")
    team[orphan], how[orphan] = UNALLOCATED, "unallocated"
    klass[klass == ""] = UNALLOCATED
    model[model == ""] = UNALLOCATED
    m["team"], m["workload_class"], m["model"], m["owner_source"] = team, klass, model, how
    m = m.drop(columns=[c for c in m.columns if c.startswith("inv_")])
    m = m.sort_values(["gpu_id", "ts"], kind="stable").reset_index(drop=True)
    m["hours"] = _sample_hours(m, max_gap_factor)
    return m


def _join_inventory(metrics: pd.DataFrame, inventory: pd.DataFrame) -> pd.DataFrame:
    """The metrics with ``gpu_id``, the GPU's pool and its static owner columns (``inv_team``,
    ``inv_workload_class``, ``inv_model``) from the inventory; a GPU the inventory lacks is an error."""
    m = metrics.copy()
    inv = inventory.copy()
    for col in ("provider", "region", "instance_type"):
        if col not in inv.columns:
            raise ShowbackError(f"the GPU inventory needs a '{col}' column (the pool each GPU belongs to); "
                                f"found {list(inv.columns)}.", column=col)
    if "uuid" in inv.columns and inv["uuid"].astype(str).str.len().gt(0).all():
        m["gpu_id"] = np.where(m["uuid"] != "", m["uuid"], m["hostname"] + ":" + m["gpu"].astype(str))
        inv["gpu_id"] = inv["uuid"].astype(str)
    else:
        if not {"hostname", "gpu"} <= set(inv.columns):
            raise ShowbackError("the GPU inventory needs a 'uuid' column, or 'hostname' and 'gpu' columns.",
                                column="uuid")
        m["gpu_id"] = m["hostname"] + ":" + m["gpu"].astype(str)
        inv["gpu_id"] = inv["hostname"].astype(str) + ":" + inv["gpu"].astype(str)
    if inv["gpu_id"].duplicated().any():
        dup = inv.loc[inv["gpu_id"].duplicated(), "gpu_id"].iloc[0]
        raise ShowbackError(f"GPU '{dup}' is listed twice in the inventory; keep one row per GPU.", column="uuid")
    known = set(inv["gpu_id"])
    miss = ~m["gpu_id"].isin(known)
    if miss.any():
        i, n = first_row(miss)
        ids = sorted(set(m.loc[miss, "gpu_id"]))
        raise ShowbackError(f"{len(ids)} GPU(s) in the metrics are not in the inventory ({n} samples): "
                            f"{', '.join(ids[:5])}{' ...' if len(ids) > 5 else ''}. {unknown('GPU', ids[0], known)} "
                            f"Add them with their provider, region and instance_type so they can be priced.",
                            path=m["source"].iloc[i - 1] or None, row=int(m["row"].iloc[i - 1]), column="UUID")
    static = [c for c in ("team", "workload_class", "model") if c in inv.columns]
    inv = inv[["gpu_id", "provider", "region", "instance_type"] + static].rename(
        columns={c: f"inv_{c}" for c in static})
    return m.merge(inv, on="gpu_id", how="left")


def _owners_by_rule(pods: np.ndarray, nss: np.ndarray, jobs: np.ndarray, owners: pd.DataFrame | None):
    """Team, workload class, model and ``owner_source`` ("label" or "") of each sample from the owner rules
    (longest pod prefix first, then job rules; every non-empty condition of a rule must hold)."""
    team = np.full(len(pods), "", dtype=object)
    klass = np.full(len(pods), "", dtype=object)
    model = np.full(len(pods), "", dtype=object)
    how = np.full(len(pods), "", dtype=object)
    if owners is None or not len(owners):
        return team, klass, model, how
    o = owners.fillna("")
    rules = [(str(r.get("pod_prefix", "")), str(r.get("namespace", "")), str(r.get("job", "")), r)
             for r in o.to_dict("records")]
    rules.sort(key=lambda x: (-len(x[0]), -bool(x[2])))  # longest pod prefix first, then job rules
    # match each distinct (pod, namespace, job) once, then map back to the samples
    keys = pd.MultiIndex.from_arrays([pods, nss, jobs])
    uniq = keys.unique()
    found = {}
    for pod, ns_, job in uniq:
        if not pod and not job:
            continue
        for prefix, ns, jb, r in rules:
            if not (prefix or ns or jb):
                continue
            if (prefix and not pod.startswith(prefix)) or (ns and ns != ns_) or (jb and jb != job):
                continue
            found[(pod, ns_, job)] = (str(r.get("team", "")), str(r.get("workload_class", "")),
                                      str(r.get("model", "")))
            break
    if found:
        inverse = uniq.get_indexer(keys)
        hit = np.array([found.get(k) is not None for k in uniq])[inverse]
        vals = [found.get(k, ("", "", "")) for k in uniq]
        for arr, j in ((team, 0), (klass, 1), (model, 2)):
            arr[hit] = np.array([v[j] for v in vals], dtype=object)[inverse][hit]
        how[hit] = "label"
    return team, klass, model, how
