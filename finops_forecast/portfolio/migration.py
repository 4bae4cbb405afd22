"""Generation turnover: demand on an older GPU pool moves to a newer generation over the plan's horizon.

A share ``s`` per year of a pool's demand migrates: at ``t`` years after the plan starts the pool keeps
``1 - min(1, s t)`` of its forecast demand and the rest runs on the pool's **successor**, a pool named
``<instance_type>+next`` in the same provider and region, priced like the old pool per GPU-h (on demand and spot;
an assumption: the new generation does more work per GPU-h at a higher price per GPU-h). Flexible commitments follow
the demand: AWS Compute Savings Plans, Azure savings plans, GCP flexible CUDs and generic savings plans cover the
successor at the old pool's rate. Pool commitments (AWS standard RIs, Azure reservations, GCP resource CUDs) and
AWS EC2 Instance Savings Plans (one instance family) do not.

Default rule (``"rule"``): a pool whose provider already prices a newer GPU generation than the pool's
(``GENERATIONS`` order) migrates ``RULE_SHARE_PER_YEAR`` of its demand a year; others 0. The share is an
assumption, not fitted: the issue's reading of H100 use falling to 35% in years 2-3 after B200 arrived is about
0.3 a year. Set ``migration`` to your own view.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from finops_forecast.constants import HOURS_PER_YEAR, POOL_KEYS
from finops_forecast.errors import PortfolioError

#: GPU generations, oldest first (NVIDIA data-centre training parts; others have no successor rule)
GENERATIONS = ("V100", "A100", "A100-80GB", "H100", "H200", "B200", "B300")
#: default share of a pool's demand that moves to the newer generation per year (assumption, module docstring)
RULE_SHARE_PER_YEAR = 0.3
#: commitment families that follow demand to the successor pool
FLEXIBLE_FAMILIES = ("aws_compute_sp", "aws_convertible_ri", "azure_sp", "gcp_flex_cud", "savings_plan")
SUCCESSOR = "+next"


def rule_shares(catalog: pd.DataFrame, pools: pd.DataFrame) -> dict:
    """The default rule: ``{instance_type: RULE_SHARE_PER_YEAR}`` for pools whose provider prices a newer
    generation than theirs (``GENERATIONS``), nothing for the others."""
    out = {}
    od = catalog[catalog["pricing_model"] == "on_demand"]
    for pool in pools.drop_duplicates(POOL_KEYS).itertuples(index=False):
        row = od[(od["provider"] == pool.provider) & (od["instance_type"] == pool.instance_type)]
        gpu = str(row["gpu_type"].iat[0]) if len(row) and "gpu_type" in row else ""
        if gpu not in GENERATIONS:
            continue
        newer = set(GENERATIONS[GENERATIONS.index(gpu) + 1:])
        if od.loc[od["provider"] == pool.provider, "gpu_type"].isin(newer).any():
            out[pool.instance_type] = RULE_SHARE_PER_YEAR
    return out


def parse_migration(text: str) -> dict | str | None:
    """Read the report / CLI form: ``"rule"``, ``""`` (none) or ``"p5.48xlarge:0.3,*:0.1"`` (``=`` works too)
    [share per year]."""
    text = (text or "").strip()
    if text in ("", "0", "none"):
        return None
    if text == "rule":
        return "rule"
    out = {}
    for part in text.split(","):
        name, _, val = part.replace("=", ":").partition(":")
        try:
            out[name.strip()] = float(val)
        except ValueError:
            raise PortfolioError(f"migration: '{part.strip()}' is not instance_type:share (e.g. "
                                 "'p5.48xlarge:0.3' or '*:0.1'), 'rule' or empty.") from None
    return out


def apply_migration(keys: pd.DataFrame, paths: np.ndarray, ds: pd.DatetimeIndex, catalog: pd.DataFrame,
                    migration) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, list]:
    """Move demand to successor pools and price them.

    Parameters
    ----------
    keys : DataFrame
        Series keys (provider, region, instance_type, workload_class).
    paths : ndarray (series, paths, hours)
        Demand [GPU-h per hour].
    ds : DatetimeIndex
        Hours of the paths (UTC); the migration clock starts at ``ds[0]``.
    catalog : DataFrame
        Pricing catalog.
    migration : dict, "rule" or None
        ``{instance_type or "*": share per year in [0, 1]}``.

    Returns
    -------
    keys, paths, catalog, notes
        With one successor series per migrating series (appended) and the successor pools' rows.
    """
    shares = rule_shares(catalog, keys) if migration == "rule" else dict(migration or {})
    for k, v in shares.items():
        if not 0 <= v <= 1:
            raise PortfolioError(f"migration['{k}'] = {v}: a share of demand per year, in [0, 1].")
    share = np.array([shares.get(it, shares.get("*", 0.0)) for it in keys["instance_type"]], float)
    mig = np.flatnonzero(share > 0)
    if not len(mig):
        return keys, paths, catalog, []
    years = (np.arange(len(ds)) / HOURS_PER_YEAR)[None, :]
    f = np.minimum(1.0, share[mig, None] * years)  # (m, hours)
    moved = paths[mig] * f[:, None, :].astype(paths.dtype)
    kept = paths.copy()
    kept[mig] = paths[mig] - moved
    new_keys = keys.iloc[mig].assign(instance_type=lambda k: k["instance_type"] + SUCCESSOR)
    pools = keys.iloc[mig][POOL_KEYS].drop_duplicates()
    cat = catalog[catalog.set_index(POOL_KEYS).index.isin(pools.set_index(POOL_KEYS).index)]
    follow = cat[cat["pricing_model"].isin(["on_demand", "spot"])
                 | cat["commitment_family"].fillna("").isin(FLEXIBLE_FAMILIES)]
    follow = follow.assign(instance_type=follow["instance_type"] + SUCCESSOR,
                           source="successor of " + follow["instance_type"] + " (migration; priced as it): "
                           + follow["source"].astype(str))
    notes = [f"migration: {', '.join(f'{it} {s:.0%}/year' for it, s in sorted(set(zip(keys['instance_type'].iloc[mig], share[mig]))))} "
             f"of demand moves to a newer generation ('+next' pools, priced like the old one); savings plans and "
             "flexible CUDs follow it, reserved instances and resource CUDs do not"]
    return (pd.concat([keys, new_keys], ignore_index=True), np.concatenate([kept, moved], axis=0),
            pd.concat([catalog, follow], ignore_index=True), notes)
