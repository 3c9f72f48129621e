"""Input tables: markets (CSV and Kalshi market objects), forecasts, outcomes; as-of joins."""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from kcap import sample
from kcap.envs.data import (
    forecast_index,
    parse_time_ns,
    read_forecasts,
    read_markets,
    read_outcomes,
)
from kcap.errors import DataError

S = 1_000_000_000


def test_sample_markets_in_ladder_order() -> None:
    events = read_markets(sample.directory() / "markets.csv")
    assert list(events) == list(sample.EVENTS)
    event = events["KXHIGHNY-25DEC06"]
    assert [b.ticker.rsplit("-", 1)[1] for b in event.brackets] == [
        "T39", "B39.5", "B41.5", "B43.5", "B45.5", "T46",
    ]  # fmt: skip
    assert event.series == "KXHIGHNY"
    assert event.date == dt.date(2025, 12, 6)
    assert event.open_ns == parse_time_ns("2025-12-05T15:00:00Z", "")
    assert event.close_ns == parse_time_ns("2025-12-07T04:59:00Z", "")
    assert event.brackets[0].cap == Fraction(39) and event.brackets[0].floor is None


def test_kalshi_market_objects(tmp_path: Path) -> None:
    market = {
        "ticker": "KXHIGHNY-26MAY16-B78.5",
        "event_ticker": "KXHIGHNY-26MAY16",
        "strike_type": "between",
        "floor_strike": 78,
        "cap_strike": 79,
        "open_time": "2026-05-15T14:00:00Z",
        "close_time": "2026-05-17T04:59:00Z",
    }
    tail = {**market, "ticker": "KXHIGHNY-26MAY16-T78", "strike_type": "less"}
    tail.update(floor_strike=None, cap_strike=78)
    (tmp_path / "m.json").write_text(json.dumps({"markets": [market, tail]}))
    (tmp_path / "m.jsonl").write_text(json.dumps(market) + "\n" + json.dumps(tail) + "\n")
    for name in ("m.json", "m.jsonl"):
        event = read_markets(tmp_path / name)["KXHIGHNY-26MAY16"]
        assert [b.strike_type for b in event.brackets] == ["less", "between"]
        assert event.open_ns == parse_time_ns("2026-05-15T10:00:00-04:00", "")


def test_bad_markets_are_data_errors(tmp_path: Path) -> None:
    path = tmp_path / "markets.csv"
    path.write_text(
        "ticker,event_ticker,strike_type,close_time\nA-1-B,A-1,between,2026-01-01T00:00Z\n"
    )
    with pytest.raises(DataError, match=r"markets.csv:2: A-1-B: expected a floor strike"):
        read_markets(path)
    path.write_text("ticker,event_ticker,strike_type\n")
    with pytest.raises(DataError, match="expected columns close_time"):
        read_markets(path)
    with pytest.raises(DataError, match="with a zone"):
        parse_time_ns("2026-01-01T00:00", "x")


def test_forecasts_and_outcomes_of_the_sample() -> None:
    forecasts = read_forecasts(sample.directory() / "forecasts.csv")
    f = forecasts["KXHIGHNY-25DEC06"]
    assert list(f.lead_days) == [2, 1]
    assert list(f.value_f) == [39.9, 39.7]
    outcomes = read_outcomes(sample.directory() / "outcomes.csv")
    assert outcomes["KXHIGHNY-25DEC06"].value == 42
    assert outcomes["KXHIGHNY-25DEC06"].source.startswith("ghcnd_tmax_rounded")


def test_forecast_as_of_join_is_inclusive_at_known_from() -> None:
    f = read_forecasts(sample.directory() / "forecasts.csv")["KXHIGHNY-25DEC06"]
    t0, t1 = int(f.known_from_ns[0]), int(f.known_from_ns[1])
    times = np.array([t0 - 1, t0, t1 - 1, t1, t1 + 86_400 * S], dtype=np.int64)
    assert forecast_index(f, times).tolist() == [-1, 0, 0, 1, 1]
    assert forecast_index(None, times).tolist() == [-1] * 5
