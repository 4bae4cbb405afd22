"""The SQL that :func:`~finops_forecast.usage.focus.read_focus` runs on a FOCUS export, built as text.

Pure functions of the export's column names and the reader's settings: nothing here touches a connection.
:func:`focus_sql` gathers the expressions of one export (pool, period, quantity, costs) in a :class:`FocusSql`;
:func:`fate_sql` classifies a row (GPU usage, or the reason it is rejected); ``_focus_checks`` lists the
plausibility checks of GPU usage rows.
"""
from __future__ import annotations

from dataclasses import dataclass

from finops_forecast.usage.bounds import HOW_TO_RAISE, Bounds
from finops_forecast.usage.schema import _PROVIDER_ALIASES

FOCUS_REQUIRED = ["ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ChargeCategory",
                  "ConsumedQuantity", "ConsumedUnit"]
FOCUS_PROVIDER = ["ProviderName", "ServiceProviderName"]
FOCUS_REGION = ["RegionId", "RegionName"]
DEFAULT_WORKLOAD_TAG_KEYS = ("workload_class", "workload-class", "workload", "ai-workload", "WorkloadClass")
DEFAULT_TEAM_TAG_KEYS = ("team", "Team", "owner", "cost-center", "business_unit")
DEFAULT_INSTANCE_COLUMNS = ("x_InstanceType", "x_SkuInstanceType", "InstanceType")
# where to look for an instance type when no column carries it: regexes on descriptive FOCUS columns
INSTANCE_PATTERNS = [
    r"(Standard_[A-Za-z0-9_]+)",                                     # Azure VM sizes
    r"\b([a-z][a-z0-9]*-(?:highgpu|megagpu|ultragpu|edgegpu|standard|highmem)-[0-9]+g?)\b",  # GCP machine types
    r"\b([a-z][a-z0-9-]*\.(?:[0-9]*x?large|metal[a-z0-9-]*))\b",  # AWS instance types
]
# x_UsageType: AWS's usage type ("USE1-BoxUsage:p5.48xlarge"), the only column of AWS's FOCUS 1.0 export that names
# the instance type of a Savings Plan covered row
DESCRIPTIVE_COLUMNS = ("ChargeDescription", "SkuMeter", "x_SkuMeterName", "x_SkuDescription", "x_UsageType",
                       "ResourceName")
# Google's FOCUS view writes Tags as an array of {key, value, ...}; the machine type is this system label
GCP_MACHINE_LABEL = "compute.googleapis.com/machine_spec"
GCP_EXTENSIONS = frozenset({"x_ProjectId", "x_ProjectName", "x_Credits", "x_ExportTime", "x_Labels", "x_Project",
                            "x_ServiceId"})
HOUR_UNITS = ("hours", "hour", "hrs", "hr", "h", "1 hour", "instance-hours")
NULLS = ("", "NULL", "null", "None", "NaN", "nan")


def _sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _nullif(col: str) -> str:
    # equalities joined by OR, not IN (...): DuckDB plans a long IN list as a join, slower per row
    text = f"trim(CAST({col} AS VARCHAR))"
    return f"CASE WHEN {' OR '.join(f'{text} = {_sql_str(n)}' for n in NULLS)} THEN NULL ELSE {text} END"


def _snake(focus_cost: str) -> str:
    """``BilledCost`` -> ``billed_cost``."""
    return {"BilledCost": "billed_cost", "EffectiveCost": "effective_cost", "ListCost": "list_cost"}[focus_cost]


def _q(col: str) -> str:
    return '"' + col.replace('"', '""') + '"'


# GPU usage rows (reason NULL) that fail a check: (condition on `agg` [max_qty] and on `rows` [qty], column)
def _focus_checks(bounds: Bounds, cost_columns: list[str]) -> list[tuple[str, str, str, str]]:
    """The plausibility and completeness checks of GPU usage rows, as (agg condition, rows condition, column,
    message)."""
    early, late = f"TIMESTAMPTZ '{bounds.earliest.isoformat()}'", f"TIMESTAMPTZ '{bounds.latest().isoformat()}'"
    window = f"outside the plausible window {bounds.describe_window()}. Check the value. {HOW_TO_RAISE}"
    rate = "{q} * gpu_count / greatest(1, epoch(t1 - t0) / 3600) > " + repr(float(bounds.max_gpus))
    span = (f"the charge period is longer than the plausible limit of {bounds.max_span_days:g} days (FOCUS rows "
            f"are hourly, daily or monthly). Check ChargePeriodStart/End. {HOW_TO_RAISE}")
    gpus = (f"the row's GPUs (ConsumedQuantity x GPUs per instance / hours) are above the plausible limit of "
            f"{bounds.max_gpus:g} GPUs. Check the value and its unit (instance-hours). {HOW_TO_RAISE}")
    start_out, end_out = f"t0 < {early} OR t0 > {late}", f"t1 < {early} OR t1 > {late}"
    too_long = f"epoch(t1 - t0) > {bounds.max_span_hours * 3600!r}"
    checks = [
        (start_out, start_out, "ChargePeriodStart", f"the charge period starts {window}"),
        (end_out, end_out, "ChargePeriodEnd", f"the charge period ends {window}"),
        (too_long, too_long, "ChargePeriodEnd", span),
        (rate.format(q="max_qty"), rate.format(q="qty"), "ConsumedQuantity", gpus),
    ]
    missing = ("{c} is missing (empty, NULL or NaN) in a GPU usage row. FOCUS requires a cost on every row; fill "
               "it (0 for a free row) or fix the export.")
    checks += [(f"null_{c} > 0", f"null_{c}", c, missing.format(c=c)) for c in cost_columns]
    return checks


def same(cols, a: str, b: str) -> str:
    """SQL condition: tables ``a`` and ``b`` agree on every column of ``cols`` (NULLs equal)."""
    return " AND ".join(f"{a}.{_q(c)} IS NOT DISTINCT FROM {b}.{_q(c)}" for c in cols)


def json_key(k: str) -> str:
    """A key of a JSON path, quoted (``team`` -> ``"team"``)."""
    return '"' + k.replace('"', '\\"') + '"'


def tag_expr(keys, col: str = "tags") -> str:
    """SQL: the value of the first of ``keys`` present in the JSON text ``col`` (NULL when none, or not JSON)."""
    paths = "[" + ", ".join(_sql_str("$." + json_key(k)) for k in keys) + "]"
    return (f"CASE WHEN json_valid({col}) THEN list_filter(json_extract_string({col}, {paths}), "
            f"lambda x: x IS NOT NULL)[1] END") if keys else "NULL"


#: joins a row's pool (``base b``) to its GPUs per instance (``registry g``, NULL for a machine without GPUs)
REGISTRY_JOIN = "LEFT JOIN registry g ON g.provider = b.provider AND g.instance_type = b.instance_type"


def fate_sql(qty_missing: str, qty_negative: str, period_missing: str = "b.t0 IS NULL OR b.t1 IS NULL",
             period_backwards: str = "b.t1 < b.t0", dup: str = "b._dup") -> str:
    """The reason (NULL = GPU usage) and detail of a row of ``base b`` joined with ``registry g``.

    Parameters
    ----------
    qty_missing, qty_negative, period_missing, period_backwards, dup : str
        SQL conditions on ``b``: the quantity is missing / negative, the period is missing / backwards, the row
        is a duplicate delivery (``'false'`` where the query cannot know it yet).

    Returns
    -------
    str
        Two SQL select items, ``reason`` and ``detail``; the first matching reason wins, in the order below.
    """
    return f"""
      CASE
        WHEN {dup} THEN 'duplicate delivery'
        WHEN b.charge_category IS NULL OR lower(b.charge_category) <> 'usage' THEN 'not a usage charge'
        WHEN b.instance_type IS NULL THEN 'no instance type (not a compute instance)'
        WHEN g.gpu_count IS NULL THEN 'instance type is not a GPU machine in the registry'
        WHEN b.unit IS NULL OR b.unit NOT IN ({', '.join(_sql_str(u) for u in HOUR_UNITS)})
          THEN 'GPU instance row not measured in hours'
        WHEN {qty_missing} THEN 'GPU instance row without a numeric ConsumedQuantity'
        WHEN {qty_negative} THEN 'GPU instance row with negative ConsumedQuantity'
        WHEN {period_missing} THEN 'GPU instance row with an unparsable ChargePeriodStart/End'
        WHEN {period_backwards} THEN 'GPU instance row whose ChargePeriodEnd is before its start'
        WHEN b.region IS NULL THEN 'GPU instance row without a region'
      END AS reason,
      CASE
        WHEN {dup} THEN 'the same row is in another file of the input'
        WHEN b.charge_category IS NULL OR lower(b.charge_category) <> 'usage'
          THEN coalesce(b.charge_category, '(empty ChargeCategory)')
        WHEN b.instance_type IS NULL THEN NULL
        WHEN g.gpu_count IS NULL THEN b.instance_type
        ELSE coalesce(b.unit, '(empty ConsumedUnit)')
      END AS detail"""


@dataclass(frozen=True)
class FocusSql:
    """The SQL expressions of one FOCUS export, over its raw columns (built by :func:`focus_sql`).

    Attributes
    ----------
    columns : tuple of str
        The export's columns (FOCUS 1.0 names).
    cost : dict
        ``BilledCost``, ``EffectiveCost``, ``ListCost`` -> the value as DECIMAL(38, 12) [billing currency], or
        ``NULL`` when the export has no such column.
    key_cols, pool_cols : list of str
        The raw columns a row's pool, period and fate are computed from (``key_cols``), and those without the
        charge period (``pool_cols``). An export repeats few distinct combinations of them, so the expressions
        run once per distinct pool and period, not once per row.
    key_gates : dict
        Column -> the SQL of its value as a key: NULL where an earlier source of the instance type already has
        one (a ``ResourceName`` that is unique per resource is no key when ``x_InstanceType`` names the machine),
        so that rows group by pool, not by resource. Read through the view ``keyed`` (:func:`keyed_sql`).
    keys_sql, pool_sql, period_sql : str
        ``key_cols`` quoted; the select items ``provider, region, charge_category, unit, instance_type``; and
        ``t0, t1`` (the charge period, TIMESTAMPTZ).
    qty_sql, start_sql, end_sql, commit, sub, rid : str
        ConsumedQuantity as a finite DOUBLE [instance-h] (else NULL), the period's text bounds, whether a
        commitment discount applied, the sub account and the resource id (``NULL`` / ``false`` when absent).
    """

    columns: tuple[str, ...]
    cost: dict
    key_cols: list[str]
    pool_cols: list[str]
    key_gates: dict
    keys_sql: str
    pool_sql: str
    period_sql: str
    qty_sql: str
    start_sql: str
    end_sql: str
    commit: str
    sub: str
    rid: str

    def has(self, column: str) -> bool:
        """True when the export has ``column``."""
        return column in self.columns

    def bad_cost(self, column: str) -> str:
        """SQL: the cost ``column`` has a value that is not a number."""
        return f"({_nullif(column)} IS NOT NULL AND {self.cost[column]} IS NULL)"


def _instance_type_sql(has, instance_type_columns) -> str:
    """SQL: a row's instance type, from the first source that has one (columns, SkuPriceDetails, descriptions)."""
    inst_sources = [_nullif(_q(c)) for c in instance_type_columns if has(c)]
    if has("SkuPriceDetails"):
        spd = _nullif("SkuPriceDetails")
        inst_sources += [f"CASE WHEN json_valid({spd}) THEN json_extract_string({spd}, '$.{k}') END"
                         for k in ("InstanceType", "x_InstanceType", "InstanceTypeName")]
    for c in DESCRIPTIVE_COLUMNS:
        if has(c):
            inst_sources += [f"NULLIF(regexp_extract({_nullif(_q(c))}, {_sql_str(p)}, 1), '')"
                             for p in INSTANCE_PATTERNS]
    if _gcp_tags(has):
        tags = _nullif("Tags")
        inst_sources.append(
            f"CASE WHEN json_valid({tags}) AND json_type({tags}) = 'ARRAY' THEN list_filter(from_json({tags}, "
            f"'[{{\"key\": \"VARCHAR\", \"value\": \"VARCHAR\"}}]'), lambda x: x.key = "
            f"{_sql_str(GCP_MACHINE_LABEL)})[1].value END")
    return f"coalesce({', '.join(inst_sources)})" if inst_sources else "NULL"


def _key_gates(has, instance_type_columns) -> dict:
    """SQL per source column of the instance type after the first: its value, or NULL where an earlier source
    (the instance-type columns, then ``SkuPriceDetails``) names the instance type; ``Tags`` is never gated (the
    tags are read from it)."""
    direct = [_nullif(_q(c)) for c in instance_type_columns if has(c)]
    gates = {}
    if has("SkuPriceDetails") and direct:
        gates["SkuPriceDetails"] = f"CASE WHEN coalesce({', '.join(direct)}) IS NULL THEN SkuPriceDetails END"
    if has("SkuPriceDetails"):
        spd = _nullif("SkuPriceDetails")
        direct += [f"CASE WHEN json_valid({spd}) THEN json_extract_string({spd}, '$.{k}') END"
                   for k in ("InstanceType", "x_InstanceType", "InstanceTypeName")]
    if direct:
        gates.update({c: f"CASE WHEN coalesce({', '.join(direct)}) IS NULL THEN {_q(c)} END"
                      for c in DESCRIPTIVE_COLUMNS if has(c)})
    return gates


def keyed_sql(q: "FocusSql", source: str = "raw") -> str:
    """SQL: the rows of ``source`` with the key columns gated (``q.key_gates``): the view ``keyed``."""
    if not q.key_gates:
        return f"SELECT * FROM {source}"
    return (f"SELECT * REPLACE ({', '.join(f'{e} AS {_q(c)}' for c, e in q.key_gates.items())}) "
            f"FROM {source}")


def timestamp_sql(text: str) -> str:
    """SQL: the text as a TIMESTAMPTZ, NULL when it is not a time or is infinite (``inf``, ``infinity``: no
    charge period, and DuckDB cannot subtract them)."""
    return (f"nullif(nullif(TRY_CAST({text} AS TIMESTAMPTZ), 'infinity'::TIMESTAMPTZ), "
            f"'-infinity'::TIMESTAMPTZ)")


def _gcp_tags(has) -> bool:
    """True for a Google Cloud FOCUS export with Tags (the machine type is one of its system labels)."""
    return has("Tags") and any(has(c) for c in GCP_EXTENSIONS)


def focus_sql(columns, provider_col: str, region_col: str, instance_type_columns) -> FocusSql:
    """Build the :class:`FocusSql` of an export from its column names.

    Parameters
    ----------
    columns : sequence of str
        The export's columns, FOCUS 1.0 names.
    provider_col, region_col : str
        The columns holding the provider (``ProviderName`` or ``ServiceProviderName``) and the region.
    instance_type_columns : sequence of str
        Columns that carry the instance type directly, first present wins.
    """
    has = set(columns).__contains__
    cost = {c: (f"TRY_CAST({_nullif(c)} AS DECIMAL(38, 12))" if has(c) else "NULL")
            for c in ("BilledCost", "EffectiveCost", "ListCost")}
    provider_sql = ("CASE lower(trim(CAST({c} AS VARCHAR))) "
                    + " ".join(f"WHEN {_sql_str(k)} THEN {_sql_str(v)}" for k, v in _PROVIDER_ALIASES.items())
                    + " ELSE lower(trim(CAST({c} AS VARCHAR))) END").format(c=_nullif(_q(provider_col)))
    start_sql, end_sql = _nullif("ChargePeriodStart"), _nullif("ChargePeriodEnd")
    # a quantity that is not a finite number (text, 'inf', '1e400') is no quantity: inf - inf would unbalance
    qty_sql = (f"nullif(nullif(TRY_CAST({_nullif('ConsumedQuantity')} AS DOUBLE), 'inf'::DOUBLE), "
               f"'-inf'::DOUBLE)")
    key_cols = list(dict.fromkeys(c for c in (provider_col, region_col, "ChargeCategory", "ConsumedUnit",
                                              "ChargePeriodStart", "ChargePeriodEnd", *instance_type_columns,
                                              "SkuPriceDetails", *DESCRIPTIVE_COLUMNS,
                                              *(["Tags"] if _gcp_tags(has) else [])) if has(c)))
    pool_sql = f"""{provider_sql} AS provider, {_nullif(_q(region_col))} AS region,
                 {_nullif('ChargeCategory')} AS charge_category, lower({_nullif('ConsumedUnit')}) AS unit,
                 {_instance_type_sql(has, instance_type_columns)} AS instance_type"""
    return FocusSql(
        columns=tuple(columns), cost=cost, key_cols=key_cols,
        pool_cols=[c for c in key_cols if c not in ("ChargePeriodStart", "ChargePeriodEnd")],
        key_gates=_key_gates(has, instance_type_columns),
        keys_sql=", ".join(_q(c) for c in key_cols), pool_sql=pool_sql,
        period_sql=f"{timestamp_sql(start_sql)} AS t0, {timestamp_sql(end_sql)} AS t1",
        qty_sql=qty_sql, start_sql=start_sql, end_sql=end_sql,
        commit=(f"({_nullif('CommitmentDiscountId')} IS NOT NULL)" if has("CommitmentDiscountId") else "false"),
        sub=_nullif("SubAccountId") if has("SubAccountId") else "NULL",
        rid=_nullif("ResourceId") if has("ResourceId") else "NULL")
