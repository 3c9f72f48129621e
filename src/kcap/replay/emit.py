"""``--emit books.parquet``: top-N book snapshots, on every change or on a fixed interval.

One row per market per snapshot. Prices are exact integers in centi-cents and sizes in
centi-contracts (see :mod:`kcap.fixedpoint`); divide by 10,000 and 100 for dollars and
contracts. Columns:

=============== ============== ================================================================
column          type           meaning
=============== ============== ================================================================
recv_ns         int64          receive time of the state (Unix ns); the interval boundary in
                               interval mode
market_ticker   dict<string>   market
valid           bool           the book follows a snapshot with no sequence break since
crossed         bool           best YES bid + best NO bid >= $1
yes_bid_cc ...  int64          best YES bid/ask and NO bid/ask price (null when empty), and
yes_bid_cx ...  int64          their sizes (``yes_ask`` = $1 - best NO bid, with its size)
yes_bids_cc     list<int64>    top-N YES bid prices, best first; ``yes_bids_cx`` their sizes
no_bids_cc      list<int64>    top-N NO bid prices, best first; ``no_bids_cx`` their sizes
=============== ============== ================================================================
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kcap.book import OrderBook

EMIT_SCHEMA = pa.schema(
    [
        ("recv_ns", pa.int64()),
        ("market_ticker", pa.dictionary(pa.int32(), pa.string())),
        ("valid", pa.bool_()),
        ("crossed", pa.bool_()),
        ("yes_bid_cc", pa.int64()),
        ("yes_bid_cx", pa.int64()),
        ("yes_ask_cc", pa.int64()),
        ("yes_ask_cx", pa.int64()),
        ("no_bid_cc", pa.int64()),
        ("no_bid_cx", pa.int64()),
        ("no_ask_cc", pa.int64()),
        ("no_ask_cx", pa.int64()),
        ("yes_bids_cc", pa.list_(pa.int64())),
        ("yes_bids_cx", pa.list_(pa.int64())),
        ("no_bids_cc", pa.list_(pa.int64())),
        ("no_bids_cx", pa.list_(pa.int64())),
    ]
)
_FLUSH_ROWS = 65_536


class BookEmitter:
    """Writes top-N book rows to a Parquet file.

    Args:
        path: output ``.parquet`` file (replaced).
        depth: levels per ladder in the list columns.
        interval_ns: None to write a row on every change of a book; else write every book's
            row at each multiple of ``interval_ns`` of receive time.
        books: in interval mode, the function returning the books to write.
        metadata: JSON-able metadata stored in the footer under ``kcap.emit``.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        depth: int = 5,
        interval_ns: int | None = None,
        books: Callable[[], Iterable[OrderBook]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if interval_ns is not None and books is None:
            raise ValueError("interval mode needs the books callable")
        self.path = Path(path)
        self.depth = depth
        self.interval_ns = interval_ns
        self._books = books
        self._rows: dict[str, list[Any]] = {name: [] for name in EMIT_SCHEMA.names}
        meta = {
            b"kcap.emit": json.dumps(
                {"depth": depth, "interval_ns": interval_ns, **(metadata or {})}
            )
        }
        self._writer = pq.ParquetWriter(
            self.path, EMIT_SCHEMA.with_metadata(meta), compression="zstd"
        )
        self._next_ns: int | None = None
        self.rows_written = 0

    def on_change(self, book: OrderBook, recv_ns: int) -> None:
        """Row for ``book`` after a change (change mode only)."""
        if self.interval_ns is None:
            self._add(book, recv_ns)

    def on_clock(self, recv_ns: int) -> None:
        """Called before the record received at ``recv_ns`` is applied (interval mode)."""
        if self.interval_ns is None or self._books is None:
            return
        if self._next_ns is None:
            self._next_ns = (recv_ns // self.interval_ns + 1) * self.interval_ns
            return
        while recv_ns > self._next_ns:
            for book in self._books():
                self._add(book, self._next_ns)
            self._next_ns += self.interval_ns

    def _add(self, book: OrderBook, recv_ns: int) -> None:
        rows = self._rows
        top = book.top()
        rows["recv_ns"].append(recv_ns)
        rows["market_ticker"].append(book.market_ticker)
        rows["valid"].append(book.valid)
        rows["crossed"].append(book.is_crossed())
        for name, level in zip(("yes_bid", "yes_ask", "no_bid", "no_ask"), top, strict=True):
            rows[name + "_cc"].append(None if level is None else level.price_cc)
            rows[name + "_cx"].append(None if level is None else level.size_cx)
        for side in ("yes", "no"):
            levels = book.bids(side, self.depth)
            rows[side + "_bids_cc"].append([lv.price_cc for lv in levels])
            rows[side + "_bids_cx"].append([lv.size_cx for lv in levels])
        if len(rows["recv_ns"]) >= _FLUSH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._rows["recv_ns"]:
            return
        table = pa.table(
            {
                n: pa.array(v, EMIT_SCHEMA.field(n).type if n != "market_ticker" else pa.string())
                for n, v in self._rows.items()
            }
        ).cast(EMIT_SCHEMA.remove_metadata())
        self._writer.write_table(table)
        self.rows_written += table.num_rows
        for values in self._rows.values():
            values.clear()

    def close(self) -> None:
        """Write what is buffered and close the file."""
        self._flush()
        self._writer.close()
