"""Pricing: the bundled, dated GPU price catalog, importers for real price sources, spot effective cost.

>>> from finops_forecast.pricing import load_pricing, price
>>> cat = load_pricing(as_of="2025-06-01")                                                # doctest: +SKIP
>>> price(cat, "aws", "us-east-1", "p5.48xlarge", "on_demand")                            # doctest: +SKIP
98.32

Importing this package does no I/O: the catalog is read on the first :func:`load_pricing` call.
See docs/pricing.md.
"""
from __future__ import annotations

from finops_forecast._lazy import lazy_exports

_EXPORTS = {
    # catalog
    "load_pricing": "finops_forecast.pricing.catalog",
    "price": "finops_forecast.pricing.catalog",
    "pricing_names": "finops_forecast.pricing.catalog",
    "pool_options": "finops_forecast.pricing.catalog",
    "check_pools": "finops_forecast.pricing.catalog",
    "select_as_of": "finops_forecast.pricing.catalog",
    # schema
    "validate_catalog": "finops_forecast.pricing.schema",
    "CATALOG_COLUMNS": "finops_forecast.pricing.schema",
    "PRICE_KEYS": "finops_forecast.pricing.schema",
    "PRICING_MODELS": "finops_forecast.pricing.schema",
    "PAYMENT_OPTIONS": "finops_forecast.pricing.schema",
    "COMMITMENT_FAMILIES": "finops_forecast.pricing.schema",
    "HOURS_PER_MONTH": "finops_forecast.pricing.schema",
    # importers
    "read_cyclenerd_yml": "finops_forecast.pricing.importers",
    "read_skypilot_csv": "finops_forecast.pricing.importers",
    "read_ec2instances_json": "finops_forecast.pricing.importers",
    "read_spot_advisor": "finops_forecast.pricing.importers",
    "spot_rows_from_advisor": "finops_forecast.pricing.importers",
    "read_price_csv": "finops_forecast.pricing.importers",
    "pricing_template": "finops_forecast.pricing.importers",
    # payment options
    "amortized_rate": "finops_forecast.pricing.payment",
    "split_payment": "finops_forecast.pricing.payment",
    "equivalent_hourly_rate": "finops_forecast.pricing.payment",
    "implied_annual_rate": "finops_forecast.pricing.payment",
    # spot
    "spot_effective_cost": "finops_forecast.pricing.spot",
    "expected_rework": "finops_forecast.pricing.spot",
    "interruption_rate": "finops_forecast.pricing.spot",
    "SpotProfile": "finops_forecast.pricing.spot",
    "SPOT_PROFILES": "finops_forecast.pricing.spot",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
