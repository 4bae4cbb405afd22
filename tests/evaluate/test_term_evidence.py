"""Evidence backtest of terms on price history: known answers by hand and the real p5 history."""
from __future__ import annotations

import pandas as pd
import pytest

from finops_forecast.evaluate.term_evidence import term_evidence


def _rows(rates):
    base = dict(provider="aws", region="us-east-1", instance_type="p5.48xlarge", gpu_count=8,
                payment_option="no_upfront", source="test")
    out = []
    for date, od, r12, r36 in rates:
        out += [{**base, "pricing_model": "on_demand", "commitment_family": "", "term_months": 0,
                 "usd_per_gpu_hour": od, "effective_date": date},
                {**base, "pricing_model": "reserved", "commitment_family": "aws_standard_ri", "term_months": 12,
                 "usd_per_gpu_hour": r12, "effective_date": date},
                {**base, "pricing_model": "reserved", "commitment_family": "aws_standard_ri", "term_months": 36,
                 "usd_per_gpu_hour": r36, "effective_date": date}]
    return pd.DataFrame(out)


def test_a_halving_after_a_year_makes_1_year_terms_win():
    # on demand 10 -> 5 USD/GPU-h after 12 months; 1-year 6.3 -> 3.15; 3-year 4.3 -> 2.15.
    # bought in 2023-01: 1-year = (12 x 6.3 + 24 x 3.15) / (12 x 10 + 24 x 5) = 151.2 / 240 = 0.63
    #                     3-year = 36 x 4.3 / 240 = 0.645; laddered = (0.63 + 0.645) / 2
    h = _rows([("2023-01-01", 10.0, 6.3, 4.3), ("2024-01-01", 5.0, 3.15, 2.15)])
    t = term_evidence([("aws", "us-east-1", "p5.48xlarge")], h, start="2023-01-01", end="2023-01-01").iloc[0]
    assert t["cost_1_year"] == pytest.approx(0.63)
    assert t["cost_3_year"] == pytest.approx(0.645)
    assert t["cost_laddered"] == pytest.approx(0.6375)
    assert t["winner"] == "1-year" and t["margin"] == pytest.approx(0.0075, abs=1e-4)


def test_flat_prices_make_3_year_terms_win():
    h = _rows([("2023-01-01", 10.0, 6.3, 4.3)])
    t = term_evidence([("aws", "us-east-1", "p5.48xlarge")], h, start="2023-01-01", end="2023-06-01").iloc[0]
    assert t["winner"] == "3-year" and t["wins_3_year"] == 6 and t["windows_with_a_price_change"] == 0
    assert t["cost_3_year"] == pytest.approx(0.43)


def test_real_p5_history_1_year_wins_when_bought_before_the_cut():
    t = term_evidence([("aws", "us-east-1", "p5.48xlarge")]).iloc[0]
    # 98.32 -> 55.04 USD/h on 2025-06-23: purchases up to a year before the cut renew 1-year terms after it
    assert t["wins_1_year"] > 0 and t["wins_3_year"] > 0
    assert t["windows_with_a_price_change"] > 0
