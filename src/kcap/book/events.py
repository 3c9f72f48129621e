"""What the book builder reports: sequence gaps, stale and valid books, snapshot audits,
negative levels and crossed books. Immutable msgspec structs, tagged by ``event``."""

from __future__ import annotations

import msgspec


class BookEvent(msgspec.Struct, frozen=True, tag_field="event"):
    """Base of what the builder reports. ``recv_ns`` is the receive time of the record that
    caused it."""

    recv_ns: int


class Gap(BookEvent, frozen=True, tag="gap"):
    """A sequence break on ``(conn, sid)``: ``received`` came where ``expected`` was due.

    ``reason`` is ``gap`` (seq skipped ahead), ``duplicate`` (seq repeated) or ``regression``
    (seq went back). ``markets`` are the books made stale by it.
    """

    conn: str
    sid: int
    expected: int
    received: int
    reason: str
    markets: tuple[str, ...]


class Stale(BookEvent, frozen=True, tag="stale"):
    """A market's book stopped being trustworthy: ``reason`` in gap, disconnect,
    unsubscribed, removed, delta_before_snapshot."""

    market_ticker: str
    reason: str


class Valid(BookEvent, frozen=True, tag="valid"):
    """A market's book became trustworthy again (a snapshot arrived)."""

    market_ticker: str


class Audit(BookEvent, frozen=True, tag="audit"):
    """A snapshot arrived for a live book; ``differences`` lists ``(side, price_cc, built_cx,
    snapshot_cx)`` for every level where the built book and the snapshot disagree (0 = absent).
    Empty ``differences`` means the book built from deltas was exactly right."""

    market_ticker: str
    conn: str
    sid: int
    differences: tuple[tuple[str, int, int, int], ...]

    @property
    def matched(self) -> bool:
        """True when the built book equalled the snapshot level for level."""
        return not self.differences


class NegativeLevel(BookEvent, frozen=True, tag="negative_level"):
    """A delta took a level below zero (or removed a level that was not there): the book and
    Kalshi disagree. The level is removed as Kalshi's rule says, and this is reported."""

    market_ticker: str
    side: str
    price_cc: int
    size_cx: int


class Crossed(BookEvent, frozen=True, tag="crossed"):
    """After a snapshot, the best YES bid plus the best NO bid reached $1 or more."""

    market_ticker: str
    yes_bid_cc: int
    no_bid_cc: int
