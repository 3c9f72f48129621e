"""The order book: the one book builder that capture, replay, serve and the envs all use.

Pure and exact: no I/O, no clocks (times are arguments), integers only (prices in centi-cents,
sizes in centi-contracts, see :mod:`kcap.fixedpoint`).

* :mod:`kcap.book.orderbook` - :class:`OrderBook` (one market's two bid ladders, reciprocal
  asks, depth, crossed-book check), ladder parsing, :func:`books_digest`.
* :mod:`kcap.book.builder` - :class:`BookBuilder` (per-sid sequencing, stale books, the
  snapshot audit, disconnect resets). Its plain deltas go through a compiled loop
  (``_fastpath.c``) when it is built; ``kcap.book.builder.FASTPATH`` says which loop runs.
* :mod:`kcap.book.events` - what the builder reports.
"""

from __future__ import annotations

from kcap.book.builder import BookBuilder
from kcap.book.events import Audit, BookEvent, Crossed, Gap, NegativeLevel, Stale, Valid
from kcap.book.orderbook import (
    Level,
    OrderBook,
    TopOfBook,
    books_digest,
    delta_level,
    snapshot_ladders,
)

__all__ = [
    "Audit",
    "BookBuilder",
    "BookEvent",
    "Crossed",
    "Gap",
    "Level",
    "NegativeLevel",
    "OrderBook",
    "Stale",
    "TopOfBook",
    "Valid",
    "books_digest",
    "delta_level",
    "snapshot_ladders",
]
