"""The feed of ``kcap serve``: capture records in, one canonical public market stream out.

Pure: records and their receive times are arguments; no sockets, no clocks.

One :class:`kcap.book.BookBuilder`, the **master**, does all book work (there is no other book
code): it applies the capture exactly as ``kcap replay`` does (the recorder's own sids and
seqs, its gaps, resnapshots and disconnects). What the server has told its clients, the
**published** books, is the master's book while that is valid, else a frozen copy of the last
valid book (see the rules); :meth:`Feed.levels` reads it.

Rules (the server's own, where Kalshi has no equivalent; see also :mod:`.protocol`):

* A capture delta that the master applies is emitted as it was captured (same price and size
  strings, ``ts_ms``), minus ``client_order_id``/``subaccount``. Deltas the master skips (stale
  book, before a snapshot, another subscription's market) are not emitted.
* A capture snapshot that makes a master book valid is not forwarded (Kalshi sends snapshots
  only on ``subscribe`` and ``get_snapshot``); instead the difference between the published
  book and the new master book goes out as ordinary deltas, yes ladder then no ladder, by
  ascending price. Those synthesised deltas carry no ``ts_ms``.
* While a master book is stale (a gap or a disconnect in the capture), nothing is emitted for
  that market: its published book stays as it was last seen (a market does not vanish because
  the recorder lost its connection) until the capture's next snapshot brings the difference.
  Hence: whenever the master book of a market is valid, its published book has the same levels,
  and a client that applies every event from the start holds the published books.
* ``trade``, ``ticker`` and ``market_lifecycle_v2``/``event_lifecycle``/``event_fee_update``
  frames are forwarded with their ``msg`` bytes verbatim, converted only when the wire format
  asks for it (:mod:`.encode`). Control frames of the recorder (``subscribed``, ``ok``,
  ``error`` ...) and frames kcap cannot type are not forwarded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

import msgspec

from kcap.book import BookBuilder, Gap, Level, Stale, delta_level
from kcap.fixedpoint import format_price, format_size
from kcap.replay.serve import encode
from kcap.replay.serve.encode import Wire
from kcap.replay.serve.markets import MarketCatalog
from kcap.schemas import wire
from kcap.schemas.record import DISCONNECT, FRAME

LIFECYCLE: Final = "market_lifecycle_v2"
_FORWARD: Final[dict[type[Any], tuple[str, str]]] = {
    wire.Trade: ("trade", "trade"),
    wire.Ticker: ("ticker", "ticker"),
    wire.MarketLifecycle: (LIFECYCLE, "market_lifecycle_v2"),
    wire.EventLifecycle: (LIFECYCLE, "event_lifecycle"),
    wire.EventFeeUpdate: (LIFECYCLE, "event_fee_update"),
}


class FeedEvent(NamedTuple):
    """One message of the canonical stream, ready to be enveloped per subscription.

    Attributes:
        channel: the subscription channel it goes to (``orderbook_delta``, ``trade``, ...).
        type: Kalshi ``type`` of the frame.
        market: market ticker it concerns (routing key); None for event-level lifecycle frames.
        body: the ``msg`` JSON in the server's wire format.
        recv_ns: capture receive time of the record that caused it (the replay time), Unix ns.
        sending_ts_ms: the captured envelope ``sending_ts_ms``, if any.
    """

    channel: str
    type: str
    market: str | None
    body: bytes
    recv_ns: int
    sending_ts_ms: int | None = None


class _RawMsg(msgspec.Struct, gc=False):
    msg: msgspec.Raw = msgspec.Raw()


_raw_msg = msgspec.json.Decoder(_RawMsg).decode


Ladders = tuple[dict[int, int], dict[int, int]]
"""``(yes, no)`` bid ladders, ``price_cc -> size_cx``."""


class Feed:
    """Turns capture records into :class:`FeedEvent` values (see the module docstring).

    Args:
        catalog: every market of the capture (from the pre-scan); followed live.
        wire_format: ``current`` or ``legacy`` (see :mod:`.encode`).

    Attributes:
        master: the capture's books, as ``kcap replay`` builds them.
        frozen: the published ladders of markets whose master book is not valid (copies).
        now_ns: receive time of the last record stepped (the replay time), or None.
        counts: ``records``, ``emitted``, ``synthesised``, ``forwarded``, ``skipped``, ``gaps``.
    """

    def __init__(self, catalog: MarketCatalog, wire_format: Wire = "current") -> None:
        self.catalog = catalog
        self.wire: Wire = wire_format
        self.master = BookBuilder()
        self.frozen: dict[str, Ladders] = {}
        self.now_ns: int | None = None
        self.counts: Counter[str] = Counter()
        self.last_ticker: dict[str, FeedEvent] = {}

    # -- the stream ---------------------------------------------------------------------------

    def step(
        self, kind: str, conn: str, message: wire.Message | None, frame: Any, recv_ns: int
    ) -> Sequence[FeedEvent]:
        """Apply one capture record and return what it makes the server send (often nothing).

        Args:
            kind: record kind (``frame``, ``disconnect``, ...).
            conn: the record's connection id.
            message: the decoded frame (None for records without one).
            frame: the frame's bytes as captured (for verbatim forwarding).
            recv_ns: the record's receive time, Unix ns.
        """
        self.now_ns = recv_ns
        self.counts["records"] += 1
        events: Sequence[FeedEvent] = ()
        cls = type(message)
        if cls is wire.OrderbookDelta:
            if self.master.apply(conn, message, recv_ns) is None:  # type: ignore[arg-type]
                self.counts["skipped"] += 1
            else:
                events = (self._forward_delta(message, recv_ns),)  # type: ignore[arg-type]
        elif kind != FRAME or message is None:
            if kind == DISCONNECT:
                before = self._valid_ladders()  # the disconnect empties them
                self.master.apply_records((kind,), (conn,), (None,), (recv_ns,))
                self._freeze(before)
        elif cls is wire.OrderbookSnapshot:
            events = self._snapshot(conn, message, recv_ns)  # type: ignore[arg-type]
        elif cls in _FORWARD:
            events = self._forward(message, frame, recv_ns)
        else:
            self.master.apply(conn, message, recv_ns)
        if self.master.events:
            self._freeze(None)
        return events

    def restart(self) -> None:
        """Start the capture over (``--loop``): the master forgets everything, the published
        books stay frozen until the capture's snapshots bring their differences."""
        self.frozen.update(self._valid_ladders())
        self.master = BookBuilder()
        self.catalog.reset_live()
        self.last_ticker.clear()
        self.counts["restarts"] += 1

    # -- what clients are told ----------------------------------------------------------------

    def ladders(self, market_ticker: str) -> Ladders:
        """The published ladders of a market (not copies: do not change them)."""
        book = self.master.books.get(market_ticker)
        if book is not None and book.valid:
            return book.yes, book.no
        return self.frozen.get(market_ticker) or ({}, {})

    def levels(self, market_ticker: str) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """The published ``(yes, no)`` ladders of a market, ascending (empty if unknown)."""
        yes, no = self.ladders(market_ticker)
        return (
            tuple(Level(p, yes[p]) for p in sorted(yes)),
            tuple(Level(p, no[p]) for p in sorted(no)),
        )

    def snapshot_body(self, market_ticker: str) -> bytes:
        """The ``orderbook_snapshot`` ``msg`` of a market's published book, in the wire format."""
        yes, no = self.levels(market_ticker)
        info = self.catalog.markets.get(market_ticker)
        market_id = info.market_id if info is not None else None
        return encode.snapshot_body(market_ticker, yes, no, self.wire, market_id=market_id)

    # -- internals ----------------------------------------------------------------------------

    def _valid_ladders(self) -> dict[str, Ladders]:
        return {t: (dict(b.yes), dict(b.no)) for t, b in self.master.books.items() if b.valid}

    def _freeze(self, before: dict[str, Ladders] | None) -> None:
        """Keep a copy of every book that stopped being valid (from ``before`` if given, as a
        disconnect empties books; else as they are, stale books keep their levels)."""
        for event in self.master.take_events():
            if isinstance(event, Gap):
                self.counts["gaps"] += 1
            elif isinstance(event, Stale) and event.reason != "delta_before_snapshot":
                # (that one is a book that was never valid: clients keep what they had)
                book = self.master.books.get(event.market_ticker)
                if book is None or book.valid:
                    continue
                if before is None:
                    self.frozen[book.market_ticker] = (dict(book.yes), dict(book.no))
                elif book.market_ticker in before:
                    self.frozen[book.market_ticker] = before[book.market_ticker]

    def _forward_delta(self, m: wire.OrderbookDelta, recv_ns: int) -> FeedEvent:
        msg = m.msg
        if msg.price_dollars is None or msg.delta_fp is None:
            price, size = delta_level(msg)
            msg = wire.OrderbookDeltaMsg(
                market_ticker=msg.market_ticker,
                side=msg.side,
                price_dollars=format_price(price),
                delta_fp=format_size(size),
                market_id=msg.market_id,
                ts_ms=msg.ts_ms,
                ts=msg.ts,
            )
        self.counts["forwarded"] += 1
        return self._event(msg, recv_ns, m.sending_ts_ms)

    def _snapshot(self, conn: str, m: wire.OrderbookSnapshot, recv_ns: int) -> Sequence[FeedEvent]:
        ticker = m.msg.market_ticker
        old_yes, old_no = (dict(x) for x in self.ladders(ticker))
        book = self.master.apply(conn, m, recv_ns)
        if book is None or not book.valid:
            return ()
        self.frozen.pop(ticker, None)
        sides: tuple[tuple[wire.Side, dict[int, int], dict[int, int]], ...] = (
            ("yes", book.yes, old_yes),
            ("no", book.no, old_no),
        )
        market_id = m.msg.market_id
        events = [
            self._event(
                wire.OrderbookDeltaMsg(
                    market_ticker=ticker,
                    side=side,
                    price_dollars=format_price(price),
                    delta_fp=format_size(new.get(price, 0) - old.get(price, 0)),
                    market_id=market_id,
                ),
                recv_ns,
                None,
            )
            for side, new, old in sides
            if new != old
            for price in sorted(new.keys() | old.keys())
            if new.get(price, 0) != old.get(price, 0)
        ]
        self.counts["synthesised"] += len(events)
        return events

    def _forward(self, m: wire.Message, frame: Any, recv_ns: int) -> Sequence[FeedEvent]:
        channel, message_type = _FORWARD[type(m)]
        self.catalog.observe(m)
        msg = m.msg  # type: ignore[union-attr]
        convert = isinstance(msg, wire.TradeMsg | wire.TickerMsg) and encode.needs_conversion(
            msg, self.wire
        )
        body = encode.passthrough_body(bytes(_raw_msg(frame).msg), message_type, convert, self.wire)
        market = getattr(msg, "market_ticker", None)
        event = FeedEvent(channel, message_type, market, body, recv_ns, m.sending_ts_ms)  # type: ignore[union-attr]
        if channel == "ticker" and market is not None:
            self.last_ticker[market] = event
        self.counts["forwarded"] += 1
        return (event,)

    def _event(
        self, msg: wire.OrderbookDeltaMsg, recv_ns: int, sending_ts_ms: int | None
    ) -> FeedEvent:
        self.counts["emitted"] += 1
        return FeedEvent(
            "orderbook_delta",
            "orderbook_delta",
            msg.market_ticker,
            encode.delta_body(msg, self.wire),
            recv_ns,
            sending_ts_ms,
        )
