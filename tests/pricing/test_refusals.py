"""What the pricing loader refuses: implausible prices, two prices for one item, prices not yet in effect, files
that are empty or folders, impossible dates. Each refusal names the file, the row(s) and the fix."""
from __future__ import annotations

import pandas as pd
import pytest

from finops_forecast.errors import PricingError
from finops_forecast.pricing import load_pricing, price

HEAD = "provider,region,instance_type,pricing_model,usd_per_hour,effective_date,source\n"


def _file(tmp_path, *rows, name="quote.csv"):
    p = tmp_path / name
    p.write_text(HEAD + "".join(r + "\n" for r in rows))
    return p


@pytest.mark.parametrize("usd_per_hour", ["1e-7", "1e308", "inf"])
def test_implausible_prices_are_refused_naming_the_row(tmp_path, usd_per_hour):
    p = _file(tmp_path, "aws,us-east-1,p5.48xlarge,on_demand,50,2026-01-01,quote",
              f"aws,us-east-1,p4d.24xlarge,on_demand,{usd_per_hour},2026-01-01,quote")
    with pytest.raises(PricingError, match=r"quote.csv, row 2, column 'usd_per_hour': .*outside the plausible "
                                           r"range \[0.0001, 1000\] USD/GPU-h"):
        load_pricing(path=p)


def test_the_bounds_hold_the_whole_bundled_history_with_a_wide_margin():
    from finops_forecast.pricing.schema import PRICE_BOUNDS_USD_PER_GPU_HOUR

    history = load_pricing(history=True)
    lo, hi = PRICE_BOUNDS_USD_PER_GPU_HOUR
    assert history["usd_per_gpu_hour"].min() > 100 * lo and history["usd_per_gpu_hour"].max() < hi / 20


def test_an_unusual_price_is_accepted_with_a_note(tmp_path):
    p = _file(tmp_path, "aws,us-east-1,p5.48xlarge,on_demand,1200,2026-01-01,quote")  # 150 USD/GPU-h
    cat = load_pricing(path=p)
    assert price(cat, "aws", "us-east-1", "p5.48xlarge", "on_demand") == 1200
    assert any("row 1" in n and "150 USD/GPU-h" in n and "usual" in n for n in cat.attrs["notes"])


def test_two_prices_for_one_item_and_date_name_both_rows(tmp_path):
    p = _file(tmp_path, "aws,us-east-1,p5.48xlarge,on_demand,50,2026-01-01,quote A",
              "aws,us-east-1,p4d.24xlarge,on_demand,20,2026-01-01,quote",
              "aws,us-east-1,p5.48xlarge,on_demand,45,2026-01-01,quote B")
    with pytest.raises(PricingError, match=r"quote.csv, column 'usd_per_hour': rows 1 and 3 price the same item "
                                           r"\(aws us-east-1 p5.48xlarge on_demand on 2026-01-01\) differently: "
                                           r"50 and 45 USD/h"):
        load_pricing(path=p)
    # the same price twice is harmless; another date is history
    p = _file(tmp_path, "aws,us-east-1,p5.48xlarge,on_demand,50,2026-01-01,quote A",
              "aws,us-east-1,p5.48xlarge,on_demand,50,2026-01-01,quote B",
              "aws,us-east-1,p5.48xlarge,on_demand,45,2026-02-01,quote C")
    assert price(load_pricing(path=p), "aws", "us-east-1", "p5.48xlarge", "on_demand") == 45


def test_a_price_dated_in_the_future_is_not_todays_price(tmp_path):
    p = _file(tmp_path, "aws,us-east-1,p4d.24xlarge,on_demand,20,2026-01-01,quote",
              "aws,us-east-1,p5.48xlarge,on_demand,0.5,2099-01-01,typo in the year")
    with pytest.raises(PricingError, match=r"quote.csv, row 2, column 'effective_date': .*2099-01-01 is after "
                                           r"the day priced"):
        load_pricing(path=p)
    # pricing that day (or later) uses it
    later = load_pricing(path=p, as_of="2099-06-01")
    assert price(later, "aws", "us-east-1", "p5.48xlarge", "on_demand") == 0.5


def test_a_scheduled_price_change_keeps_todays_price(tmp_path):
    p = _file(tmp_path, "aws,us-east-1,p5.48xlarge,on_demand,50,2026-01-01,quote",
              "aws,us-east-1,p5.48xlarge,on_demand,40,2099-01-01,next contract")
    assert price(load_pricing(path=p), "aws", "us-east-1", "p5.48xlarge", "on_demand") == 50


def test_empty_file_and_folder_are_named(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(PricingError, match=r"price file '.*empty.csv' is empty \(0 bytes\)"):
        load_pricing(path=empty)
    with pytest.raises(PricingError, match=r"price file '.*' is a folder, not a file"):
        load_pricing(path=tmp_path)
    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b"\xff\xfe\x00\x01binary")
    with pytest.raises(PricingError, match=r"garbage.csv"):
        load_pricing(path=garbage)


@pytest.mark.parametrize("day", ["2026-02-30", "2026-13-01", "yesterday"])
def test_an_impossible_as_of_day_is_named(day):
    with pytest.raises(PricingError, match=rf"as_of: '{day}' is not a date"):
        load_pricing(name="aws", as_of=day)


def test_as_of_accepts_dates_and_timestamps():
    a = load_pricing(name="gcp", as_of="2026-01-01")
    b = load_pricing(name="gcp", as_of=pd.Timestamp("2026-01-01 13:00", tz="UTC"))
    assert len(a) == len(b)
