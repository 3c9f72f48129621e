"""The size rule: how many contracts sit at a best bid, derived from real Kalshi REST books.

The best-bid change log (:mod:`kcap.convert.bbo`) has prices but no sizes. kcap fills each
level it adds with the **median size at the best bid of real KXHIGH* books, by price bucket**:

* data: every line of ``kalshi-headless-weather-books/weather_books_2026-07-16..24.jsonl.gz``
  whose ``series`` starts with ``KXHIGH`` (the 20 daily-high series: KXHIGHNY, KXHIGHCHI, ...,
  KXHIGHT*), from ``raw_orderbook``: Kalshi's own fixed-point strings, ascending, best last;
* one observation per line and side with bids: the best (last) level's price and size, both
  ladders pooled (a NO bid at p counts in the bucket of p, like a YES bid at p);
* buckets of the bid price in whole cents: 1, 2, 3-4, 5-9, 10-19, ..., 80-89, 90-94, 95-97,
  98, 99 (deep tails get their own buckets: sizes there are 10-1000x the mid-book ones);
* value: the **lower median** of the bucket's sizes (the ``(n-1)//2``-th smallest), an
  observed size, so an exact centi-contract integer (fractional sizes like ``"17.02"`` are
  live on weather books).

:data:`BEST_BID_SIZES` is that table, committed; :func:`derive_size_table` re-derives it from
the files and a test checks that the two are equal. Prices below a cent or above 99 cents
fall in the first or last bucket.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Final, NamedTuple

from kcap.errors import DataError
from kcap.fixedpoint import ONE_CENT_CC, ONE_DOLLAR_CC
from kcap.replay.readers import ReadProblem

from .provenance import HEADLESS_BOOKS
from .rest_books import HeadlessLine, parse_ladder
from .sources import iter_json_lines

SIZE_SERIES_PREFIX: Final = "KXHIGH"
"""Series whose books the rule is derived from (``series`` starts with this)."""

BUCKET_CENTS: Final[tuple[tuple[int, int], ...]] = (
    (1, 1), (2, 2), (3, 4), (5, 9), (10, 19), (20, 29), (30, 39), (40, 49),
    (50, 59), (60, 69), (70, 79), (80, 89), (90, 94), (95, 97), (98, 98), (99, 99),
)  # fmt: skip
"""Price buckets, inclusive ranges of whole cents."""


class SizeBucket(NamedTuple):
    """One row of the size table.

    Attributes:
        low_cents: lowest bid price of the bucket, cents (inclusive).
        high_cents: highest bid price of the bucket, cents (inclusive).
        size_cx: the lower-median best-bid size, centi-contracts.
        observations: how many best bids the median was taken over.
    """

    low_cents: int
    high_cents: int
    size_cx: int
    observations: int


BEST_BID_SIZES: Final[tuple[SizeBucket, ...]] = (
    SizeBucket(1, 1, 28099, 380),
    SizeBucket(2, 2, 10800, 307),
    SizeBucket(3, 4, 6000, 417),
    SizeBucket(5, 9, 800, 468),
    SizeBucket(10, 19, 1000, 557),
    SizeBucket(20, 29, 834, 558),
    SizeBucket(30, 39, 1100, 475),
    SizeBucket(40, 49, 1000, 415),
    SizeBucket(50, 59, 1000, 389),
    SizeBucket(60, 69, 1200, 489),
    SizeBucket(70, 79, 1100, 569),
    SizeBucket(80, 89, 1300, 567),
    SizeBucket(90, 94, 1300, 517),
    SizeBucket(95, 97, 2100, 712),
    SizeBucket(98, 98, 8300, 334),
    SizeBucket(99, 99, 1834879, 3072),
)
"""The committed size table (derived by :func:`derive_size_table` from the nine
``weather_books_2026-07-*.jsonl.gz`` files, KXHIGH* series)."""

SIZE_RULE: Final = (
    "size of every level added = lower median of the best-bid size over all KXHIGH* REST books "
    f"in {HEADLESS_BOOKS.folder}/weather_books_2026-07-16..24 (both ladders pooled, one "
    "observation per book line and side), by bid-price bucket; table in info.size_table as "
    "[low_cents, high_cents, size_cx, observations]"
)


def size_for_price(price: int, table: tuple[SizeBucket, ...] = BEST_BID_SIZES) -> int:
    """The size rule: centi-contracts for a level added at ``price`` centi-cents.

    Args:
        price: bid price in centi-cents, 1..9999.
        table: the size table (default: the committed one).

    Raises:
        DataError: a price outside (0, $1).
    """
    if not 0 < price < ONE_DOLLAR_CC:
        raise DataError(f"expected a bid price between 1 and 9999 cc, found {price}")
    cents = price // ONE_CENT_CC
    for bucket in table:
        if cents <= bucket.high_cents:
            return bucket.size_cx
    return table[-1].size_cx


def _bucket_index(cents: int) -> int:
    for i, (_, high) in enumerate(BUCKET_CENTS):
        if cents <= high:
            return i
    return len(BUCKET_CENTS) - 1


def best_bid_observations(
    paths: Iterable[Path], *, problems: list[ReadProblem] | None = None
) -> list[list[int]]:
    """Best-bid sizes (centi-contracts) of the KXHIGH* books in ``paths``, one list per bucket."""
    samples: list[list[int]] = [[] for _ in BUCKET_CENTS]
    for path in paths:
        for line_no, row in iter_json_lines(path, HeadlessLine, problems=problems):
            if not row.series.startswith(SIZE_SERIES_PREFIX):
                continue
            where = f"{path}:{line_no}"
            for pairs in (row.raw_orderbook.yes_dollars, row.raw_orderbook.no_dollars):
                ladder = parse_ladder(pairs, where)
                if ladder:
                    best = max(ladder)
                    samples[_bucket_index(best // ONE_CENT_CC)].append(ladder[best])
    return samples


def derive_size_table(
    paths: Iterable[Path], *, problems: list[ReadProblem] | None = None
) -> tuple[SizeBucket, ...]:
    """Re-derive :data:`BEST_BID_SIZES` from REST book files (see the module docstring).

    Args:
        paths: ``weather_books_*.jsonl.gz`` files (not the ``_meta_`` ones).
        problems: where torn source lines are reported.

    Raises:
        DataError: a bucket without observations, or a malformed book.
    """
    table = []
    for (low, high), sizes in zip(
        BUCKET_CENTS, best_bid_observations(paths, problems=problems), strict=True
    ):
        if not sizes:
            raise DataError(f"no KXHIGH* best bid between {low} and {high} cents in the REST books")
        sizes.sort()
        table.append(SizeBucket(low, high, sizes[(len(sizes) - 1) // 2], len(sizes)))
    return tuple(table)


def rest_book_files(real_data: Path) -> list[Path]:
    """The ``weather_books_*.jsonl.gz`` files of ``real_data`` the table is derived from, sorted.

    Raises:
        DataError: none found.
    """
    folder = real_data / HEADLESS_BOOKS.folder
    paths = sorted(p for p in folder.glob("weather_books_2*.jsonl.gz"))
    if not paths:
        raise DataError(f"{folder}: expected weather_books_YYYY-MM-DD.jsonl.gz files, found none")
    return paths
