"""Convert the KXHIGHNY best-bid change log into derived captures that replay its path exactly.

Source (read-only): ``../shared/real-data/jetpackjules-kxhighny-bbo/market_data_<EVENT>.csv.gz``,
written by a WebSocket logger that rebuilt each book from ``orderbook_snapshot`` +
``orderbook_delta`` and appended a row whenever a market's best YES or best NO bid changed.
Columns ``timestamp`` (naive local time, microseconds), ``market_ticker``, ``best_yes_bid``,
``best_no_bid`` (whole cents, ``0`` = no bid on that side), then the implied asks (unused).
No sizes, no seq, no trades.

Rule, per event file (one derived connection ``derived.bbo.<EVENT>``, ``sid`` 1 for all six
markets, ``seq`` from 1 without gaps):

* a market's first row becomes an ``orderbook_snapshot`` holding one YES level at the row's
  best YES bid and one NO level at its best NO bid (a side is absent when it is 0);
* every later row becomes the ``orderbook_delta`` frames (YES ladder first, then NO) that make
  the book's best bids equal the row's: best moving up adds a level at the new best; moving
  down removes every level above the new best (highest first) and adds the new best if it is
  not there; 0 removes every level of that ladder. A row that changes nothing gives no frame;
* every level added gets a size from the size rule (:mod:`kcap.convert.sizes`); a level keeps
  its size until it is removed.

So after each row's frames, the book's best YES bid and best NO bid are exactly the row's.

Timezone. The timestamps are **US/Pacific wall-clock time** (``America/Los_Angeles``; PST,
UTC-8, on every row: Dec 2025 - Jan 2026), converted to UTC Unix nanoseconds for ``recv_ns``
(``mono_ns = recv_ns``; ``ts_ms`` of deltas = ``recv_ns // 10**6``, the logger's clock, not
Kalshi's). Evidence, all from the real data:

1. Kalshi's hourly candles (``sameeres-kxhigh-candles-ghcnd``, UTC ``end_period_ts``; ``low`` =
   YES bid close, ``high`` = YES ask close) agree with the log's book at the candle's end for
   3,447 of 3,502 candles (98.4 %; 97-100 % per file, except 85 % for 26JAN01, whose log
   ends at a logger restart) when the log is read as UTC-8, against 23 % at UTC-7 or UTC-9
   (``tests/convert/test_convert_bbo.py`` checks this on one event).
2. Markets open at 10:00 ET (15:00Z in winter) the day before the event: the first row of
   20 of the 23 files is at 07:00-07:07 local (15:00-15:07Z), 25DEC24 at 07:18; the other two
   start when the logger was (re)started; and the first hourly candle of every KXHIGHNY
   market ends at 16:00Z.
3. Trading closes at 23:59 ET (04:59Z) on the event day: the latest row on an event day is at
   20:52 local (23:52 ET, 25DEC23); no row falls between 21:00 local (00:00 ET) and 04:01 the
   next morning, when the books of the losing markets empty (25DEC05, 25DEC06): 04:01 local
   is 07:01 ET, the settlement time of the rules ("the first 7:00 or 8:00 AM ET following the
   release of the data").
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final, Literal, NamedTuple
from zoneinfo import ZoneInfo

from kcap.errors import DataError
from kcap.fixedpoint import ONE_CENT_CC

from .provenance import BBO, describe
from .records import DerivedCapture, DerivedConnection
from .sizes import BEST_BID_SIZES, SIZE_RULE, SizeBucket, size_for_price
from .sources import NS_PER_SECOND, epoch_ns, open_binary

SOURCE_TIMEZONE: Final = "America/Los_Angeles"
"""The time zone of the log's naive timestamps (see the module docstring for the evidence)."""

TIMEZONE_RULE: Final = (
    "source timestamps are naive US/Pacific wall-clock times (America/Los_Angeles, PST = UTC-8 "
    "on every row); recv_ns = mono_ns = that instant in UTC Unix ns; delta ts_ms = recv_ns // 1e6 "
    "(the logger's clock). Evidence: hourly candles match at UTC-8 (98.4% of 3,502), "
    "open 07:00 local = 10:00 ET, settlement clears books at 04:01 local = 07:01 ET"
)
BBO_RULE: Final = (
    "per market: first row = orderbook_snapshot with one level per non-empty side at the row's "
    "best bids; each later row = orderbook_delta frames (yes then no) making the best bids equal "
    "the row's: up = add the new best; down = remove levels above (highest first), add the new "
    "best if absent; 0 = empty the ladder; unchanged row = no frame"
)
COLUMNS: Final = ("timestamp", "market_ticker", "best_yes_bid", "best_no_bid")
_EVENT_RE: Final = re.compile(
    r"market_data_(?:local_)?(?P<event>KX[A-Z]+-\d\d[A-Z]{3}\d\d)\.csv(?:\.gz)?$"
)

_Book = tuple[dict[int, int], dict[int, int], list[int]]
"""A market's YES ladder, NO ladder and ``[best YES bid, best NO bid]`` (centi-cents)."""
_SIDES: Final[tuple[tuple[Literal["yes", "no"], int], ...]] = (("yes", 0), ("no", 1))

SizeRule = Callable[[int], int]
"""A size rule: centi-contracts for a level added at a price in centi-cents."""


class BboRow(NamedTuple):
    """One source row: UTC time, market, best bids in centi-cents (0 = no bid), source line."""

    recv_ns: int
    market_ticker: str
    yes_bid: int
    no_bid: int
    line: int


class LocalClock:
    """Converts naive wall-clock times of one time zone to UTC Unix nanoseconds, exactly.

    The UTC time of each local hour's start is computed once (US zones change offset on the
    hour); the minutes, seconds and microseconds are added to it.

    Raises:
        DataError: a local time that is ambiguous or does not exist (a DST change).
    """

    def __init__(self, zone: str = SOURCE_TIMEZONE) -> None:
        self.zone = ZoneInfo(zone)
        self._hours: dict[tuple[int, int, int, int], int] = {}

    def to_ns(self, local: dt.datetime, where: str) -> int:
        """UTC Unix nanoseconds of the naive local time ``local`` (``where`` names it in errors)."""
        key = (local.year, local.month, local.day, local.hour)
        base = self._hours.get(key)
        if base is None:
            base = self._hours[key] = self._hour_start_ns(local, where)
        return base + ((local.minute * 60 + local.second) * 1_000_000 + local.microsecond) * 1_000

    def _hour_start_ns(self, local: dt.datetime, where: str) -> int:
        start = local.replace(minute=0, second=0, microsecond=0)
        early = start.replace(tzinfo=self.zone, fold=0).utcoffset()
        late = start.replace(tzinfo=self.zone, fold=1).utcoffset()
        if early is None or early != late:
            raise DataError(f"{where}: local time {local} is ambiguous or skipped in {self.zone}")
        return epoch_ns(start) - (early.days * 86_400 + early.seconds) * NS_PER_SECOND


def event_ticker_of(path: Path) -> str:
    """The event ticker in a log's file name: ``market_data_KXHIGHNY-25DEC20.csv.gz`` -> the part
    after ``market_data_``.

    Raises:
        DataError: a name that does not hold one.
    """
    found = _EVENT_RE.search(path.name)
    if found is None:
        raise DataError(f"{path}: expected a name like market_data_KXHIGHNY-25DEC20.csv.gz")
    return found["event"]


_CENTS: Final[dict[str, int]] = {str(c): c * ONE_CENT_CC for c in range(100)}


def _cents(text: str, where: str) -> int:
    """A bid in whole cents (``"38"``, ``"0"``) as centi-cents."""
    try:
        return _CENTS[text]
    except KeyError:
        raise DataError(f"{where}: expected a bid in whole cents 0..99, found {text!r}") from None


def read_bbo_csv(path: str | Path, *, clock: LocalClock | None = None) -> list[BboRow]:
    """Read and check a best-bid log: columns, tickers of the file's event, prices, time order.

    Args:
        path: a ``market_data_<EVENT>.csv(.gz)`` file.
        clock: the source time zone (default US/Pacific).

    Raises:
        DataError: a missing column, a bad row, a market of another event, time going back.
    """
    path = Path(path)
    clock = clock or LocalClock()
    prefix = event_ticker_of(path) + "-"
    rows: list[BboRow] = []
    with open_binary(path) as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
        reader = csv.reader(text)
        header = next(reader, [])
        if tuple(header[:4]) != COLUMNS:
            raise DataError(f"{path}: expected columns {','.join(COLUMNS)}, found {header[:4]}")
        for line_no, row in enumerate(reader, start=2):
            where = f"{path}:{line_no}"
            if len(row) < 4 or not row[1].startswith(prefix):
                raise DataError(f"{where}: expected a row of a {prefix[:-1]} market, found {row}")
            try:
                local = dt.datetime.fromisoformat(row[0])
            except ValueError as exc:
                raise DataError(f"{where}: expected an ISO time, found {row[0]!r}") from exc
            if local.tzinfo is not None:
                raise DataError(f"{where}: expected a naive local time, found {row[0]!r}")
            ns = clock.to_ns(local, where)
            if rows and ns < rows[-1].recv_ns:
                raise DataError(
                    f"{where}: expected times in order, found {row[0]} after a later row"
                )
            rows.append(BboRow(ns, row[1], _cents(row[2], where), _cents(row[3], where), line_no))
    return rows


def move_best(ladder: dict[int, int], best: int, size_rule: SizeRule) -> list[tuple[int, int]]:
    """Change ``ladder`` so that its best (highest) bid is ``best`` (0: no bid), and say how.

    Args:
        ladder: ``{price_cc: size_cx}``, changed in place.
        best: the wanted best bid in centi-cents, or 0 for an empty ladder.
        size_rule: the size of a level added at a price.

    Returns:
        ``[(price_cc, delta_cx), ...]`` in the order applied: removals from the highest price
        down, then the addition of the new best (if any).
    """
    changes = [(price, -ladder[price]) for price in sorted(ladder, reverse=True) if price > best]
    for price, _ in changes:
        del ladder[price]
    if best and best not in ladder:
        size = ladder[best] = size_rule(best)
        changes.append((best, size))
    return changes


def bbo_to_connection(
    rows: Sequence[BboRow],
    conn: DerivedConnection,
    size_rule: SizeRule,
    *,
    start_ns: int | None = None,
) -> None:
    """Feed the rows of one event to ``conn`` as snapshots and deltas (module docstring rule).

    Args:
        rows: the event's rows, in time order.
        conn: the derived connection to feed.
        size_rule: the size of a level added at a price.
        start_ns: if given, the rows before it only build the books, which are sent as one
            snapshot per market at ``start_ns`` (ticker order); the frames from there on are the
            same as without it, so every book from ``start_ns`` on equals the full conversion's.
    """
    books: dict[str, _Book] = {}
    live = start_ns is None
    start = 0 if start_ns is None else start_ns
    for row in rows:
        if not live and row.recv_ns >= start:
            _snapshot_all(conn, books, start)
            live = True
        book = books.get(row.market_ticker)
        if book is None:
            yes = {row.yes_bid: size_rule(row.yes_bid)} if row.yes_bid else {}
            no = {row.no_bid: size_rule(row.no_bid)} if row.no_bid else {}
            books[row.market_ticker] = (yes, no, [row.yes_bid, row.no_bid])
            if live:
                conn.snapshot(row.recv_ns, row.market_ticker, yes, no)
            continue
        yes, no, best = book
        if row.yes_bid == best[0] and row.no_bid == best[1]:
            conn.counts["unchanged_rows"] += 1
            continue
        for (side, i), ladder, bid in zip(
            _SIDES, (yes, no), (row.yes_bid, row.no_bid), strict=True
        ):
            if bid != best[i]:
                best[i] = bid
                for price, delta in move_best(ladder, bid, size_rule):
                    if live:
                        conn.delta(row.recv_ns, row.market_ticker, side, price, delta)
    if not live:
        _snapshot_all(conn, books, start)
    conn.counts["rows"] = len(rows)
    conn.counts["markets"] = len(books)


def _snapshot_all(conn: DerivedConnection, books: dict[str, _Book], recv_ns: int) -> None:
    for ticker in sorted(books):
        yes, no, _ = books[ticker]
        conn.snapshot(recv_ns, ticker, yes, no)
    conn.counts["window_snapshots"] = len(books)


def convert_bbo_file(
    path: str | Path,
    *,
    start_ns: int | None = None,
    size_table: tuple[SizeBucket, ...] = BEST_BID_SIZES,
    clock: LocalClock | None = None,
) -> DerivedCapture:
    """Convert one event's best-bid log into a derived capture (rule in the module docstring).

    Args:
        path: ``market_data_<EVENT>.csv.gz``.
        start_ns: keep only the part from this UTC Unix time on, starting with one snapshot
            per market already listed (see :func:`bbo_to_connection`); None keeps everything.
        size_table: the size rule's table (default: the committed one).
        clock: the source time zone (default US/Pacific).

    Returns:
        The capture: conn ``derived.bbo.<EVENT>``, origin ``derived:jetpackjules-kxhighny-bbo``.

    Raises:
        DataError: a malformed source file.
    """
    path = Path(path)
    event = event_ticker_of(path)
    rows = read_bbo_csv(path, clock=clock)
    conn = DerivedConnection(f"derived.bbo.{event}", f"derived:{BBO.folder}", where=str(path))
    bbo_to_connection(
        rows, conn, lambda price: size_for_price(price, size_table), start_ns=start_ns
    )
    info = {
        "source": path.name,
        "event_ticker": event,
        "provenance": describe(BBO),
        "derivation": BBO_RULE,
        "size_rule": SIZE_RULE,
        "size_table": [list(bucket) for bucket in size_table],
        "timezone": SOURCE_TIMEZONE,
        "timezone_rule": TIMEZONE_RULE,
        "note": "derived from a best-bid change log; sizes are made up by the size rule; "
        "not raw WebSocket frames",
    }
    if start_ns is not None:
        info["window"] = {
            "start_ns": start_ns,
            "rule": "rows before start_ns only build the books, sent as one snapshot per "
            "market at start_ns; from there on the frames equal the full conversion's",
        }
    return conn.finish(info)
