"""What-if: bill a purchase list the user types on the forecast paths (AWS's Savings Plans Purchase Analyzer, for
every cloud at once).

``whatif(scenarios, catalog, ["aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=40"])`` holds the listed
commitments (plus any owned) over the forecast hours and bills every path with the billing engine: expected cost
against all on demand and against no new commitments, coverage, utilization (mean and 10th percentile over
paths), and per line the obligation and the break-even numbers of :func:`~finops_forecast.portfolio.api.
signing_numbers`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from finops_forecast.errors import PortfolioError
from finops_forecast.portfolio.api import as_scenarios, npv_price, signing_numbers
from finops_forecast.portfolio.billing import bill_paths
from finops_forecast.portfolio.config import PortfolioConfig
from finops_forecast.portfolio.instruments import HOURS_PER_MONTH, Market, SpotSettings, build_market
from finops_forecast.portfolio.inventory import active_quantities, validate_inventory

LINE_COLUMNS = ["instrument", "quantity", "unit", "term_months", "payment_option", "commitment_usd_per_hour",
                "obligation_usd", "expected_utilization", "utilization_p10", "break_even_utilization",
                "walk_away_month"]


@dataclass
class WhatIf:
    """A purchase list billed on the forecast paths.

    Attributes
    ----------
    lines : DataFrame
        One row per purchase (:data:`LINE_COLUMNS`): obligation_usd [USD] every fee of the term;
        expected_utilization and utilization_p10 over paths, in [0, 1]; break_even_utilization; walk_away_month
        [months] (docs/glossary.md).
    hours : int
        Forecast hours billed [h].
    expected_cost_usd, no_purchase_cost_usd, on_demand_cost_usd : float
        Mean over paths of the bill with the purchases, without them (owned commitments only) and all on
        demand [USD].
    path_cost_usd : ndarray (paths,)
        Bill of each path with the purchases [USD].
    coverage, utilization, utilization_p10 : float
        Share of demand covered; used / committed of the purchases (mean and 10th percentile over paths).
    obligation_usd : float
        Every fee still to pay over the purchases' terms [USD].
    """

    lines: pd.DataFrame
    hours: int
    expected_cost_usd: float
    no_purchase_cost_usd: float
    on_demand_cost_usd: float
    path_cost_usd: np.ndarray
    coverage: float
    utilization: float
    utilization_p10: float
    obligation_usd: float

    @property
    def savings_usd(self) -> float:
        """Expected saving of the purchases against buying nothing new [USD]."""
        return self.no_purchase_cost_usd - self.expected_cost_usd


def parse_buy(text: str) -> tuple[str, float]:
    """``"<instrument id>=<quantity>"`` -> (id, quantity), e.g. ``aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=40``."""
    ident, sep, qty = str(text).rpartition("=")
    try:
        q = float(qty)
    except ValueError:
        q = float("nan")
    if not sep or not ident or not np.isfinite(q) or q <= 0:
        raise PortfolioError(f"--buy '{text}': write INSTRUMENT=QUANTITY with a quantity > 0, e.g. "
                             "'aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=40' (instances, GPUs for "
                             "gcp_resource_cud, USD/h for savings plans and flex CUDs).")
    return ident.strip(), q


def whatif(scenarios, catalog: pd.DataFrame, buys, inventory: pd.DataFrame | None = None,
           config: PortfolioConfig | None = None) -> WhatIf:
    """Bill a purchase list on the forecast paths.

    Parameters
    ----------
    scenarios : ForecastResult or Scenarios
        Demand sample paths [GPU-h per hour].
    catalog : DataFrame
        Pricing catalog.
    buys : list of str or dict
        ``"INSTRUMENT=QUANTITY"`` strings, or {instrument id: quantity} [instance, GPU or USD/h].
    inventory : DataFrame, optional
        Commitments already owned (held in both bills).
    config : PortfolioConfig, optional
        Spot settings and ``cost_of_capital`` (break-even numbers).

    Returns
    -------
    WhatIf

    Raises
    ------
    PortfolioError
        An unknown instrument (the message lists the priced ones and the closest name) or a bad quantity.
    """
    config = config or PortfolioConfig()
    scen = as_scenarios(scenarios)
    pairs = list(buys.items()) if isinstance(buys, dict) else [parse_buy(b) for b in buys]
    if not pairs:
        raise PortfolioError("whatif needs at least one purchase, e.g. --buy "
                             "'aws_standard_ri:us-east-1:p5.48xlarge:36m:no_upfront=40'.")
    mk = build_market(catalog, scen.keys, terms_months=(12, 36),
                      payment_options=("no_upfront", "partial_upfront", "all_upfront"),
                      spot=SpotSettings(classes=tuple(config.spot_classes), cap=config.spot_cap))
    buy = np.zeros(mk.n_instruments)
    for ident, q in pairs:
        buy[mk.instrument_index(ident)] += float(q)
    terms = mk.instruments["term_months"].to_numpy(float)[buy > 0]
    H = int(min(len(scen.ds), terms.min() * HOURS_PER_MONTH))
    owned = _owned(inventory, mk, scen.ds[0], H)
    X = mk.chunks_major(scen.slice_major(0, H))
    with_buy = bill_paths(X, mk, owned + buy)
    without = bill_paths(X, mk, owned)
    lines = _lines(mk, buy, owned, with_buy, config.cost_of_capital, n_rows=X.shape[1] * H)
    d = with_buy["demand"].sum()
    u_path = with_buy["used"][:, buy > 0].sum(1) / np.maximum(with_buy["committed"][:, buy > 0].sum(1), 1e-12)
    return WhatIf(lines=lines, hours=H, expected_cost_usd=float(with_buy["path_cost"].mean()),
                  no_purchase_cost_usd=float(without["path_cost"].mean()),
                  on_demand_cost_usd=float(with_buy["path_od"].mean()), path_cost_usd=with_buy["path_cost"],
                  coverage=float(with_buy["covered"].sum() / d) if d > 0 else 0.0,
                  utilization=float(np.mean(u_path)), utilization_p10=float(np.quantile(u_path, 0.10)),
                  obligation_usd=float(lines["obligation_usd"].sum()))


def _owned(inventory, mk: Market, start: pd.Timestamp, hours: int) -> np.ndarray:
    """Mean quantity of each instrument owned over the billed hours [instance, GPU or USD/h]."""
    inv = validate_inventory(inventory)
    if not len(inv):
        return np.zeros(mk.n_instruments)
    act, _ = active_quantities(inv, mk, pd.DatetimeIndex([start]),
                               pd.DatetimeIndex([start + pd.Timedelta(hours=hours)]))
    return act[0]


def _lines(mk: Market, buy: np.ndarray, owned: np.ndarray, acc: dict, cost_of_capital: float,
           n_rows: int) -> pd.DataFrame:
    """Per purchase line: obligation, utilization over paths and the break-even numbers. Utilization is the
    instrument's (shared with what is owned of the same instrument)."""
    ins = mk.instruments
    fee_eq = npv_price(mk, cost_of_capital)
    rows = []
    for i in np.flatnonzero(buy > 0):
        r = ins.iloc[i]
        u_path = acc["used"][:, i] / np.maximum(acc["committed"][:, i], 1e-12)
        u = float(np.mean(u_path))
        held = owned[i] + buy[i]
        used_h = acc["used"][:, i].sum() / n_rows  # [USD/h]
        per_used = float(acc["displaced"][i] / n_rows / used_h) if used_h > 0 else float("nan")
        sign = signing_numbers(mk, i, fee_eq[i], u, displaced_per_used=per_used,
                               value_per_unit=float(acc["displaced"][i] / n_rows / held))
        q = float(buy[i])
        rows.append(dict(instrument=r["id"], quantity=q, unit=r["unit"], term_months=int(r["term_months"]),
                         payment_option=r["payment_option"], commitment_usd_per_hour=q * float(r["price"]),
                         obligation_usd=q * (float(r["upfront"]) + float(r["recurring"]) * HOURS_PER_MONTH
                                             * float(r["term_months"])),
                         expected_utilization=u, utilization_p10=float(np.quantile(u_path, 0.10)),
                         break_even_utilization=sign["break_even_utilization"],
                         walk_away_month=sign["walk_away_month"]))
    return pd.DataFrame(rows, columns=LINE_COLUMNS)
