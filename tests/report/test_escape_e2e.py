"""Stored XSS: a report rendered for real (papermill, a real kernel, nbconvert) from usage whose team, model
and region names and whose pricing file's name and source carry HTML. The page must show them as text and
contain no live markup from them; so must every chart (SVG embedded as images)."""
from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from finops_forecast.report.params import ReportParams
from finops_forecast.report.render import render_report

pytestmark = pytest.mark.slow

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[x](javascript:alert(1))"
REGION = "<b onmouseover=alert(2)>east"
SOURCE = "<iframe src=javascript:alert(3)></iframe>"
FILE = "<svg onload=alert(4)>.csv"


class _Live(HTMLParser):
    """Every element, attribute and URL that would run code, and the visible text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.live: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "iframe", "object", "embed", "frame", "base", "form"):
            self.live.append(f"<{tag}>")
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.live.append(f"<{tag} {name}=...>")
            if name.lower() in ("href", "src", "xlink:href", "action") and value and \
                    re.sub(r"\s", "", value).lower().startswith(("javascript:", "vbscript:", "data:text")):
                self.live.append(f"<{tag} {name}={value}>")

    def handle_data(self, data):
        self.text.append(data)


def _scan(html: str) -> _Live:
    p = _Live()
    p.feed(html)
    return p


def _usage(path):
    ts = pd.date_range("2026-09-01", "2026-11-30 23:00", freq="h", tz="UTC")
    hour = np.arange(len(ts))
    rows = []
    for team, model, region, cls, base in ((SCRIPT, IMG, "us-east-1", "training", 16.0),
                                           (LINK, SCRIPT, "us-east-1", "inference", 8.0),
                                           (IMG, LINK, REGION, "training", 8.0)):
        gpus = base + 4.0 * np.sin(2 * np.pi * hour / 24) ** 2
        rows.append(pd.DataFrame({"ts": ts, "provider": "aws", "region": region, "instance_type": "p5.48xlarge",
                                  "workload_class": cls, "team": team, "model": model, "gpu_hours": gpus}))
    pd.concat(rows).to_csv(path, index=False)


def _pricing(path):
    common = {"provider": "aws", "region": REGION, "instance_type": "p5.48xlarge", "gpu_type": "", "gpu_count": "",
              "upfront_usd": "", "recurring_usd_per_hour": "", "effective_date": "2026-01-01", "is_assumption": ""}
    pd.DataFrame([
        common | {"pricing_model": "on_demand", "commitment_family": "", "term_months": 0,
                  "payment_option": "no_upfront", "usd_per_hour": 55.04, "source": ""},
        common | {"pricing_model": "reserved", "commitment_family": "aws_standard_ri", "term_months": 12,
                  "payment_option": "no_upfront", "usd_per_hour": 34.68, "source": SOURCE},
    ]).to_csv(path, index=False)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("xss")
    _usage(folder / "usage.csv")
    _pricing(folder / FILE)
    params = {"usage": str(folder / "usage.csv"), "pricing": str(folder / FILE), "quarter": "2027Q1",
              "quarters": 1, "n_paths": 10, "history_days": 30, "track_record_weeks": 0, "planned_runs": "",
              "terms": "12", "forecast_model": "seasonal_naive"}
    return render_report(ReportParams.from_mapping(params), output_root=folder / "reports")


def test_report_shows_user_markup_as_text_only(rendered):
    html = rendered.html.read_text()
    page = _scan(html)
    assert page.live == [], page.live[:10]
    text = " ".join(" ".join(page.text).split())
    for shown in (SCRIPT, IMG, LINK, REGION, SOURCE, FILE):
        assert shown in text, shown
    assert f"Team {SCRIPT}'s {IMG} model costs" in text  # the unit-economics statements
    # the charts (Altair -> SVG embedded as images) carry the names as text too
    svgs = [base64.b64decode(m).decode() for m in re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", html)]
    assert len(svgs) >= 4
    assert [_scan(svg).live for svg in svgs] == [[]] * len(svgs)

