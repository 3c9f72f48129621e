"""Markets, forecasts and outcomes tables from the real data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kcap.convert.bbo import read_bbo_csv
from kcap.convert.events import (
    cli_highs,
    event_date,
    forecast_rows,
    ghcnd_highs,
    market_rows,
    outcome_rows,
)
from kcap.errors import DataError

BBO = "jetpackjules-kxhighny-bbo"


def test_event_date_reads_the_ticker() -> None:
    assert event_date("KXHIGHNY-25DEC20") == dt.date(2025, 12, 20)
    assert event_date("KXHIGHNY-26JAN02") == dt.date(2026, 1, 2)
    for bad in ("KXHIGHNY-25DEX20", "KXHIGHNY-25FEB30", "25DEC20"):
        with pytest.raises(DataError):
            event_date(bad)


def test_markets_have_strikes_and_utc_open_and_close(real_data: Path) -> None:
    rows = market_rows(real_data, ["KXHIGHNY-25DEC20"])
    assert [r["ticker"] for r in rows] == [
        "KXHIGHNY-25DEC20-B36.5", "KXHIGHNY-25DEC20-B38.5", "KXHIGHNY-25DEC20-B40.5",
        "KXHIGHNY-25DEC20-B42.5", "KXHIGHNY-25DEC20-T36", "KXHIGHNY-25DEC20-T43",
    ]  # fmt: skip
    less = rows[4]
    assert (less["strike_type"], less["floor_strike"], less["cap_strike"]) == ("less", "", "36")
    assert {r["open_time"] for r in rows} == {"2025-12-19T15:00:00Z"}  # 10:00 EST
    assert {r["close_time"] for r in rows} == {"2025-12-21T04:59:00Z"}


def test_forecasts_are_lead_1_and_2(real_data: Path) -> None:
    rows = forecast_rows(real_data, ["KXHIGHNY-25DEC20"])
    assert [(r["lead_days"], r["value_f"], r["known_from_utc"]) for r in rows] == [
        ("2", "37.6", "2025-12-19T04:00:00Z"),
        ("1", "37.3", "2025-12-20T04:00:00Z"),
    ]


def test_outcomes_prefer_the_cli_and_fall_back_to_ghcnd(real_data: Path) -> None:
    cli = cli_highs(real_data)
    assert cli[dt.date(2025, 1, 6)] == (30, "mostlyright-cli-parity")
    assert cli[dt.date(2026, 8, 22)] == (77, "ericzhang-kxhighny-rest-orderbooks")
    assert dt.date(2026, 8, 23) not in cli  # issued the same evening: preliminary
    # the GHCND fallback gives the CLI value where both exist
    ghcnd = ghcnd_highs(real_data)
    assert all(ghcnd[day] == high for day, (high, _) in cli.items() if day in ghcnd)
    rows = outcome_rows(real_data, ["KXHIGHNY-25DEC20"])
    assert rows == [
        {
            "event_ticker": "KXHIGHNY-25DEC20",
            "date": "2025-12-20",
            "high_f": "38",
            "source": "ghcnd_tmax_rounded:sameeres-kxhigh-candles-ghcnd",
        }
    ]


def _wins(market: dict[str, str], high: int) -> bool:
    kind = market["strike_type"]
    if kind == "between":
        return int(market["floor_strike"]) <= high <= int(market["cap_strike"])
    if kind == "less":
        return high < int(market["cap_strike"])
    return high > int(market["floor_strike"])


@pytest.mark.slow
def test_outcomes_agree_with_the_market_priced_highest_at_the_end(real_data: Path) -> None:
    files = sorted((real_data / BBO).glob("market_data_KXHIGHNY-*.csv.gz"))
    events = [p.name.removeprefix("market_data_").removesuffix(".csv.gz") for p in files]
    highs = {r["event_ticker"]: int(r["high_f"]) for r in outcome_rows(real_data, events)}
    markets = market_rows(real_data, events)
    for path, event in zip(files, events, strict=True):
        last = {r.market_ticker: r.yes_bid for r in read_bbo_csv(path)}
        top = max(last, key=lambda t: last[t])
        winners = [
            m["ticker"] for m in markets if m["event_ticker"] == event and _wins(m, highs[event])
        ]
        assert winners == [top], event


def test_missing_events_are_refused(real_data: Path) -> None:
    with pytest.raises(DataError, match="KXHIGHNY-20JAN01"):
        market_rows(real_data, ["KXHIGHNY-20JAN01"])
    with pytest.raises(DataError, match="KXHIGHNY-20JAN01"):
        forecast_rows(real_data, ["KXHIGHNY-20JAN01"])
