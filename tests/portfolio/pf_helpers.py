"""Helpers: small catalogs and demand built in the tests (known-answer cases), plus the real catalog when present."""
from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["provider", "region", "instance_type", "workload_class"]


def catalog_rows(pool, gpus, od, *, ri=None, sp=None, ec2sp=None, spot=None, spot_label="<5%",
                 payment="no_upfront", upfront_share=0.0):
    """Catalog rows for one pool; rates are per GPU-hour, dicts term_months -> rate [USD/GPU-h]."""
    prov, reg, it = pool
    base = dict(provider=prov, region=reg, instance_type=it, gpu_type="X", gpu_count=gpus,
                effective_date="2026-01-01", source="test fixture", is_assumption=False)
    rows = [{**base, "pricing_model": "on_demand", "commitment_family": "", "term_months": 0,
             "payment_option": "no_upfront", "usd_per_hour": od * gpus}]
    if spot is not None:
        rows.append({**base, "pricing_model": "spot", "commitment_family": "", "term_months": 0,
                     "payment_option": "no_upfront", "usd_per_hour": spot * gpus,
                     "interruption_label": spot_label})
    fam_ri = {"aws": "aws_standard_ri", "gcp": "gcp_resource_cud", "azure": "azure_reservation"}[prov]
    fam_sp = {"aws": "aws_compute_sp", "gcp": "gcp_flex_cud", "azure": "azure_sp"}[prov]
    for rates, model, fam in ((ri, "cud" if prov == "gcp" else "reserved", fam_ri),
                              (sp, "savings_plan", fam_sp), (ec2sp, "savings_plan", "aws_ec2_instance_sp")):
        for term, r in (rates or {}).items():
            eff = r * gpus
            up = upfront_share * eff * term * 730
            rows.append({**base, "pricing_model": model, "commitment_family": fam, "term_months": term,
                         "payment_option": payment, "usd_per_hour": eff, "upfront_usd": up,
                         "recurring_usd_per_hour": eff - up / (term * 730)})
    return rows


def make_catalog(*pools):
    return pd.DataFrame([r for p in pools for r in p])


def keys(*series):
    return pd.DataFrame(list(series), columns=KEYS)


P5 = ("aws", "us-east-1", "p5.48xlarge")
P4 = ("aws", "us-east-1", "p4d.24xlarge")


def hourly_paths(n_paths, hours, levels, noise, rng, trend=0.0, common=0.15):
    """(series, paths, hours) demand with a diurnal cycle, a per-path level shock and hourly noise."""
    h = np.arange(hours)
    diurnal = 1 + 0.15 * np.sin(2 * np.pi * h / 24)
    tr = 1 + trend * h / max(hours - 1, 1)
    shock = rng.lognormal(0, common, (n_paths, 1))
    return np.stack([np.clip(lv * tr * diurnal * shock + rng.normal(0, s, (n_paths, hours)), 0, None)
                     for lv, s in zip(levels, noise)])
