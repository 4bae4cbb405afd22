"""Write the small FOCUS dialect files of tests/data/focus/ (run once; the CSVs are committed).

Column lists follow the providers' published FOCUS column lists (cited in tests/data/README.md); values are
made up for the tests and stated in each file's comment below, so every known answer can be computed by hand.
"""
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
SP = "/providers/Microsoft.BillingBenefits/savingsPlans/sp-gpu-10usd"


def azure(daily: bool) -> pd.DataFrame:
    """Azure FocusCost 1.0: a 10 USD/h savings plan over 2 days, 75% used by one ND96isr H100 v5 VM.

    Hourly: per hour a Used row (EffectiveCost 7.5, ListCost 10.0, 0.75 VM-h) and an Unused row (2.5).
    Daily: the same per day (x24): Used 180 / list 240 / 18 VM-h, Unused 60.
    """
    k = 24 if daily else 1
    starts = pd.date_range("2026-10-01", periods=48 // k, freq=f"{k}h", tz="UTC")
    rows = []
    for t0 in starts:
        t1 = t0 + pd.Timedelta(hours=k)
        base = dict(BillingAccountId="/providers/Microsoft.Billing/billingAccounts/1234", BillingAccountName="Contoso",
                    BillingCurrency="USD", BillingPeriodStart="2026-10-01T00:00:00Z",
                    BillingPeriodEnd="2026-11-01T00:00:00Z", ChargeCategory="Usage", ChargeClass="NULL",
                    ChargeFrequency="Usage-Based", ChargePeriodStart=t0.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    ChargePeriodEnd=t1.strftime("%Y-%m-%dT%H:%M:%SZ"), CommitmentDiscountCategory="Spend",
                    CommitmentDiscountId=SP, CommitmentDiscountName="gpu-sp-10usd",
                    CommitmentDiscountType="Savings Plan", InvoiceIssuerName="Microsoft", ProviderName="Microsoft",
                    PublisherName="Microsoft", RegionId="eastus", RegionName="East US", ServiceCategory="Compute",
                    ServiceName="Virtual Machines", SubAccountId="sub-1", SubAccountName="ml-prod",
                    PricingCategory="Committed", PricingUnit="1 Hour", ConsumedUnit="1 Hour",
                    x_ResourceGroupName="rg-train", x_SkuMeterName="ND96isr H100 v5", x_BillingProfileId="bp-1")
        rows.append(base | dict(CommitmentDiscountStatus="Used", BilledCost=0, EffectiveCost=7.5 * k,
                                ListCost=10.0 * k, ConsumedQuantity=0.75 * k, PricingQuantity=0.75 * k,
                                ResourceId="/subscriptions/sub-1/vm/train-01", ResourceName="train-01",
                                ResourceType="Virtual machine", ChargeDescription="Standard_ND96isr_H100_v5",
                                Tags='{"team": "research", "workload_class": "training"}'))
        rows.append(base | dict(CommitmentDiscountStatus="Unused", BilledCost=0, EffectiveCost=2.5 * k,
                                ListCost=0, ConsumedQuantity="NULL", PricingQuantity="NULL", ResourceId="NULL",
                                ResourceName="NULL", ResourceType="NULL", ChargeDescription="Unused savings plan",
                                Tags="NULL"))
    return pd.DataFrame(rows)


if __name__ == "__main__":
    azure(False).to_csv(HERE / "azure_focuscost_1.0_sp_hourly.csv", index=False)
    azure(True).to_csv(HERE / "azure_focuscost_1.0_sp_daily.csv", index=False)
