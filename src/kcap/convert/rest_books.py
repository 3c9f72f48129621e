"""Convert full-depth REST order books into derived captures of snapshot and delta frames.

Sources (read-only, ``../shared/real-data``):

* ``kalshi-headless-weather-books/weather_books_YYYY-MM-DD.jsonl.gz``: one market's book per
  line, ``GET /markets/{ticker}/orderbook`` as Kalshi returned it in ``raw_orderbook``
  (``{"yes_dollars": [["0.0100", "351.00"], ...], "no_dollars": [...]}``, ascending price,
  best bid last), with ``ticker``, ``series``, ``capture_id`` and ``captured_at`` (UTC ISO).
  Files for 07-16..07-22 are copies of growing files and may end in a torn line.
* ``ericzhang-kxhighny-rest-orderbooks/20260824T140008Z.jsonl``: one cycle of
  ``GET /markets/{t}/orderbook?depth=20`` for six markets, ``payload.orderbook_fp``, time
  ``fetched_at``. Depth 20: the converted books hold the top 20 levels per side only.

Rule (one derived connection per source file, ``sid`` 1, ``seq`` from 1 without gaps): the
lines are taken in time order (``captured_at``, then file order: one file appends captures out
of order); the first book of a market in the file becomes an ``orderbook_snapshot``; every
later book of it becomes the ``orderbook_delta`` frames that turn the previous book into the
new one, YES ladder then NO ladder, ascending price (:func:`kcap.convert.frames.ladder_changes`).
All frames of a book are stamped with its capture time (``recv_ns``, ``ts_ms``). An unchanged
book gives no frame. So replaying the capture reproduces every source book exactly, level for
level, at its capture time; between captures nothing is known and nothing is invented.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Final, Literal, NamedTuple

import msgspec

from kcap.errors import DataError, FixedPointError
from kcap.fixedpoint import price_cc, size_cx
from kcap.replay.readers import ReadProblem

from .frames import ladder_changes
from .provenance import ERICZHANG_BOOKS, HEADLESS_BLOBS, HEADLESS_BOOKS, Source, describe
from .records import DerivedCapture, DerivedConnection
from .sources import iter_json_lines, utc_iso_to_ns

REST_RULE: Final = (
    "lines in time order (captured_at, then file order); first book of a market in the file = "
    "orderbook_snapshot; each later book = the orderbook_delta frames that turn the previous "
    "book into it (yes then no ladder, ascending price); all stamped at the capture time "
    "(recv_ns = mono_ns = captured_at, ts_ms = captured_at in ms); sid 1, seq from 1"
)


class RawOrderbook(msgspec.Struct, frozen=True):
    """Kalshi's REST ``orderbook_fp``: ``[[price_dollars, count_fp], ...]`` per side, ascending."""

    yes_dollars: list[tuple[str, str]] | None = None
    no_dollars: list[tuple[str, str]] | None = None


class HeadlessLine(msgspec.Struct, frozen=True):
    """The fields kcap uses of one ``weather_books_*.jsonl`` line (others are ignored)."""

    ticker: str
    series: str
    capture_id: str
    captured_at: str
    raw_orderbook: RawOrderbook


class _EricPayload(msgspec.Struct, frozen=True):
    orderbook_fp: RawOrderbook


class EricLine(msgspec.Struct, frozen=True):
    """The fields kcap uses of one line of the ericzhang REST sample."""

    ticker: str
    cycle_id: str
    fetched_at: str
    payload: _EricPayload


class RestBook(NamedTuple):
    """One source book: capture time, market, both ladders ``{price_cc: size_cx}``, source line."""

    recv_ns: int
    market_ticker: str
    yes: dict[int, int]
    no: dict[int, int]
    line: int


def parse_ladder(pairs: list[tuple[str, str]] | None, where: str) -> dict[int, int]:
    """A REST ladder as ``{price_cc: size_cx}``, checked: ascending prices, sizes above zero.

    Raises:
        DataError: a bad price or size, prices not strictly ascending, or a size <= 0.
    """
    ladder: dict[int, int] = {}
    last = -1
    for price_text, size_text in pairs or ():
        try:
            price, size = price_cc(price_text), size_cx(size_text)
        except FixedPointError as exc:
            raise DataError(f"{where}: {exc}") from exc
        if price <= last or size <= 0:
            raise DataError(
                f"{where}: expected ascending prices with sizes > 0, found "
                f"[{price_text!r}, {size_text!r}] after price {last} cc"
            )
        ladder[price] = size
        last = price
    return ladder


def read_headless_books(
    path: Path, *, series: str | None = None, problems: list[ReadProblem] | None = None
) -> list[RestBook]:
    """The books of a ``weather_books_*.jsonl.gz`` file in time order (torn lines skipped).

    Args:
        path: the file.
        series: keep only markets whose ``series`` starts with this (``"KXHIGHNY"``), or all.
        problems: where skipped lines are reported.
    """
    books = [
        _rest_book(path, line_no, row.captured_at, row.ticker, row.raw_orderbook)
        for line_no, row in iter_json_lines(path, HeadlessLine, problems=problems)
        if series is None or row.series.startswith(series)
    ]
    return sorted(books, key=lambda b: (b.recv_ns, b.line))


def read_ericzhang_books(
    path: Path, *, problems: list[ReadProblem] | None = None
) -> list[RestBook]:
    """The books of the ericzhang REST sample (``payload.orderbook_fp``), in time order."""
    books = [
        _rest_book(path, line_no, row.fetched_at, row.ticker, row.payload.orderbook_fp)
        for line_no, row in iter_json_lines(path, EricLine, problems=problems)
    ]
    return sorted(books, key=lambda b: (b.recv_ns, b.line))


def _rest_book(
    path: Path, line_no: int, taken_at: str, ticker: str, book: RawOrderbook
) -> RestBook:
    """One source line's book, with errors naming the file and line."""
    where = f"{path}:{line_no}"
    return RestBook(
        utc_iso_to_ns(taken_at, where),
        ticker,
        parse_ladder(book.yes_dollars, where + " yes_dollars"),
        parse_ladder(book.no_dollars, where + " no_dollars"),
        line_no,
    )


def books_to_connection(books: Iterable[RestBook], conn: DerivedConnection) -> None:
    """Feed time-ordered books to ``conn``: a snapshot per new market, then deltas (module rule)."""
    last: dict[str, RestBook] = {}
    sides: tuple[Literal["yes", "no"], ...] = ("yes", "no")
    for book in books:
        conn.counts["books"] += 1
        before = last.get(book.market_ticker)
        last[book.market_ticker] = book
        if before is None:
            conn.snapshot(book.recv_ns, book.market_ticker, book.yes, book.no)
            continue
        for side, old, new in zip(sides, (before.yes, before.no), (book.yes, book.no), strict=True):
            for price, delta in ladder_changes(old, new):
                conn.delta(book.recv_ns, book.market_ticker, side, price, delta)
    conn.counts["markets"] = len(last)


def convert_rest_file(
    path: str | Path,
    *,
    series: str | None = None,
    problems: list[ReadProblem] | None = None,
) -> DerivedCapture:
    """Convert one REST book file into a derived capture (see the module docstring for the rule).

    Args:
        path: a ``weather_books_*.jsonl.gz`` file or the ericzhang ``*.jsonl`` sample.
        series: for ``weather_books`` files, keep only series starting with this prefix.
        problems: where torn or damaged source lines are reported (they are skipped).

    Returns:
        The capture: conn ``derived.rest.<file stem>``, origin ``derived:<folder>``.

    Raises:
        DataError: a file kcap does not know how to read, or a malformed book.
    """
    path = Path(path)
    stem = path.name.removesuffix(".gz").removesuffix(".jsonl")
    source: Source
    if path.name.startswith("weather_books_") and "meta" not in path.name:
        source = HEADLESS_BOOKS
        books = read_headless_books(path, series=series, problems=problems)
        commit, blob = HEADLESS_BLOBS.get(path.name, (source.commit, None))
        provenance = describe(source, commit=commit, blob=blob)
    elif path.name.endswith(".jsonl") and path.parent.name == ERICZHANG_BOOKS.folder:
        source = ERICZHANG_BOOKS
        books = read_ericzhang_books(path, problems=problems)
        provenance = describe(source)
    else:
        raise DataError(
            f"{path}: expected a weather_books_*.jsonl.gz file or the "
            f"{ERICZHANG_BOOKS.folder} sample, found an unknown file"
        )
    conn = DerivedConnection(f"derived.rest.{stem}", f"derived:{source.folder}", where=str(path))
    books_to_connection(books, conn)
    info = {
        "source": path.name,
        "provenance": provenance,
        "derivation": REST_RULE,
        "series_filter": series,
        "time_rule": "captured_at / fetched_at are UTC ISO times in the source; used as they are",
        "note": "derived from REST order-book snapshots hours apart; not raw WebSocket frames",
    }
    return conn.finish(info)
