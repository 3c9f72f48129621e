"""One market's book: two bid ladders of exact integers, with reciprocal asks.

Kalshi books hold **bids only**: a YES ask at p is a NO bid at $1 - p, so
``best_yes_ask = 1 - best_no_bid`` with the NO level's size (docs.kalshi.com "Orderbook
responses"; kalshi-protocol.md section 5). Prices are centi-cents, sizes centi-contracts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import NamedTuple

from kcap.errors import FixedPointError
from kcap.fixedpoint import ONE_DOLLAR_CC, cents_to_cc, contracts_to_cx, price_cc, size_cx
from kcap.schemas import wire


class Level(NamedTuple):
    """One price level of a ladder: ``price_cc`` (centi-cents) and ``size_cx`` (centi-contracts)."""

    price_cc: int
    size_cx: int


class TopOfBook(NamedTuple):
    """Best bids and asks of one market, derived through YES/NO reciprocity.

    Any field is None when the side it comes from is empty (``yes_ask`` comes from the best NO
    bid, ``no_ask`` from the best YES bid).
    """

    yes_bid: Level | None
    yes_ask: Level | None
    no_bid: Level | None
    no_ask: Level | None


# ---------------------------------------------------------------------------------------------
# one market


class OrderBook:
    """The two bid ladders of one market.

    Attributes:
        market_ticker: Kalshi market ticker.
        yes: YES bid ladder, ``price_cc -> size_cx`` (unordered; use the accessors).
        no: NO bid ladder, ``price_cc -> size_cx``.
        valid: True when the book follows a snapshot and every delta since, with no break.
        stream: the ``(conn, sid)`` subscription the book is built from.
        updated_ns: receive time of the last change (snapshot or applied delta).
    """

    __slots__ = ("live", "market_ticker", "no", "stream", "updated_ns", "yes")

    def __init__(self, market_ticker: str) -> None:
        self.market_ticker = market_ticker
        self.yes: dict[int, int] = {}
        self.no: dict[int, int] = {}
        self.stream: _Stream | None = None
        self.live: _Stream | None = None  # == stream while valid, else None (one check when hot)
        self.updated_ns = 0

    @property
    def valid(self) -> bool:
        """True when the book follows a snapshot and every delta since, with no break."""
        return self.live is not None

    def best_yes_bid(self) -> Level | None:
        """Highest YES bid, or None when the YES ladder is empty."""
        if not self.yes:
            return None
        price = max(self.yes)
        return Level(price, self.yes[price])

    def best_no_bid(self) -> Level | None:
        """Highest NO bid, or None when the NO ladder is empty."""
        if not self.no:
            return None
        price = max(self.no)
        return Level(price, self.no[price])

    def best_yes_ask(self) -> Level | None:
        """Lowest YES ask = $1 - best NO bid, with that NO bid's size."""
        bid = self.best_no_bid()
        return None if bid is None else Level(ONE_DOLLAR_CC - bid.price_cc, bid.size_cx)

    def best_no_ask(self) -> Level | None:
        """Lowest NO ask = $1 - best YES bid, with that YES bid's size."""
        bid = self.best_yes_bid()
        return None if bid is None else Level(ONE_DOLLAR_CC - bid.price_cc, bid.size_cx)

    def top(self) -> TopOfBook:
        """Best YES bid/ask and NO bid/ask in one call."""
        yes_bid = self.best_yes_bid()
        no_bid = self.best_no_bid()
        return TopOfBook(
            yes_bid,
            None if no_bid is None else Level(ONE_DOLLAR_CC - no_bid.price_cc, no_bid.size_cx),
            no_bid,
            None if yes_bid is None else Level(ONE_DOLLAR_CC - yes_bid.price_cc, yes_bid.size_cx),
        )

    def bids(self, side: str, depth: int | None = None) -> list[Level]:
        """Bid levels of ``side`` (``"yes"`` or ``"no"``), best (highest) first, at most ``depth``."""
        ladder = self._ladder(side)
        prices = sorted(ladder, reverse=True)[:depth]
        return [Level(p, ladder[p]) for p in prices]

    def asks(self, side: str, depth: int | None = None) -> list[Level]:
        """Ask levels of ``side``, best (lowest) first: the opposite ladder's bids at $1 - p."""
        other = "no" if side == "yes" else "yes"
        return [Level(ONE_DOLLAR_CC - p, s) for p, s in self.bids(other, depth)]

    def is_crossed(self) -> bool:
        """True when best YES bid + best NO bid >= $1 (a YES bid at or above the YES ask)."""
        if not self.yes or not self.no:
            return False
        return max(self.yes) + max(self.no) >= ONE_DOLLAR_CC

    def levels(self) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """Both ladders, ascending by price like Kalshi's snapshots: ``(yes, no)``."""
        return (
            tuple(Level(p, self.yes[p]) for p in sorted(self.yes)),
            tuple(Level(p, self.no[p]) for p in sorted(self.no)),
        )

    def _ladder(self, side: str) -> dict[int, int]:
        if side == "yes":
            return self.yes
        if side == "no":
            return self.no
        raise ValueError(f"expected side 'yes' or 'no', got {side!r}")

    def __repr__(self) -> str:
        top = self.top()
        state = "valid" if self.valid else "stale"
        return f"<OrderBook {self.market_ticker} {state} {top.yes_bid}/{top.yes_ask}>"


class _Stream:
    """Sequencing state of one subscription ``(conn, sid)``."""

    __slots__ = ("conn", "last_seq", "markets", "sid")

    def __init__(self, conn: str, sid: int) -> None:
        self.conn = conn
        self.sid = sid
        self.last_seq: int | None = None
        self.markets: set[str] = set()


# ---------------------------------------------------------------------------------------------
# parsing ladders (snapshots are rare: clarity over speed here)


def snapshot_ladders(msg: wire.OrderbookSnapshotMsg) -> tuple[dict[int, int], dict[int, int]]:
    """Both ladders of a snapshot payload as ``{price_cc: size_cx}``, whichever encoding it uses.

    Current ``*_dollars_fp`` wins over legacy ``*_dollars`` (dollar price, integer count), which
    wins over legacy ``yes``/``no`` (integer cents, integer count). Levels of size <= 0 are
    dropped.

    Raises:
        FixedPointError: a price or size that is not a valid fixed-point value.
    """
    return (
        _ladder_from(msg.yes_dollars_fp, msg.yes_dollars, msg.yes),
        _ladder_from(msg.no_dollars_fp, msg.no_dollars, msg.no),
    )


def _ladder_from(
    fp: list[tuple[str, str]] | None,
    dollars: list[tuple[str, int | str]] | None,
    cents: list[tuple[int, int]] | None,
) -> dict[int, int]:
    ladder: dict[int, int] = {}
    if fp is not None:
        pairs = [(price_cc(p), size_cx(s)) for p, s in fp]
    elif dollars is not None:
        pairs = [
            (price_cc(p), size_cx(s) if isinstance(s, str) else contracts_to_cx(s))
            for p, s in dollars
        ]
    elif cents is not None:
        pairs = [(cents_to_cc(p), contracts_to_cx(s)) for p, s in cents]
    else:
        pairs = []
    for price, size in pairs:
        size += ladder.get(price, 0)
        if size > 0:
            ladder[price] = size
        else:
            ladder.pop(price, None)
    return ladder


def delta_level(msg: wire.OrderbookDeltaMsg) -> tuple[int, int]:
    """``(price_cc, signed size_cx)`` of a delta payload, current or legacy encoding.

    Raises:
        FixedPointError: missing or invalid price or size.
    """
    if msg.price_dollars is not None:
        price = price_cc(msg.price_dollars)
    elif msg.price is not None:
        price = cents_to_cc(msg.price)
    else:
        raise _missing("price_dollars or price", msg)
    if msg.delta_fp is not None:
        size = size_cx(msg.delta_fp)
    elif msg.delta is not None:
        size = contracts_to_cx(msg.delta)
    else:
        raise _missing("delta_fp or delta", msg)
    return price, size


def _missing(what: str, msg: object) -> FixedPointError:
    return FixedPointError(msg, f"an orderbook_delta with {what}")


def books_digest(books: Mapping[str, OrderBook]) -> str:
    """A deterministic SHA-256 (hex) of book states: every ticker, its validity and every level.

    Two replays of the same records give the same digest; any differing level changes it.
    """
    digest = hashlib.sha256()
    for ticker in sorted(books):
        book = books[ticker]
        parts = [ticker, "V" if book.valid else "S"]
        for ladder in (book.yes, book.no):
            parts.append(",".join(f"{p}:{ladder[p]}" for p in sorted(ladder)))
        digest.update("|".join(parts).encode() + b"\n")
    return digest.hexdigest()
