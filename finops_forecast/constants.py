"""Names and numbers every stage shares, defined once (this module imports nothing).

The stages re-export them where public code has always imported them (``usage.schema``, ``forecast``,
``pricing.schema``, ``portfolio.instruments``, ``evaluate.rolling``); new code imports them from here.
"""

#: a pool: where GPUs are bought and priced (docs/CONTRACTS.md)
POOL_KEYS = ["provider", "region", "instance_type"]

#: a demand series: one pool x workload class (the forecasting and purchasing grain)
SERIES_KEYS = POOL_KEYS + ["workload_class"]

#: hours in a billing month, as AWS, GCP and Azure count them (730 h = 8760 h / 12) [h/month]
HOURS_PER_MONTH = 730.0

#: hours in a year of billing months (12 x 730 h = 8760 h) [h/year]
HOURS_PER_YEAR = 12 * HOURS_PER_MONTH
