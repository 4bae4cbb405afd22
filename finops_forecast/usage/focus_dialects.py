"""FOCUS versions (1.0-preview .. 1.3) and provider dialects: which columns an export has, and their 1.x names.

The readers work on FOCUS 1.0 column names. Exports from other versions and providers differ in a few names:

- **1.0-preview** (FOCUS v0.5 / 1.0-preview; Oracle's FOCUS reports still use several of these names):
  ``AmortizedCost`` -> ``EffectiveCost``, ``ChargeType`` -> ``ChargeCategory``, ``UsageQuantity`` ->
  ``ConsumedQuantity``, ``UsageUnit`` -> ``ConsumedUnit``, ``BilledCurrency`` -> ``BillingCurrency``,
  ``Provider`` / ``Publisher`` -> ``ProviderName`` / ``PublisherName``, ``Region`` -> ``RegionId``,
  ``InvoiceIssuer`` -> ``InvoiceIssuerName``.
- **1.1** adds ``CommitmentDiscountQuantity`` / ``CommitmentDiscountUnit``, ``CapacityReservationId`` /
  ``CapacityReservationStatus``, ``SkuPriceDetails``, ``ServiceSubcategory``.
- **1.2** adds ``BillingAccountType``, ``SubAccountType``, ``InvoiceId``, ``PricingCurrency`` and the
  ``PricingCurrency*`` cost columns.
- **1.3** replaces ``ProviderName`` / ``PublisherName`` with ``ServiceProviderName`` / ``HostProviderName``
  (``ServiceProviderName`` is read as ``ProviderName``) and adds the Contract Commitment dataset
  (``ContractCommitment*`` columns, a separate file: recognised, not a cost and usage export).

Provider columns (``x_`` on AWS, Azure and Google, ``oci_`` on Oracle) are kept as they are; nothing requires
them. A rename is applied only when the 1.x name is not already in the file.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# older or newer name -> the FOCUS 1.0 name the readers use
FOCUS_RENAMES = {
    "AmortizedCost": "EffectiveCost",
    "ChargeType": "ChargeCategory",
    "UsageQuantity": "ConsumedQuantity",
    "UsageUnit": "ConsumedUnit",
    "BilledCurrency": "BillingCurrency",
    "Provider": "ProviderName",
    "Publisher": "PublisherName",
    "Region": "RegionId",
    "InvoiceIssuer": "InvoiceIssuerName",
    "ServiceProviderName": "ProviderName",
}
PREVIEW_MARKERS = frozenset({"AmortizedCost", "ChargeType", "UsageQuantity", "UsageUnit", "Provider", "Region"})
V11_MARKERS = frozenset({"CommitmentDiscountQuantity", "CommitmentDiscountUnit", "CapacityReservationId",
                         "CapacityReservationStatus", "SkuPriceDetails", "ServiceSubcategory"})
V12_MARKERS = frozenset({"BillingAccountType", "SubAccountType", "InvoiceId", "PricingCurrency",
                         "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice"})
V13_MARKERS = frozenset({"ServiceProviderName", "HostProviderName"})
CONTRACT_MARKERS = frozenset({"ContractCommitmentId", "ContractCommitmentCategory", "ContractId"})
# provider extension columns that say whose export it is (from each provider's published FOCUS column list)
DIALECT_MARKERS = {
    "azure": frozenset({"x_SkuMeterName", "x_ResourceGroupName", "x_BillingProfileId", "x_SkuMeterCategory",
                        "x_InvoiceSectionId", "x_AccountName", "x_SkuMeterId"}),
    "aws": frozenset({"x_UsageType", "x_Operation", "x_ServiceCode", "x_CostCategories", "x_Discounts"}),
    "gcp": frozenset({"x_ProjectId", "x_ProjectName", "x_Credits", "x_ExportTime", "x_Labels"}),
    "oci": frozenset({"oci_ReferenceNumber", "oci_CompartmentId", "oci_CompartmentName", "oci_OverageFlag",
                      "oci_BackReferenceNumber", "oci_AttributedCost"}),
}
VERSIONS = ("1.0-preview", "1.0", "1.1", "1.2", "1.3")


@dataclass(frozen=True)
class FocusDialect:
    """What an export's header says about it.

    Attributes
    ----------
    version : str
        The FOCUS version its columns match (one of :data:`VERSIONS`; the lowest version with every column
        it has, so a 1.2 export without 1.2-only columns reads as 1.1), or ``"contract-commitment"`` for the
        1.3 Contract Commitment dataset.
    provider : str or None
        ``aws``, ``azure``, ``gcp`` or ``oci`` when provider extension columns say so, else None.
    renames : dict
        Column of the file -> FOCUS 1.0 name the readers use.
    extensions : tuple of str
        Provider columns (``x_...``, ``oci_...``), kept and otherwise ignored.
    """

    version: str
    provider: str | None
    renames: dict = field(default_factory=dict)
    extensions: tuple = ()

    def note(self) -> str:
        """One sentence for a reconciliation: the version, the provider and the renamed columns."""
        who = f" ({self.provider} dialect)" if self.provider else ""
        ren = ("; columns read under their FOCUS 1.0 names: "
               + ", ".join(f"{a} as {b}" for a, b in self.renames.items())) if self.renames else ""
        return f"FOCUS {self.version} columns{who}{ren}."


def detect_focus_version(columns, version: str | None = None) -> FocusDialect:
    """Detect the FOCUS version and provider dialect of an export from its column names.

    Parameters
    ----------
    columns : iterable of str
        The export's column names, as in the file.
    version : str, optional
        The version to assume instead of detecting it (one of :data:`VERSIONS`); the renames still follow the
        columns present.

    Returns
    -------
    FocusDialect
    """
    cols = [str(c) for c in columns]
    have = set(cols)
    if version is not None and version not in VERSIONS:
        from finops_forecast.errors import unknown_name
        raise unknown_name("FOCUS version", version, VERSIONS)
    if version is None:
        if have & CONTRACT_MARKERS and "ChargePeriodStart" not in have:
            version = "contract-commitment"
        elif have & V13_MARKERS:
            version = "1.3"
        elif have & V12_MARKERS:
            version = "1.2"
        elif have & V11_MARKERS:
            version = "1.1"
        elif any(FOCUS_RENAMES[c] not in have for c in have & PREVIEW_MARKERS):
            # a 1.0-preview name without its 1.0 name (Oracle mixes preview names with ChargeCategory, EffectiveCost)
            version = "1.0-preview"
        else:
            version = "1.0"
    renames = {old: new for old, new in FOCUS_RENAMES.items() if old in have and new not in have}
    # two old names for one new name (never in a real export): keep the first
    seen: dict[str, str] = {}
    for old, new in list(renames.items()):
        if new in seen:
            del renames[old]
        seen.setdefault(new, old)
    ext = tuple(c for c in cols if c.startswith(("x_", "oci_")))
    provider = next((p for p, marks in DIALECT_MARKERS.items() if have & marks), None)
    if provider is None and any(c.startswith("oci_") for c in cols):
        provider = "oci"
    return FocusDialect(version=version, provider=provider, renames=renames, extensions=ext)


def rename_sql(columns, renames: dict) -> str:
    """A DuckDB select list reading ``columns`` with ``renames`` applied (quoted identifiers)."""
    def q(c: str) -> str:
        return '"' + c.replace('"', '""') + '"'
    return ", ".join(f"{q(c)} AS {q(renames[c])}" if c in renames else q(c) for c in columns)
