"""kcap.analysis: tidy tables from a literal capture (gap, resnapshot, disconnect) and from
literal rows, compared in full."""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist

import polars as pl
import pytest

from captures import T0, S, write_scenario
from kcap import analysis, sample
from kcap.errors import DataError
from kcap.replay.emit import EMIT_SCHEMA
from kcap.replay.player import MarketFilter

B385 = "KXHIGHNY-25DEC20-B38.5"
T36 = "KXHIGHNY-25DEC20-T36"


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    return write_scenario(tmp_path / "scenario.jsonl")


def emit_rows(rows: list[dict[str, object]]) -> pl.DataFrame:
    """Book rows in the emit schema; columns left out are null (lists empty)."""
    columns: dict[str, list[object]] = {name: [] for name in EMIT_SCHEMA.names}
    for row in rows:
        for name in columns:
            default: object = [] if name.endswith(("bids_cc", "bids_cx")) else None
            columns[name].append(row.get(name, default))
    frame = pl.DataFrame(columns, schema_overrides={"market_ticker": pl.String})
    return frame.with_columns(pl.col("valid").fill_null(True), pl.col("crossed").fill_null(False))


# ---------------------------------------------------------------------------------------------
# replay_books


def test_replay_books_on_change_has_one_row_per_change(scenario: Path) -> None:
    run = analysis.replay_books([scenario])
    books = run.books.select(
        ((pl.col("recv_ns") - T0) // S).alias("secs"), "market_ticker", "yes_bid_cc", "no_bid_cc"
    )
    assert books.rows() == [
        (60, B385, 3000, 5000),
        (120, T36, 100, 9700),
        (180, B385, 3200, 5000),
        (240, T36, 100, 9700),
        (360, B385, 3400, 5000),  # the resnapshot
        (420, B385, 3400, 5100),
        (600, T36, 200, 9600),  # the new connection's snapshot
        (660, T36, None, 9600),
    ]
    assert run.books["yes_bids_cc"][4].to_list() == [3400, 3300, 3200, 3000]
    assert run.result.records == 13
    assert len(run.result.gaps) == 1


def test_replay_books_on_a_grid_gives_every_selected_book_at_every_step(scenario: Path) -> None:
    run = analysis.replay_books(
        [scenario], select=MarketFilter(markets=frozenset({T36})), interval_ns=120 * S
    )
    books = run.books.select(((pl.col("recv_ns") - T0) // S).alias("secs"), "valid", "no_bid_cc")
    # a row at a step is the state after every record received up to that instant
    assert books["secs"].to_list() == [120, 240, 360, 480, 600]
    assert books["valid"].to_list() == [True, True, False, False, True]  # gap at 300 s
    # a stale book keeps its levels; the disconnect at 480 s empties it
    assert books["no_bid_cc"].to_list() == [9700, 9700, 9700, None, 9600]
    assert run.books["market_ticker"].unique().to_list() == [T36]


def test_replay_books_default_is_the_embedded_sample() -> None:
    event = sample.EVENTS[-1]
    run = analysis.replay_books(select=MarketFilter(events=frozenset({event})), depth=1)
    assert run.result.records == pl.read_parquet(sample.capture_paths()).height
    assert set(run.books["market_ticker"]) == set(run.result.markets)
    assert all(t.startswith(event + "-") for t in run.result.markets)
    assert len(run.result.markets) == 6


# ---------------------------------------------------------------------------------------------
# top_of_book, bracket_sums, implied_distribution, depth_levels


ROWS = [
    # a two-sided book, a book with no YES bid, a book with no NO bid (no YES ask)
    {"recv_ns": T0, "market_ticker": "E-25DEC20-A", "yes_bid_cc": 9300, "yes_bid_cx": 150,
     "yes_ask_cc": 9500, "yes_ask_cx": 200},
    {"recv_ns": T0, "market_ticker": "E-25DEC20-B", "yes_ask_cc": 100, "yes_ask_cx": 2500},
    {"recv_ns": T0, "market_ticker": "E-25DEC20-C", "yes_bid_cc": 500, "yes_bid_cx": 1000},
    {"recv_ns": T0 + 60 * S, "market_ticker": "E-25DEC20-A", "yes_bid_cc": 9400,
     "yes_ask_cc": 9600, "valid": False},
]  # fmt: skip


def test_top_of_book_converts_to_dollars_and_contracts() -> None:
    top = analysis.top_of_book(emit_rows(ROWS))
    assert top.columns == [
        "time", "recv_ns", "event_ticker", "market_ticker", "valid", "yes_bid", "yes_ask",
        "yes_bid_size", "yes_ask_size", "spread", "mid",
    ]  # fmt: skip
    assert top["event_ticker"].unique().to_list() == ["E-25DEC20"]
    first = top.row(0, named=True)
    assert (first["yes_bid"], first["yes_ask"], first["yes_bid_size"]) == (0.93, 0.95, 1.5)
    assert first["spread"] == pytest.approx(0.02)
    assert first["mid"] == pytest.approx(0.94)
    assert str(first["time"]) == "2025-12-19 11:00:00-05:00"  # America/New_York
    no_bid = top.row(1, named=True)
    assert no_bid["yes_bid"] is None and no_bid["spread"] is None
    assert no_bid["mid"] == pytest.approx(0.005)  # empty bid counts $0
    no_ask = top.row(2, named=True)
    assert no_ask["mid"] == pytest.approx(0.525)  # empty ask counts $1
    assert top["valid"].to_list() == [True, True, True, False]


def test_bracket_sums_are_exact_and_count_empty_sides() -> None:
    sums = analysis.bracket_sums(analysis.top_of_book(emit_rows(ROWS)))
    assert sums.select("event_ticker", "brackets", "bid_sum", "ask_sum").rows() == [
        ("E-25DEC20", 3, 0.98, 1.96),  # 0.93 + 0 + 0.05; 0.95 + 0.01 + 1
        ("E-25DEC20", 1, 0.94, 0.96),
    ]
    # float sums of cents are rounded to the price precision: exactly $1, not 1.0000000000000002
    cents = [9300, 500, 100, 100]
    rows = [
        {"recv_ns": T0, "market_ticker": f"E-X-{i}", "yes_bid_cc": c} for i, c in enumerate(cents)
    ]
    assert analysis.bracket_sums(analysis.top_of_book(emit_rows(rows)))["bid_sum"][0] == 1.0


def test_implied_distribution_uses_the_last_state_and_normalises() -> None:
    top = analysis.top_of_book(emit_rows(ROWS))
    at_start = analysis.implied_distribution(top, T0)
    assert at_start["market_ticker"].to_list() == ["E-25DEC20-A", "E-25DEC20-B", "E-25DEC20-C"]
    total = 0.94 + 0.005 + 0.525
    assert at_start["implied_prob"].to_list() == pytest.approx(
        [0.94 / total, 0.005 / total, 0.525 / total]
    )
    later = analysis.implied_distribution(top, T0 + 60 * S)
    assert later.filter(pl.col("market_ticker") == "E-25DEC20-A")["mid"][0] == pytest.approx(0.95)
    assert analysis.implied_distribution(top, T0 - 1).height == 0


def test_depth_levels_turn_no_bids_into_yes_asks() -> None:
    books = emit_rows(
        [
            {"recv_ns": T0, "market_ticker": "M", "yes_bids_cc": [3000, 2900],
             "yes_bids_cx": [100, 250], "no_bids_cc": [6500], "no_bids_cx": [1000]},
            {"recv_ns": T0, "market_ticker": "OTHER", "yes_bids_cc": [100], "yes_bids_cx": [1]},
        ]
    )  # fmt: skip
    levels = analysis.depth_levels(books, "M")
    assert levels.select("side", "price", "size").rows() == [
        ("ask", 0.35, 10.0),
        ("bid", 0.29, 2.5),
        ("bid", 0.3, 1.0),
    ]


# ---------------------------------------------------------------------------------------------
# stale spans, silences


def test_stale_span_table_lists_gap_and_disconnect_spans(scenario: Path) -> None:
    run = analysis.replay_books([scenario])
    table = analysis.stale_span_table(run.result)
    got = table.select(
        "market_ticker",
        (pl.col("start_ns") - T0) // S,
        (pl.col("end_ns") - T0) // S,
        "duration_s",
        "reason",
    ).rows()
    assert got == [
        (B385, 300, 360, 60.0, "gap"),
        (T36, 300, 600, 300.0, "gap"),
        (B385, 480, None, None, "disconnect"),  # never resnapshotted
    ]


def test_stale_span_table_is_typed_when_empty() -> None:
    run = analysis.replay_books(select=MarketFilter(events=frozenset({sample.EVENTS[4]})))
    table = analysis.stale_span_table(run.result)
    assert table.height == 0
    assert table.schema["start_ns"] == pl.Int64
    assert table.schema["reason"] == pl.String


def test_quiet_stretches_whole_table_and_per_column() -> None:
    minute = 60 * S
    records = pl.DataFrame(
        {
            "recv_ns": [T0, T0 + minute, T0 + 11 * minute, T0 + 12 * minute, T0 + 40 * minute],
            "market_ticker": ["A", "B", "A", None, "B"],
        }
    )
    whole = analysis.quiet_stretches(records, min_gap_ns=10 * minute)
    assert whole.select((pl.col("start_ns") - T0) // minute, "duration_s").rows() == [
        (12, 28 * 60.0),
        (1, 10 * 60.0),
    ]
    per = analysis.quiet_stretches(records, min_gap_ns=10 * minute, by="market_ticker")
    assert per.select("market_ticker", (pl.col("start_ns") - T0) // minute).rows() == [
        ("B", 1),
        ("A", 0),
    ]
    assert analysis.quiet_stretches(records, min_gap_ns=60 * minute).height == 0


# ---------------------------------------------------------------------------------------------
# bracket_table


MARKETS = pl.DataFrame(
    {
        "ticker": ["E-X-B34.5", "E-X-T41", "E-X-T34", "E-X-B36", "E-X-LE", "E-X-GE"],
        "event_ticker": ["E-X"] * 6,
        "strike_type": [
            "between", "greater", "less", "between", "less_or_equal", "greater_or_equal",
        ],
        "floor_strike": [34, 41, None, 36, None, 50],
        "cap_strike": [35, None, 34, 36, 20, None],
        "close_time": ["2025-12-15T04:59:00Z"] * 6,
    }
)  # fmt: skip


def test_bracket_table_labels_orders_and_settles() -> None:
    outcomes = pl.DataFrame({"event_ticker": ["E-X"], "high_f": [33]})
    table = analysis.bracket_table(MARKETS, outcomes)
    assert table.select("market_ticker", "from_f", "to_f", "label", "won").rows() == [
        ("E-X-LE", None, 20.0, "20°F or below", False),
        ("E-X-T34", None, 33.0, "33°F or below", True),
        ("E-X-B34.5", 34.0, 35.0, "34-35°F", False),
        ("E-X-B36", 36.0, 36.0, "36°F", False),
        ("E-X-T41", 42.0, None, "42°F or above", False),
        ("E-X-GE", 50.0, None, "50°F or above", False),
    ]
    assert table["close_ns"][0] == 1_765_774_740 * S
    assert table["outcome_f"].unique().to_list() == [33.0]


def test_bracket_table_without_outcomes_and_from_the_sample_files() -> None:
    assert analysis.bracket_table(MARKETS)["won"].null_count() == MARKETS.height
    data = sample.directory()
    table = analysis.bracket_table(data / "markets.csv", data / "outcomes.csv")
    winners = table.filter(pl.col("won"))
    assert winners.height == len(sample.EVENTS)  # exactly one bracket wins each event
    assert winners.filter(pl.col("event_ticker") == "KXHIGHNY-25DEC14")["label"].to_list() == [
        "33°F or below"
    ]


def test_bracket_table_refuses_unknown_strike_types() -> None:
    odd = MARKETS.with_columns(pl.lit("custom").alias("strike_type"))
    with pytest.raises(DataError, match="'custom'"):
        analysis.bracket_table(odd)


# ---------------------------------------------------------------------------------------------
# forecast_distribution


def test_forecast_distribution_uses_the_latest_known_forecast() -> None:
    data = sample.directory()
    brackets = analysis.bracket_table(data / "markets.csv")
    event = "KXHIGHNY-25DEC06"
    lead_1_known = 1_764_993_600 * S  # forecasts.csv: 39.7 F at lead 1, known from here
    table = analysis.forecast_distribution(brackets, data / "forecasts.csv", lead_1_known)
    ladder = table.filter(pl.col("event_ticker") == event)
    assert (
        ladder["market_ticker"].to_list()
        == brackets.filter(pl.col("event_ticker") == event)["market_ticker"].to_list()
    )
    assert set(ladder["forecast_f"]) == {39.7} and set(ladder["lead_days"]) == {1}
    assert set(ladder["sigma_f"]) == {2.72}
    assert ladder["forecast_prob"].sum() == pytest.approx(1.0)  # the ladder covers every high
    # "41-42°F" holds the highs that round into 41..42: Normal mass of [40.5, 42.5)
    b415 = ladder.filter(pl.col("market_ticker") == f"{event}-B41.5")["forecast_prob"][0]
    high = NormalDist(39.7, 2.72)
    assert b415 == pytest.approx(high.cdf(42.5) - high.cdf(40.5))
    # one nanosecond earlier only the lead-2 forecast (39.9 F) was known
    before = analysis.forecast_distribution(brackets, data / "forecasts.csv", lead_1_known - 1)
    assert set(before.filter(pl.col("event_ticker") == event)["lead_days"]) == {2}
    # events whose forecasts are not known yet get nulls, not a guess
    later_event = before.filter(pl.col("event_ticker") == "KXHIGHNY-26JAN02")
    assert later_event["forecast_prob"].null_count() == later_event.height == 6
