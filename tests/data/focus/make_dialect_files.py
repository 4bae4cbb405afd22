"""Write the small FOCUS dialect files of tests/data/focus/ (run once; the CSVs are committed).

Column lists follow the providers' published FOCUS column lists (cited in tests/data/README.md); values are
made up for the tests and stated in each file's comment below, so every known answer can be computed by hand.
"""
import json
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


def _iso(t) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


AWS_SP = "arn:aws:savingsplans::111122223333:savingsplan/sp-gpu-50usd"


def aws() -> pd.DataFrame:
    """AWS Data Exports "FOCUS 1.0 with AWS columns": the 43 FOCUS 1.0 columns + the 5 x_ columns.

    A Compute Savings Plan of 50 USD/h over 12 hours (2026-10-01 00:00-12:00 UTC), hourly rows:
    - 12 Used rows: one p5.48xlarge instance-hour each (8 H100), EffectiveCost 40, ListCost 100, BilledCost 0;
      the instance type is only in x_UsageType ("USE1-BoxUsage:p5.48xlarge", as AWS writes usage types).
    - 12 Unused rows: EffectiveCost 10 (50 - 40), no resource.
    - 12 Purchase rows (Recurring): the plan's hourly fee, BilledCost 50, EffectiveCost 0.
    - 4 on-demand rows (hours 0-3): a second p5.48xlarge, 1 instance-hour, Billed = Effective = List = 100.
    - 1 S3 storage row: Billed = Effective = List = 5.
    Hand totals: 41 rows; GPU-hours (12 + 4) x 8 = 128; GPU rows' EffectiveCost 12 x 40 + 4 x 100 = 880, BilledCost
    400, ListCost 1600; EffectiveCost in 880 + 120 + 0 + 5 = 1005, BilledCost in 400 + 600 + 5 = 1005;
    utilization 480 / (480 + 120) = 0.8; hourly commitment 50 USD/h.
    ChargeDescription texts, ids and prices are made up.
    """
    rows = []
    t_start = pd.Timestamp("2026-10-01", tz="UTC")
    for h in range(12):
        t0 = t_start + pd.Timedelta(hours=h)
        t1 = t0 + pd.Timedelta(hours=1)
        base = dict(
            AvailabilityZone="NULL", BilledCost=0, BillingAccountId="111122223333", BillingAccountName="example-org",
            BillingCurrency="USD", BillingPeriodEnd="2026-11-01T00:00:00Z", BillingPeriodStart="2026-10-01T00:00:00Z",
            ChargeCategory="Usage", ChargeClass="NULL", ChargeDescription="NULL", ChargeFrequency="Usage-Based",
            ChargePeriodEnd=_iso(t1), ChargePeriodStart=_iso(t0), CommitmentDiscountCategory="Spend",
            CommitmentDiscountId=AWS_SP, CommitmentDiscountName="gpu-sp-50usd", CommitmentDiscountStatus="NULL",
            CommitmentDiscountType="Compute Savings Plan", ConsumedQuantity="NULL", ConsumedUnit="NULL",
            ContractedCost=0, ContractedUnitPrice="NULL", EffectiveCost=0, InvoiceIssuerName="Amazon Web Services, Inc.",
            ListCost=0, ListUnitPrice="NULL", PricingCategory="Committed", PricingQuantity="NULL", PricingUnit="NULL",
            ProviderName="AWS", PublisherName="Amazon Web Services, Inc.", RegionId="us-east-1",
            RegionName="US East (N. Virginia)", ResourceId="NULL", ResourceName="NULL", ResourceType="NULL",
            ServiceCategory="Compute", ServiceName="Amazon Elastic Compute Cloud", SkuId="NULL", SkuPriceId="NULL",
            SubAccountId="444455556666", SubAccountName="ml-prod", Tags="{}", x_CostCategories="{}",
            x_Discounts="{}", x_Operation="RunInstances", x_ServiceCode="AmazonEC2", x_UsageType="NULL")
        rows.append(base | dict(CommitmentDiscountStatus="Used", EffectiveCost=40.0, ListCost=100.0,
                                ContractedCost=100.0, ConsumedQuantity=1, ConsumedUnit="Hrs", PricingQuantity=1,
                                PricingUnit="Hrs", ListUnitPrice=100.0, ContractedUnitPrice=100.0,
                                AvailabilityZone="us-east-1a", ResourceId="i-0aaaaaaaaaaaaaaa1",
                                ChargeDescription="Usage covered by Savings Plan gpu-sp-50usd", SkuId="SKU-P5-BOX",
                                x_UsageType="USE1-BoxUsage:p5.48xlarge",
                                Tags='{"team": "research", "workload_class": "training"}'))
        rows.append(base | dict(CommitmentDiscountStatus="Unused", EffectiveCost=10.0,
                                ChargeDescription="Unused Savings Plan commitment",
                                x_UsageType="ComputeSP:1yrNoUpfront", x_Operation="NULL"))
        rows.append(base | dict(ChargeCategory="Purchase", ChargeFrequency="Recurring", BilledCost=50.0,
                                PricingCategory="NULL", ChargeDescription="Savings Plan recurring fee",
                                x_UsageType="ComputeSP:1yrNoUpfront", x_Operation="NULL"))
        if h < 4:
            rows.append(base | dict(CommitmentDiscountCategory="NULL", CommitmentDiscountId="NULL",
                                    CommitmentDiscountName="NULL", CommitmentDiscountType="NULL",
                                    PricingCategory="Standard", BilledCost=100.0, EffectiveCost=100.0,
                                    ListCost=100.0, ContractedCost=100.0, ConsumedQuantity=1, ConsumedUnit="Hrs",
                                    PricingQuantity=1, PricingUnit="Hrs", ListUnitPrice=100.0,
                                    ContractedUnitPrice=100.0, AvailabilityZone="us-east-1b",
                                    ResourceId="i-0bbbbbbbbbbbbbbb2", SkuId="SKU-P5-BOX",
                                    ChargeDescription="On Demand Linux instance hour",
                                    x_UsageType="USE1-BoxUsage:p5.48xlarge",
                                    Tags='{"team": "research", "workload_class": "inference"}'))
    rows.append(rows[0] | dict(CommitmentDiscountCategory="NULL", CommitmentDiscountId="NULL",
                               CommitmentDiscountName="NULL", CommitmentDiscountStatus="NULL",
                               CommitmentDiscountType="NULL", PricingCategory="Standard", BilledCost=5.0,
                               EffectiveCost=5.0, ListCost=5.0, ContractedCost=5.0, ConsumedQuantity=200,
                               ConsumedUnit="GB-Mo", PricingQuantity=200, PricingUnit="GB-Mo",
                               ListUnitPrice=0.025, ContractedUnitPrice=0.025, AvailabilityZone="NULL",
                               ResourceId="ml-datasets-bucket", ServiceCategory="Storage",
                               ServiceName="Amazon Simple Storage Service", SkuId="SKU-S3-STD",
                               ChargeDescription="Storage", x_ServiceCode="AmazonS3", x_Operation="StandardStorage",
                               x_UsageType="USE1-TimedStorage-ByteHrs", Tags="{}",
                               ChargePeriodEnd="2026-10-01T01:00:00Z"))
    return pd.DataFrame(rows)


GCP_CUD = "projects/ml-prod/regions/us-central1/commitments/a3-cud-1"


def _gcp_tags(team: str | None) -> str:
    """Tags as Google's FOCUS view writes them: an array of {key, value, x_type, x_inherited, x_namespace}; the
    machine type is the system label compute.googleapis.com/machine_spec."""
    tags = [{"key": "compute.googleapis.com/machine_spec", "value": "a3-highgpu-8g", "x_type": "system_label",
             "x_inherited": False, "x_namespace": "n/a"}]
    if team:
        tags.insert(0, {"key": "team", "value": team, "x_type": "label", "x_inherited": False, "x_namespace": "n/a"})
    return json.dumps(tags)


def gcp() -> pd.DataFrame:
    """Google Cloud's FOCUS BigQuery view (preview): the view's columns only, its lower-case values, Tags as an
    array of key/value structs and x_Credits / x_Project as JSON text (a CSV of the view).

    The view has no CommitmentDiscountStatus, CommitmentDiscountType, ChargeFrequency, BillingAccountName,
    SubAccountName or InvoiceIssuerName. A resource CUD for one a3-highgpu-8g over 24 hours (2026-10-01 UTC):
    - 24 commitment-fee rows ("Commitment v1: ..."): ChargeCategory "usage", EffectiveCost = BilledCost = 55.
    - 24 covered usage rows: 1 a3-highgpu-8g VM-hour (8 H100), ListCost 88, the CUD credit -88 in x_Credits,
      BilledCost = EffectiveCost = 88 - 88 = 0; the machine type only in the machine_spec system label.
    - 4 on-demand rows (hours 20-23): a second a3-highgpu-8g, 1 VM-hour, Billed = Effective = List = 88.
    Simplification (stated): one row per VM-hour in ConsumedUnit "hour"; Google bills A3 as separate GPU, core
    and RAM SKUs metered in seconds, which these rows do not reproduce.
    Hand totals: 52 rows; GPU-hours (24 + 4) x 8 = 224; GPU rows' EffectiveCost 0 + 4 x 88 = 352, ListCost
    28 x 88 = 2464; fee rows rejected (no instance type) with 24 x 55 = 1320. Utilization: without
    CommitmentDiscountStatus every commitment row is Used, so (1320 + 0) / 1320 = 1 and the unused part is unknown.
    Ids, names and prices are made up.
    """
    rows = []
    t_start = pd.Timestamp("2026-10-01", tz="UTC")
    for h in range(24):
        t0 = t_start + pd.Timedelta(hours=h)
        t1 = t0 + pd.Timedelta(hours=1)
        base = dict(
            AvailabilityZone="us-central1-a", BilledCost=0, BillingAccountId="012345-ABCDEF-6789GH",
            BillingCurrency="USD", BillingPeriodStart="2026-10-01T07:00:00Z", BillingPeriodEnd="2026-10-31T07:00:00Z",
            ChargeCategory="usage", ChargeClass="NULL", ChargeDescription="NULL", ChargePeriodStart=_iso(t0),
            ChargePeriodEnd=_iso(t1), CommitmentDiscountCategory="Usage", CommitmentDiscountId=GCP_CUD,
            CommitmentDiscountName="a3-cud-1", ConsumedQuantity=1, ConsumedUnit="hour", ContractedCost=0,
            ContractedUnitPrice="NULL", EffectiveCost=0, ListCost=0, ListUnitPrice="NULL", PricingCategory="committed",
            PricingQuantity=1, PricingUnit="hour", ProviderName="Google Cloud", PublisherName="Google Cloud",
            RegionId="us-central1", RegionName="Iowa", ResourceId="NULL", ResourceName="NULL", ResourceType="NULL",
            ServiceCategory="Compute", ServiceName="Compute Engine", SkuId="NULL", SkuPriceId="NULL",
            SubAccountId="012345-ABCDEF-6789GH", Tags="[]", x_Credits="[]", x_CostType="regular",
            x_CurrencyConversionRate=1, x_ExportTime="2026-10-02T04:00:00Z", x_Location="us-central1",
            x_Project='{"id": "ml-prod", "number": "123456789012", "name": "ml-prod"}',
            x_ServiceId="6F81-5844-456A")
        rows.append(base | dict(BilledCost=55.0, EffectiveCost=55.0, ContractedCost=55.0, ListCost=55.0,
                                SkuId="SKU-A3-CUD", ChargeDescription="Commitment v1: A3 GPUs running in Americas"))
        credit = json.dumps([{"Name": "Committed use discount: A3", "Amount": -88.0, "FullName": "a3-cud-1",
                              "Id": GCP_CUD, "Type": "COMMITTED_USAGE_DISCOUNT"}])
        rows.append(base | dict(ListCost=88.0, ContractedCost=88.0, SkuId="SKU-A3-VM",
                                ChargeDescription="A3 instance running in Americas", x_Credits=credit,
                                ResourceId="//compute.googleapis.com/projects/ml-prod/zones/us-central1-a/"
                                           "instances/train-a3-01", ResourceName="train-a3-01",
                                ResourceType="compute.googleapis.com/Instance", Tags=_gcp_tags("research")))
        if h >= 20:
            rows.append(base | dict(CommitmentDiscountCategory="NULL", CommitmentDiscountId="NULL",
                                    CommitmentDiscountName="NULL", PricingCategory="standard", BilledCost=88.0,
                                    EffectiveCost=88.0, ListCost=88.0, ContractedCost=88.0, SkuId="SKU-A3-VM",
                                    ChargeDescription="A3 instance running in Americas",
                                    ResourceId="//compute.googleapis.com/projects/ml-prod/zones/us-central1-a/"
                                               "instances/serve-a3-02", ResourceName="serve-a3-02",
                                    ResourceType="compute.googleapis.com/Instance", Tags=_gcp_tags(None)))
    return pd.DataFrame(rows)


def oci() -> pd.DataFrame:
    """Oracle Cloud Infrastructure FOCUS cost report: its FOCUS 1.0-preview names (Provider, Publisher, Region,
    UsageQuantity, UsageUnit, InvoiceIssuer, ChargeSubcategory) beside 1.0 names (ChargeCategory, EffectiveCost,
    ListCost, BillingCurrency) and the 10 oci_ columns.

    24 hours (2026-10-01 UTC) of one bare-metal H100 GPU node, 1 node-hour each, BilledCost = EffectiveCost = 80,
    ListCost 96; plus 1 block-volume row (Billed = Effective = List = 2). The shape (BM.GPU.H100.8) is not in
    any column the reader searches and OCI shapes are not in the instance registry: the 24 GPU rows are rejected
    ("no instance type"), counted with their 1920 USD, not dropped. Hand totals: 25 rows in, 0 out, 25 rejected;
    EffectiveCost 24 x 80 + 2 = 1922. Ids, descriptions and prices are made up.
    """
    rows = []
    t_start = pd.Timestamp("2026-10-01", tz="UTC")
    for h in range(24):
        t0 = t_start + pd.Timedelta(hours=h)
        rows.append(dict(
            AvailabilityZone="AD-1", BilledCost=80.0, BillingAccountId="ocid1.tenancy.oc1..example",
            BillingAccountName="example-tenancy", BillingCurrency="USD", BillingPeriodEnd="2026-11-01T00:00:00Z",
            BillingPeriodStart="2026-10-01T00:00:00Z", ChargeCategory="Usage",
            ChargeDescription="Compute - GPU - H100", ChargeFrequency="UsageBased",
            ChargePeriodEnd=_iso(t0 + pd.Timedelta(hours=1)), ChargePeriodStart=_iso(t0),
            ChargeSubcategory="On-Demand", CommitmentDiscountCategory="", CommitmentDiscountId="",
            CommitmentDiscountName="", CommitmentDiscountType="", EffectiveCost=80.0, InvoiceIssuer="Oracle",
            ListCost=96.0, ListUnitPrice=96.0, PricingCategory="On-Demand", PricingQuantity=1,
            PricingUnit="Node Per Hour", Provider="Oracle", Publisher="Oracle", Region="us-ashburn-1",
            ResourceId="ocid1.instance.oc1.iad.example1", ResourceName="gpu-node-1", ResourceType="instance",
            ServiceCategory="Compute", ServiceName="COMPUTE", SkuId="B00000", SkuPriceId="",
            SubAccountId="ocid1.tenancy.oc1..example", SubAccountName="example-tenancy",
            Tags='{"orcl-cloud.free-tier-retained": "false"}', UsageQuantity=1, UsageUnit="Node Per Hour",
            oci_ReferenceNumber=f"ref-{h:04d}", oci_CompartmentId="ocid1.compartment.oc1..ml",
            oci_CompartmentName="ml", oci_OverageFlag="N", oci_UnitPriceOverage="", oci_BilledQuantityOverage="",
            oci_CostOverage="", oci_AttributedUsage="", oci_AttributedCost="", oci_BackReferenceNumber=""))
    rows.append(rows[0] | dict(BilledCost=2.0, EffectiveCost=2.0, ListCost=2.0, ListUnitPrice=0.01,
                               ChargeDescription="Block Volume - Storage", PricingQuantity=200,
                               PricingUnit="GB Month", UsageQuantity=200, UsageUnit="GB Month",
                               ResourceId="ocid1.volume.oc1.iad.example", ResourceName="data-vol",
                               ResourceType="volume", ServiceCategory="Storage", ServiceName="BLOCK_STORAGE",
                               SkuId="B00001", oci_ReferenceNumber="ref-vol"))
    return pd.DataFrame(rows)


if __name__ == "__main__":
    azure(False).to_csv(HERE / "azure_focuscost_1.0_sp_hourly.csv", index=False)
    azure(True).to_csv(HERE / "azure_focuscost_1.0_sp_daily.csv", index=False)
    aws().to_csv(HERE / "aws_focus_1.0_sp_hourly.csv", index=False)
    gcp().to_csv(HERE / "gcp_focus_view_cud_hourly.csv", index=False)
    oci().to_csv(HERE / "oci_focus_gpu_hourly.csv", index=False)
