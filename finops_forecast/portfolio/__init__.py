"""Commitment portfolio: instruments, billing engine, the cvxpy model, policies and the plan.

Public names::

    optimize(scenarios, catalog, inventory=None, config=PortfolioConfig()) -> Plan
    PortfolioConfig, Plan, Scenarios
    build_market(catalog, series_keys, ...) -> Market
    bill(demand, market, held) -> Bill              (the billing engine, shared by every evaluation)
    newsvendor_commitment(...)                       (closed-form oracle)
    inventory_from_focus(focus, expires=...)         (owned commitments from a FOCUS export)
    policies: decide(policy, ...), POLICIES

Imports are lazy so ``import finops_forecast.portfolio`` does not load cvxpy.
"""
from __future__ import annotations

from finops_forecast._lazy import lazy_exports

_EXPORTS = {
    "optimize": "finops_forecast.portfolio.api",
    "prepare": "finops_forecast.portfolio.api",
    "Scenarios": "finops_forecast.portfolio.api",
    "PortfolioConfig": "finops_forecast.portfolio.config",
    "Plan": "finops_forecast.portfolio.plan",
    "Market": "finops_forecast.portfolio.instruments",
    "SpotSettings": "finops_forecast.portfolio.instruments",
    "build_market": "finops_forecast.portfolio.instruments",
    "Bill": "finops_forecast.portfolio.billing",
    "bill": "finops_forecast.portfolio.billing",
    "bill_chunks": "finops_forecast.portfolio.billing",
    "newsvendor_commitment": "finops_forecast.portfolio.newsvendor",
    "inventory_from_focus": "finops_forecast.portfolio.inventory",
    "validate_inventory": "finops_forecast.portfolio.inventory",
    "decide": "finops_forecast.portfolio.policies",
    "POLICIES": "finops_forecast.portfolio.policies",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
