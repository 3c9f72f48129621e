"""Tidy polars tables of replayed books, for notebooks and plots.

The book tables come from the same replay as ``kcap replay --emit``, reshaped; nothing here
rebuilds a book. Settlement and the forecast model are the environment's. Prices come out as float dollars and sizes as float contracts: this is the
edge of the package, where floats are allowed (the books stay exact integers).

* :func:`replay_books` - top-N book rows (``kcap.replay.emit`` schema) plus the replay summary,
  on every change or on a fixed receive-time grid.
* :func:`bracket_table` - an event's brackets in ladder order, labels, the winner.
* :func:`top_of_book` - one row per book state: best YES bid/ask, spread, mid, sizes, validity.
* :func:`bracket_sums` - per event and time, the sums of the brackets' YES bids, asks and mids
  (a complete set of brackets pays exactly $1, so fair prices sum to $1).
* :func:`implied_distribution` - each bracket's market-implied probability at a time.
* :func:`forecast_distribution` - each bracket's probability under the latest known forecast
  (the environment's forecast model, :mod:`kcap.envs.features`).
* :func:`depth_levels` - one row per price level of one market's ladders (for a heatmap).
* :func:`stale_span_table`, :func:`quiet_stretches` - when a book was not trustworthy, and
  when a capture received nothing for a while.

Example:
    >>> from kcap.analysis import replay_books, top_of_book
    >>> from kcap.replay.player import MarketFilter
    >>> run = replay_books(select=MarketFilter(events=frozenset({"KXHIGHNY-25DEC06"})))
    >>> top = top_of_book(run.books)
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from kcap.book import OrderBook
from kcap.envs.data import Bracket, forecast_index, read_forecasts
from kcap.envs.features import FORECAST_SIGMA_F, bracket_probabilities, sigma_for
from kcap.envs.settlement import check_strikes, yes_wins
from kcap.fixedpoint import ONE_CONTRACT_CX, ONE_DOLLAR_CC
from kcap.replay.emit import BookEmitter
from kcap.replay.player import MarketFilter, Player, ReplayConfig, ReplayResult

ZONE: Final = "America/New_York"
"""Default time zone of the ``time`` columns: the KXHIGHNY station's (Central Park)."""

_NS_PER_SECOND: Final = 1_000_000_000
_PRICE_DECIMALS: Final = 4
_SIZE_DECIMALS: Final = 2
"""Prices are exact to 1/10,000 dollar and sizes to 1/100 contract: float results are rounded
there, so that 9500 centi-cents read 0.95 and a sum of $1.00 is never 1.0000000000000002."""
_BRACKET_COLUMNS: Final = (
    "market_ticker", "event_ticker", "strike_type", "floor_strike", "cap_strike",
    "from_f", "to_f", "label", "close_time", "close_ns", "outcome_f", "won",
)  # fmt: skip
_BRACKET_SCHEMA: Final = {
    "market_ticker": pl.String, "event_ticker": pl.String, "strike_type": pl.String,
    "floor_strike": pl.Float64, "cap_strike": pl.Float64, "from_f": pl.Int64, "to_f": pl.Int64,
    "label": pl.String, "outcome_f": pl.Float64, "won": pl.Boolean,
}  # fmt: skip


@dataclass(frozen=True)
class BookReplay:
    """What :func:`replay_books` returns.

    Attributes:
        books: the emitted rows, columns as :data:`kcap.replay.emit.EMIT_SCHEMA` (prices in
            centi-cents, sizes in centi-contracts; ``market_ticker`` as a string).
        result: the replay summary (record counts, gaps, stale spans, digest).
    """

    books: pl.DataFrame
    result: ReplayResult


def replay_books(
    paths: Sequence[str | Path] = (),
    *,
    select: MarketFilter | None = None,
    depth: int = 5,
    interval_ns: int | None = None,
) -> BookReplay:
    """Replay captures and collect the selected books' top-N rows, as ``kcap replay --emit``.

    Args:
        paths: capture files, directories or globs (empty: the embedded sample).
        select: the markets to collect (every record is still applied).
        depth: levels per ladder in the list columns.
        interval_ns: None for a row on every change of a book; else every selected book's row
            at each multiple of ``interval_ns`` of receive time (every book has a row at every
            time from its first snapshot on, which aligns the brackets of an event).

    Returns:
        The rows and the replay summary.

    Raises:
        KcapError: a capture that cannot be read (see :mod:`kcap.replay.readers`).
    """
    config = ReplayConfig(paths=paths, select=select or MarketFilter())
    player = Player(config)

    def selected() -> list[OrderBook]:
        books = player.builder.books
        return [books[t] for t in sorted(books) if config.select.matches(t)]

    with tempfile.TemporaryDirectory(prefix="kcap-analysis-") as scratch:
        out = Path(scratch) / "books.parquet"
        emitter = BookEmitter(out, depth=depth, interval_ns=interval_ns, books=selected)
        if interval_ns is None:
            player.on_change = emitter.on_change
        else:
            player.on_clock = emitter.on_clock
        try:
            result = player.run()
        finally:
            emitter.close()
        table = pq.read_table(out, memory_map=False)
    books = pl.DataFrame(table).with_columns(pl.col("market_ticker").cast(pl.String))
    return BookReplay(books, result)


def bracket_table(
    markets: pl.DataFrame | str | Path, outcomes: pl.DataFrame | str | Path | None = None
) -> pl.DataFrame:
    """The brackets of ``markets.csv`` in ladder order, the whole degrees each one covers and,
    given ``outcomes.csv``, which one won (settled by :func:`kcap.envs.settlement.yes_wins`).

    Settlement values are whole degrees F, so ``between`` covers ``floor..cap``, ``less``
    ``..cap - 1``, ``less_or_equal`` ``..cap``, ``greater`` ``floor + 1..`` and
    ``greater_or_equal`` ``floor..`` (Kalshi's strike types).

    Args:
        markets: a ``markets.csv`` table (:mod:`kcap.sample`, :mod:`kcap.convert.events`) or
            its path; needs ``ticker``, ``event_ticker``, ``strike_type``, ``floor_strike``,
            ``cap_strike`` and ``close_time``.
        outcomes: an ``outcomes.csv`` table or path (``event_ticker``, ``high_f``), or None.

    Returns:
        Columns ``market_ticker``, ``event_ticker``, ``strike_type``, ``floor_strike``,
        ``cap_strike``, ``from_f`` and ``to_f`` (lowest and highest whole degree that settles
        YES, null for an open end), ``label`` (``"41-42°F"``, ``"33°F or below"``),
        ``close_time`` (UTC datetime), ``close_ns`` (Unix ns), ``outcome_f`` (the settled
        high) and ``won`` (both null when the outcome is unknown); sorted by event and
        ``from_f`` (open low end first).

    Raises:
        DataError: a strike type kcap does not settle, or strikes that do not fit it.
    """
    table = markets if isinstance(markets, pl.DataFrame) else pl.read_csv(markets)
    settled: dict[str, float] = {}
    if outcomes is not None:
        known = outcomes if isinstance(outcomes, pl.DataFrame) else pl.read_csv(outcomes)
        for event, high in known.select("event_ticker", "high_f").iter_rows():
            if high is not None:
                settled[str(event)] = float(high)
    rows = []
    for ticker, event, kind, floor_strike, cap_strike in table.select(
        "ticker", "event_ticker", "strike_type", "floor_strike", "cap_strike"
    ).iter_rows():
        floor, cap = _fraction(floor_strike), _fraction(cap_strike)
        check_strikes(kind, floor, cap)
        low, high = _whole_degrees(kind, floor, cap)
        value = settled.get(event)
        won = None if value is None else yes_wins(kind, floor, cap, Fraction(str(value)))
        rows.append(
            {"market_ticker": ticker, "event_ticker": event, "strike_type": kind,
             "floor_strike": floor_strike, "cap_strike": cap_strike, "from_f": low,
             "to_f": high, "label": _label(low, high), "outcome_f": value,
             "won": won}
        )  # fmt: skip
    close = table["close_time"].cast(pl.String).str.to_datetime(time_unit="ns", time_zone="UTC")
    return (
        pl.DataFrame(rows, schema=_BRACKET_SCHEMA)
        .with_columns(close.alias("close_time"), close.dt.epoch("ns").alias("close_ns"))
        .select(_BRACKET_COLUMNS)
        .sort("event_ticker", pl.col("from_f").fill_null(-math.inf), "market_ticker")
    )


def _whole_degrees(
    kind: str, floor: Fraction | None, cap: Fraction | None
) -> tuple[int | None, int | None]:
    """Lowest and highest whole degree a bracket settles YES on (None: open end)."""
    if kind == "between":
        assert floor is not None and cap is not None
        return math.ceil(floor), math.floor(cap)
    if kind == "less":
        assert cap is not None
        return None, math.ceil(cap) - 1
    if kind == "less_or_equal":
        assert cap is not None
        return None, math.floor(cap)
    assert floor is not None
    return (math.floor(floor) + 1 if kind == "greater" else math.ceil(floor)), None


def _label(low: int | None, high: int | None) -> str:
    if low is None:
        return f"{high}°F or below"
    if high is None:
        return f"{low}°F or above"
    return f"{low}°F" if low == high else f"{low}-{high}°F"


def _time(ns: pl.Expr, zone: str) -> pl.Expr:
    return pl.from_epoch(ns, time_unit="ns").dt.replace_time_zone("UTC").dt.convert_time_zone(zone)


def _event(ticker: pl.Expr) -> pl.Expr:
    return ticker.str.replace(r"-[^-]*$", "")


def top_of_book(books: pl.DataFrame, *, zone: str = ZONE) -> pl.DataFrame:
    """Best YES bid and ask of every book row, in dollars and contracts.

    Args:
        books: rows from :func:`replay_books` (or a ``kcap replay --emit`` file read by polars).
        zone: time zone of the ``time`` column.

    Returns:
        Columns ``time`` (datetime in ``zone``), ``recv_ns``, ``event_ticker``,
        ``market_ticker``, ``valid``, ``yes_bid`` and ``yes_ask`` ($, null when that side is
        empty), ``yes_bid_size`` and ``yes_ask_size`` (contracts), ``spread`` (ask - bid, $,
        null unless both sides exist) and ``mid`` ($: the midpoint, an empty bid counting as
        $0 and an empty ask as $1, so every bracket has one).
    """
    dollars, contracts = float(ONE_DOLLAR_CC), float(ONE_CONTRACT_CX)
    return books.select(
        _time(pl.col("recv_ns"), zone).alias("time"),
        pl.col("recv_ns"),
        _event(pl.col("market_ticker").cast(pl.String)).alias("event_ticker"),
        pl.col("market_ticker").cast(pl.String),
        pl.col("valid"),
        (pl.col("yes_bid_cc") / dollars).round(_PRICE_DECIMALS).alias("yes_bid"),
        (pl.col("yes_ask_cc") / dollars).round(_PRICE_DECIMALS).alias("yes_ask"),
        (pl.col("yes_bid_cx") / contracts).round(_SIZE_DECIMALS).alias("yes_bid_size"),
        (pl.col("yes_ask_cx") / contracts).round(_SIZE_DECIMALS).alias("yes_ask_size"),
    ).with_columns(
        (pl.col("yes_ask") - pl.col("yes_bid")).round(_PRICE_DECIMALS).alias("spread"),
        ((pl.col("yes_bid").fill_null(0.0) + pl.col("yes_ask").fill_null(1.0)) / 2)
        .round(_PRICE_DECIMALS + 1)
        .alias("mid"),
    )


def bracket_sums(top: pl.DataFrame) -> pl.DataFrame:
    """Per event and time, the sums over its brackets of the YES bids, asks and mids.

    The brackets of an event cover every outcome once, so one YES of each pays exactly $1:
    buying them all at the asks costs ``ask_sum`` (>= $1 unless the ladder is mispriced),
    selling them all at the bids earns ``bid_sum``. Use rows on a grid
    (``replay_books(interval_ns=...)``), where every book has a row at every time.

    Args:
        top: rows from :func:`top_of_book`.

    Returns:
        Columns ``time``, ``recv_ns``, ``event_ticker``, ``brackets`` (books at that time),
        ``bid_sum`` (empty bids count $0), ``ask_sum`` (empty asks count $1), ``mid_sum``,
        all in dollars, exact (rounded to the price precision); sorted by event and time.
    """
    return (
        top.group_by("event_ticker", "recv_ns")
        .agg(
            pl.col("time").first(),
            pl.len().alias("brackets"),
            pl.col("yes_bid").fill_null(0.0).sum().round(_PRICE_DECIMALS).alias("bid_sum"),
            pl.col("yes_ask").fill_null(1.0).sum().round(_PRICE_DECIMALS).alias("ask_sum"),
            pl.col("mid").sum().round(_PRICE_DECIMALS + 1).alias("mid_sum"),
        )
        .select("time", "recv_ns", "event_ticker", "brackets", "bid_sum", "ask_sum", "mid_sum")
        .sort("event_ticker", "recv_ns")
    )


def implied_distribution(top: pl.DataFrame, at_ns: int) -> pl.DataFrame:
    """Each bracket's market-implied probability: its mid over the sum of its event's mids.

    Each book's state is its last row at or before ``at_ns``; books with no row by then are
    left out.

    Args:
        top: rows from :func:`top_of_book`.
        at_ns: the time, Unix ns.

    Returns:
        Columns ``event_ticker``, ``market_ticker``, ``time`` (of the state used), ``yes_bid``,
        ``yes_ask``, ``mid``, ``implied_prob`` (sums to 1 per event), sorted by ticker.
    """
    last = (
        top.filter(pl.col("recv_ns") <= at_ns)
        .sort("recv_ns", maintain_order=True)
        .group_by("market_ticker", maintain_order=True)
        .last()
    )
    return last.select(
        "event_ticker", "market_ticker", "time", "yes_bid", "yes_ask", "mid",
        (pl.col("mid") / pl.col("mid").sum().over("event_ticker")).alias("implied_prob"),
    ).sort("event_ticker", "market_ticker")  # fmt: skip


def forecast_distribution(
    brackets: pl.DataFrame,
    forecasts: str | Path,
    at_ns: int,
    *,
    sigma_f: Mapping[int, float] = FORECAST_SIGMA_F,
) -> pl.DataFrame:
    """Each bracket's probability under the latest forecast known at ``at_ns``.

    The model is the environment's (:mod:`kcap.envs.features`): the day's high is
    ``Normal(forecast, sigma(lead))``, settled in whole degrees. A forecast counts from its
    ``known_from_ns`` on, never before (no look-ahead).

    Args:
        brackets: rows from :func:`bracket_table` (any events).
        forecasts: a ``forecasts.csv`` (:mod:`kcap.envs.data` format).
        at_ns: the time, Unix ns.
        sigma_f: sigma of the high around the forecast by lead (days), degrees F.

    Returns:
        Columns ``market_ticker``, ``event_ticker``, ``forecast_f``, ``lead_days``,
        ``sigma_f`` and ``forecast_prob`` (all null for an event without a known forecast), in
        the order of ``brackets``.

    Raises:
        DataError: a malformed forecasts file.
    """
    known = read_forecasts(forecasts)
    rows: list[dict[str, object]] = []
    for (event,), ladder in brackets.group_by("event_ticker", maintain_order=True):
        series = known.get(str(event))
        i = int(forecast_index(series, np.array([at_ns], dtype=np.int64))[0])
        tickers = ladder["market_ticker"].to_list()
        if series is None or i < 0:
            rows += [{"market_ticker": t, "event_ticker": event} for t in tickers]
            continue
        value, lead = float(series.value_f[i]), int(series.lead_days[i])
        sigma = sigma_for(lead, sigma_f)
        shapes = tuple(
            Bracket(t, kind, _fraction(lo), _fraction(hi))
            for t, kind, lo, hi in ladder.select(
                "market_ticker", "strike_type", "floor_strike", "cap_strike"
            ).iter_rows()
        )
        for t, prob in zip(tickers, bracket_probabilities(shapes, value, sigma), strict=True):
            rows.append(
                {"market_ticker": t, "event_ticker": event, "forecast_f": value,
                 "lead_days": lead, "sigma_f": sigma, "forecast_prob": prob}
            )  # fmt: skip
    schema = {
        "market_ticker": pl.String, "event_ticker": pl.String, "forecast_f": pl.Float64,
        "lead_days": pl.Int64, "sigma_f": pl.Float64, "forecast_prob": pl.Float64,
    }  # fmt: skip
    return pl.DataFrame(rows, schema=schema)


def _fraction(value: float | str | None) -> Fraction | None:
    """A strike or value as an exact Fraction (through its decimal text: 41.5 -> 83/2)."""
    return None if value is None else Fraction(str(value))


def depth_levels(books: pl.DataFrame, market_ticker: str, *, zone: str = ZONE) -> pl.DataFrame:
    """One market's book levels, one row per level and book row, in YES terms.

    YES bids are ``bid`` levels; NO bids at ``p`` are YES ``ask`` levels at ``$1 - p``. Only
    the ``depth`` levels per ladder that :func:`replay_books` kept are present.

    Args:
        books: rows from :func:`replay_books`.
        market_ticker: the market.
        zone: time zone of the ``time`` column.

    Returns:
        Columns ``time``, ``recv_ns``, ``side`` (``bid``/``ask``), ``price`` ($), ``size``
        (contracts), sorted by time, side and price.
    """
    rows = books.filter(pl.col("market_ticker").cast(pl.String) == market_ticker)
    sides = []
    for side, prices, sizes, flip in (
        ("bid", "yes_bids_cc", "yes_bids_cx", False),
        ("ask", "no_bids_cc", "no_bids_cx", True),
    ):
        levels = rows.select("recv_ns", pl.col(prices).alias("p"), pl.col(sizes).alias("s"))
        levels = levels.explode("p", "s").drop_nulls("p")
        price = (ONE_DOLLAR_CC - pl.col("p")) if flip else pl.col("p")
        sides.append(
            levels.select(
                _time(pl.col("recv_ns"), zone).alias("time"),
                "recv_ns",
                pl.lit(side).alias("side"),
                (price / float(ONE_DOLLAR_CC)).round(_PRICE_DECIMALS).alias("price"),
                (pl.col("s") / float(ONE_CONTRACT_CX)).round(_SIZE_DECIMALS).alias("size"),
            )
        )
    return pl.concat(sides).sort("recv_ns", "side", "price")


def stale_span_table(result: ReplayResult, *, zone: str = ZONE) -> pl.DataFrame:
    """The replay's stale spans (books not trustworthy after a gap or disconnect) as a table.

    Args:
        result: a replay summary (:attr:`BookReplay.result` or :meth:`Player.run`'s).
        zone: time zone of the ``start`` and ``end`` columns.

    Returns:
        Columns ``market_ticker``, ``start``, ``end`` (null: still stale at the end),
        ``start_ns``, ``end_ns``, ``duration_s`` (null when open-ended), ``reason``.
    """
    spans = result.stale_spans
    frame = pl.DataFrame(
        {
            "market_ticker": [s.market_ticker for s in spans],
            "start_ns": [s.start_ns for s in spans],
            "end_ns": [s.end_ns for s in spans],
            "reason": [s.reason for s in spans],
        },
        schema={
            "market_ticker": pl.String,
            "start_ns": pl.Int64,
            "end_ns": pl.Int64,
            "reason": pl.String,
        },
    )
    return frame.select(
        "market_ticker",
        _time(pl.col("start_ns"), zone).alias("start"),
        _time(pl.col("end_ns"), zone).alias("end"),
        "start_ns",
        "end_ns",
        ((pl.col("end_ns") - pl.col("start_ns")) / _NS_PER_SECOND).round(9).alias("duration_s"),
        "reason",
    )


def quiet_stretches(
    records: pl.DataFrame,
    *,
    min_gap_ns: int,
    by: str | None = None,
    zone: str = ZONE,
) -> pl.DataFrame:
    """Stretches of at least ``min_gap_ns`` between consecutive records (silences).

    A silence is not an error (weather markets sit quiet for hours) but a long one across a
    whole capture often means the recorder was down; compare with :func:`stale_span_table`.

    Args:
        records: any table with a ``recv_ns`` column (a capture read by polars, book rows).
        min_gap_ns: shortest silence reported, ns.
        by: a column to look for silences in separately (for example ``market_ticker``;
            rows where it is null are dropped), or None for the whole table.
        zone: time zone of the ``start`` and ``end`` columns.

    Returns:
        Columns ``[by]``, ``start``, ``end``, ``start_ns`` (last record before the silence),
        ``end_ns`` (first record after it), ``duration_s``; longest first.
    """
    keys = [] if by is None else [by]
    rows = records.select(*keys, "recv_ns")
    if by is not None:
        rows = rows.drop_nulls(by)
    previous = pl.col("recv_ns").shift(1)
    if by is not None:
        previous = previous.over(by)
    found = (
        rows.sort(*keys, "recv_ns")
        .with_columns(previous.alias("start_ns"))
        .filter(pl.col("recv_ns") - pl.col("start_ns") >= min_gap_ns)
        .rename({"recv_ns": "end_ns"})
    )
    return found.select(
        *keys,
        _time(pl.col("start_ns"), zone).alias("start"),
        _time(pl.col("end_ns"), zone).alias("end"),
        "start_ns",
        "end_ns",
        ((pl.col("end_ns") - pl.col("start_ns")) / _NS_PER_SECOND).round(9).alias("duration_s"),
    ).sort("duration_s", descending=True)
