"""Documented ratios that fill the rates no public file in ``../shared/datasets/pricing`` gives.

Every catalog row built from one of these ratios has ``is_assumption = True`` and names the ratio and its
reference in its ``source`` column. The numbers measured from real files (the 2017 AWS RI ratios, the 2026 AWS
RI-to-on-demand ratio, the Azure spot ratio) are checked against those files by ``tests/pricing``; the headline
discounts are the providers' published figures. See docs/pricing.md, "Assumptions".
"""
from __future__ import annotations

from dataclasses import dataclass

#: AWS RI rates relative to the 1-year, no-upfront, standard RI rate of the same instance and region:
#: medians over the 75 Linux rows (p2, p3, g3 x 12 regions) of the real ec2instances.info data of 2017-11-12
#: (../shared/datasets/pricing/aws-ri-2017, MIT). Keys (offering class, term_months, payment_option).
AWS_RI_RATIO_2017 = {
    ("standard", 12, "no_upfront"): 1.0,
    ("standard", 12, "partial_upfront"): 0.9524,
    ("standard", 12, "all_upfront"): 0.9333,
    ("standard", 36, "no_upfront"): 0.7472,
    ("standard", 36, "partial_upfront"): 0.6919,
    ("standard", 36, "all_upfront"): 0.6504,
    ("convertible", 12, "no_upfront"): 1.15,
    ("convertible", 12, "partial_upfront"): 1.0952,
    ("convertible", 12, "all_upfront"): 1.0733,
    ("convertible", 36, "no_upfront"): 0.8597,
    ("convertible", 36, "partial_upfront"): 0.7957,
    ("convertible", 36, "all_upfront"): 0.7798,
}
AWS_RI_2017_REF = "aws-ri-2017 (ec2instances.info 2017-11-12, median over 75 Linux p2/p3/g3 rows)"

#: median ratio (1-year no-upfront standard RI) / on-demand over the 803 rows of aws-vantage-2026-01 that have
#: both rates; used where that file has no RI rate (p4d, p5, p5en, g6, ...).
AWS_RI1Y_TO_OD_2026 = 0.630022
AWS_RI1Y_REF = "median RI/on-demand 0.630022 over the 803 aws-vantage-2026-01 rows with both rates"

#: EC2 Instance Savings Plans rates track standard RI rates, Compute Savings Plans track convertible RI rates
#: (AWS Savings Plans FAQ and pricing page: EC2 Instance SP "up to 72%", "the same discount as Standard RIs";
#: Compute SP "up to 66%", like Convertible RIs).
AWS_SP_REF = ("AWS Savings Plans FAQ (https://aws.amazon.com/savingsplans/faq/): EC2 Instance SP up to 72% "
              "like Standard RIs, Compute SP up to 66% like Convertible RIs")

#: Azure reservations, discount vs pay-as-you-go for GPU VMs: about 37 % (1 year) and 57 % (3 years), the
#: typical figures for NC/ND sizes quoted in issue 5 of this project (not checked against a price file here;
#: headline "up to 72%" at https://azure.microsoft.com/pricing/reserved-vm-instances/). Monthly and upfront
#: payment cost the same (https://learn.microsoft.com/azure/cost-management-billing/savings-plan/
#: buy-savings-plan: "The total cost of upfront and monthly ... is the same").
AZURE_RESERVATION_DISCOUNT = {12: 0.37, 36: 0.57}
AZURE_RESERVATION_REF = ("Azure reserved VM instances, GPU sizes about 37% (1y) / 57% (3y) off pay-as-you-go "
                         "(typical NC/ND figures quoted in issue 5; headline up to 72%, "
                         "https://azure.microsoft.com/pricing/reserved-vm-instances/)")

#: Azure savings plan for compute: the reservation discount scaled by the ratio of the published headline
#: maxima, savings plan "up to 65%" / reservations "up to 72%" (https://azure.microsoft.com/pricing/offers/
#: savings-plan-compute/ and the reserved VM instances page).
AZURE_SP_TO_RESERVATION = 65.0 / 72.0
AZURE_SP_REF = ("Azure savings plan = reservation discount x 65/72 (headline maxima: savings plan up to 65%, "
                "reservations up to 72%; https://azure.microsoft.com/pricing/offers/savings-plan-compute/)")

#: GCP Compute flexible CUDs: 28 % (1 year) and 46 % (3 years) off on-demand
#: (https://cloud.google.com/compute/docs/instances/committed-use-discounts-overview). Caveat: Google lists
#: the eligible SKUs; for accelerator-optimized machines the GPU part may not be eligible, which makes these
#: rates optimistic. Enter your own rate in a user file if you have a quote.
GCP_FLEX_CUD_DISCOUNT = {12: 0.28, 36: 0.46}
GCP_FLEX_CUD_REF = ("GCP Compute flexible CUD 28% (1y) / 46% (3y) off on-demand "
                    "(https://cloud.google.com/compute/docs/instances/committed-use-discounts-overview); "
                    "applied to the whole machine price, GPU eligibility not checked")

AWS_ALL_TERMS = tuple((t, p) for t in (12, 36) for p in ("no_upfront", "partial_upfront", "all_upfront"))


@dataclass(frozen=True)
class DerivedRate:
    """One assumption-derived rate: its pricing model, family, term, payment option, rate and source text."""

    pricing_model: str
    commitment_family: str
    term_months: int
    payment_option: str
    usd_per_hour: float
    is_assumption: bool
    source: str


def aws_commitment_rates(on_demand: float, ri_1y_no_upfront: float | None = None, ri_source: str | None = None,
                         *, anchor_ratio: float | None = None, anchor_ratio_source: str | None = None):
    """AWS standard RI, EC2 Instance SP and Compute SP rates for one pool, all terms and payment options.

    Parameters
    ----------
    on_demand : float
        On-demand rate [USD/h].
    ri_1y_no_upfront : float, optional
        The published 1-year no-upfront standard RI rate [USD/h] of this pool at the same date.
    ri_source : str, optional
        Source text of the published RI rate.
    anchor_ratio : float, optional
        Without a published RI rate: the RI / on-demand ratio to use (e.g. the pool's published ratio at
        another date). Default :data:`AWS_RI1Y_TO_OD_2026`.
    anchor_ratio_source : str, optional
        Where ``anchor_ratio`` comes from.

    Returns
    -------
    list of DerivedRate
        18 rates: 3 families x 2 terms x 3 payment options. Only a published 1-year no-upfront standard RI
        is not an assumption.
    """
    if ri_1y_no_upfront is not None:
        anchor = ri_1y_no_upfront
        anchor_src = f"published 1y no-upfront standard RI {ri_1y_no_upfront:g} ({ri_source})"
        anchor_real = True
    else:
        ratio = AWS_RI1Y_TO_OD_2026 if anchor_ratio is None else anchor_ratio
        ref = AWS_RI1Y_REF if anchor_ratio is None else anchor_ratio_source
        anchor = on_demand * ratio
        anchor_src = f"on-demand {on_demand:g} x RI/on-demand {ratio:.6g} ({ref})"
        anchor_real = False
    out = []
    for term, pay in AWS_ALL_TERMS:
        std = AWS_RI_RATIO_2017[("standard", term, pay)]
        conv = AWS_RI_RATIO_2017[("convertible", term, pay)]
        real = anchor_real and term == 12 and pay == "no_upfront"
        if real:
            src = ri_source
        else:
            src = (f"ASSUMPTION: {anchor_src} x {std} (standard {term}m {pay} / standard 12m no_upfront, "
                   f"{AWS_RI_2017_REF})")
        out.append(DerivedRate("reserved", "aws_standard_ri", term, pay, anchor * std, not real, src))
        out.append(DerivedRate(
            "savings_plan", "aws_ec2_instance_sp", term, pay, anchor * std, True,
            f"ASSUMPTION: EC2 Instance SP = standard RI {term}m {pay} = {anchor_src} x {std} ({AWS_SP_REF}; "
            f"{AWS_RI_2017_REF})"))
        out.append(DerivedRate(
            "savings_plan", "aws_compute_sp", term, pay, anchor * conv, True,
            f"ASSUMPTION: Compute SP = convertible RI {term}m {pay} = {anchor_src} x {conv} ({AWS_SP_REF}; "
            f"{AWS_RI_2017_REF})"))
    return out


def azure_commitment_rates(on_demand: float):
    """Azure reservation and savings-plan rates for one pool (assumptions), 1 and 3 years.

    Azure charges the same total for monthly and upfront payment, so each rate appears as ``no_upfront``
    (monthly) and ``all_upfront``; partial upfront is not offered.
    """
    out = []
    for term in (12, 36):
        d = AZURE_RESERVATION_DISCOUNT[term]
        dsp = d * AZURE_SP_TO_RESERVATION
        for pay in ("no_upfront", "all_upfront"):
            out.append(DerivedRate("reserved", "azure_reservation", term, pay, on_demand * (1 - d), True,
                                   f"ASSUMPTION: on-demand {on_demand:g} x (1 - {d}) ({AZURE_RESERVATION_REF})"))
            out.append(DerivedRate("savings_plan", "azure_sp", term, pay, on_demand * (1 - dsp), True,
                                   f"ASSUMPTION: on-demand {on_demand:g} x (1 - {dsp:.4f}) ({AZURE_SP_REF})"))
    return out


def gcp_flex_cud_rates(on_demand: float):
    """GCP flexible (spend-based) CUD rates for one pool (assumptions), 1 and 3 years, paid monthly."""
    return [DerivedRate("savings_plan", "gcp_flex_cud", term, "no_upfront", on_demand * (1 - d), True,
                        f"ASSUMPTION: on-demand {on_demand:g} x (1 - {d}) ({GCP_FLEX_CUD_REF})")
            for term, d in GCP_FLEX_CUD_DISCOUNT.items()]
