"""Build ``pricing/instance_types.csv``: the GPU instance registry (instance type -> GPU type and count).

Run from the repository root with ``../shared/datasets`` beside it::

    python tools/build_instance_types.py

Sources (all in ``../shared/datasets/pricing``; see NOTICE):

- AWS: ``aws-vantage-2026-01/aws_gpu_instances_2026-01-21.csv`` (columns gpu, gpu_count, gpu_memory).
- Azure: ``azure-skypilot/azure_gpu_vms_skypilot_v6.csv`` (AcceleratorName, AcceleratorCount). The source
  says 12 GPUs for Standard_ND96isr_H100_v5; the size has 8 H100 GPUs (Azure ND H100 v5 documentation), which
  is what we write. ``_Promo`` sizes are kept (they are billed under their own name).
- GCP: ``gcp-cyclenerd/gcp_gpu_machine_prices_monthly_history.csv`` (gpu_model, gpu_count); a2-ultragpu is
  the A100 80 GB machine even where old snapshots label it ``a100``.
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT.parent / "shared" / "datasets" / "pricing"
OUT = ROOT / "pricing" / "instance_types.csv"

AWS_GPU = {
    "NVIDIA T4": "T4", "NVIDIA L4": "L4", "NVIDIA A10G": "A10G", "NVIDIA L40S": "L40S", "NVIDIA L40": "L40",
    "NVIDIA M60": "M60", "NVIDIA V100": "V100", "NVIDIA K80": "K80", "NVIDIA GRID K520": "K520",
    "NVIDIA A100": "A100", "NVIDIA H100": "H100", "NVIDIA H200": "H200", "NVIDIA B200 Blackwell": "B200",
    "NVIDIA B300 Blackwell": "B300", "NVIDIA RTX PRO 6000 Blackwell": "RTX-PRO-6000",
    "AWS Inferentia": "Inferentia", "AWS Inferentia2": "Inferentia2", "AWS Trainium": "Trainium",
    "AMD Radeon Pro V520": "V520", "Qualcomm AI 100": "QAIC-100", "ARM Mali-G78MP12": "Mali-G78",
}
GCP_GPU = {"a100": "A100", "a100-80gb": "A100-80GB", "h100-80gb": "H100", "h100-80gb-mega": "H100",
           "l4": "L4", "rtx6000": "RTX-PRO-6000"}
AZURE_GPU = {"V100-32GB": "V100-32GB", "A100-80GB": "A100-80GB", "Radeon MI25": "MI25"}
AZURE_COUNT_FIX = {"Standard_ND96isr_H100_v5": 8}
# G6f / Gr6f are fractional NVIDIA L4 instances (1/8 .. 1/2 of an L4, AWS G6f announcement, 2025); the source
# names the GPU "NVIDIA L40" and gives the full card's memory.
AWS_FRACTIONAL_L4 = ("g6f.", "gr6f.")


PER_GPU_MEMORY_GB = {"T4": 16, "L4": 24, "A10G": 24, "A10": 24, "L40S": 48, "L40": 48, "V100": 16, "V100-32GB": 32,
                     "A100": 40, "A100-80GB": 80, "H100": 80, "H200": 141, "K80": 12, "M60": 8, "MI25": 16}


def _per_gpu_memory(gpu_type: str, total: str, count: float) -> str:
    """Per-GPU memory [GB]. The source gives the instance total for most sizes but the per-GPU figure for some
    (g5.12xlarge says 24 GB for 4 A10G): a figure equal to the GPU type's own memory is taken as per GPU."""
    if not total or not count:
        return ""
    value = float(total)
    if PER_GPU_MEMORY_GB.get(gpu_type) == value:
        return f"{value:g}"
    return f"{value / count:g}"


def _mem_gb(text: str) -> str:
    m = re.match(r"([\d.]+)\s*GB", text or "")
    return m.group(1) if m else ""


def build() -> list[dict]:
    rows: dict[tuple[str, str], dict] = {}
    for r in csv.DictReader(open(SRC / "aws-vantage-2026-01" / "aws_gpu_instances_2026-01-21.csv")):
        count = float(r["gpu_count"])
        total = _mem_gb(r["gpu_memory"])
        src = "aws-vantage-2026-01 (ec2instances.info, 2026-01-21)"
        gpu = AWS_GPU[r["gpu"]]
        if r["instance_type"].startswith(AWS_FRACTIONAL_L4):
            gpu, total = "L4", f"{24 * count:g}"
            src += f"; fractional L4 ({count:g} GPU, 24 GB per L4; source says NVIDIA L40)"
        rows[("aws", r["instance_type"])] = dict(
            provider="aws", instance_type=r["instance_type"], gpu_type=gpu,
            gpu_count=(int(count) if count.is_integer() else count),
            gpu_memory_gb=_per_gpu_memory(AWS_GPU[r["gpu"]], total, count), source=src)
    for r in csv.DictReader(open(SRC / "azure-skypilot" / "azure_gpu_vms_skypilot_v6.csv")):
        name = r["InstanceType"]
        count = AZURE_COUNT_FIX.get(name, int(float(r["AcceleratorCount"])))
        src = "azure-skypilot (SkyPilot catalog v6)"
        if name in AZURE_COUNT_FIX:
            src += "; GPU count corrected from 12 to 8 (Azure ND H100 v5 documentation)"
        rows[("azure", name)] = dict(provider="azure", instance_type=name,
                                     gpu_type=AZURE_GPU.get(r["AcceleratorName"], r["AcceleratorName"]),
                                     gpu_count=count, gpu_memory_gb="", source=src)
    for r in csv.DictReader(open(SRC / "gcp-cyclenerd" / "gcp_gpu_machine_prices_monthly_history.csv")):
        name = r["machine_type"]
        gpu = GCP_GPU[r["gpu_model"]]
        if name.startswith("a2-ultragpu"):
            gpu = "A100-80GB"
        count = float(r["gpu_count"])
        rows[("gcp", name)] = dict(provider="gcp", instance_type=name, gpu_type=gpu,
                                   gpu_count=(int(count) if count.is_integer() else count), gpu_memory_gb="",
                                   source="gcp-cyclenerd (pricing.yml history, Apache-2.0)")
    mem = PER_GPU_MEMORY_GB
    for r in rows.values():
        if not r["gpu_memory_gb"] and r["gpu_type"] in mem:
            r["gpu_memory_gb"] = mem[r["gpu_type"]]
    return sorted(rows.values(), key=lambda r: (r["provider"], r["instance_type"]))


def main() -> int:
    rows = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} instance types to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
