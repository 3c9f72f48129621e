"""The feed of ``kcap serve``: capture records in, one canonical public market stream out.

Pure: records and their receive times are arguments; no sockets, no clocks.

Two :class:`kcap.book.BookBuilder` instances do all book work (there is no other book code):

* the **master** builder applies the capture exactly as ``kcap replay`` does (the recorder's
  own sids and seqs, its gaps, resnapshots and disconnects);
* the **published** builder holds what the server has told its clients: it applies only the
  canonical deltas the feed emits (one stream, ``seq`` without holes), like a perfect client.

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
  Hence: whenever the master book of a market is valid, its published book has the same levels.
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

from kcap.book import BookBuilder, Gap, Level, delta_level
from kcap.fixedpoint import format_price, format_size
from kcap.replay.serve import encode
from kcap.replay.serve.encode import Wire
from kcap.replay.serve.markets import MarketCatalog
from kcap.schemas import wire
from kcap.schemas.record import DISCONNECT, FRAME

PUBLISHED_CONN: Final = "kcap.serve.published"
"""Connection id of the published stream inside the published builder."""

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


class Feed:
    """Turns capture records into :class:`FeedEvent` values (see the module docstring).

    Args:
        catalog: every market of the capture (from the pre-scan); followed live.
        wire_format: ``current`` or ``legacy`` (see :mod:`.encode`).

    Attributes:
        master: the capture's books, as ``kcap replay`` builds them.
        published: the books as the server's clients know them.
        now_ns: receive time of the last record stepped (the replay time), or None.
        counts: ``records``, ``emitted``, ``synthesised``, ``forwarded``, ``skipped``, ``gaps``.
    """

    def __init__(self, catalog: MarketCatalog, wire_format: Wire = "current") -> None:
        self.catalog = catalog
        self.wire: Wire = wire_format
        self.master = BookBuilder()
        self.published = BookBuilder()
        self.now_ns: int | None = None
        self.counts: Counter[str] = Counter()
        self.last_ticker: dict[str, FeedEvent] = {}
        self._seq = 0
        for ticker in catalog.tickers():
            self._publish_empty(ticker, 0)

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
        if kind != FRAME or message is None:
            if kind == DISCONNECT:
                self.master.apply_records((kind,), (conn,), (None,), (recv_ns,))
            return ()
        cls = type(message)
        if cls is wire.OrderbookDelta:
            events: Sequence[FeedEvent] = self._delta(conn, message, recv_ns)  # type: ignore[arg-type]
        elif cls is wire.OrderbookSnapshot:
            events = self._snapshot(conn, message, recv_ns)  # type: ignore[arg-type]
        elif cls in _FORWARD:
            events = self._forward(message, frame, recv_ns)
        else:
            self.master.apply(conn, message, recv_ns)
            events = ()
        if self.master.events:
            self.counts["gaps"] += sum(isinstance(e, Gap) for e in self.master.take_events())
        if self.published.events:
            self.published.events.clear()
        return events

    def restart(self) -> None:
        """Start the capture over (``--loop``): the master forgets everything, the published
        books stay until the capture's snapshots bring their differences."""
        self.master = BookBuilder()
        self.catalog.reset_live()
        self.last_ticker.clear()
        self.counts["restarts"] += 1

    # -- what clients are told ----------------------------------------------------------------

    def levels(self, market_ticker: str) -> tuple[tuple[Level, ...], tuple[Level, ...]]:
        """The published ``(yes, no)`` ladders of a market, ascending (empty if unknown)."""
        book = self.published.books.get(market_ticker)
        return book.levels() if book is not None else ((), ())

    def snapshot_body(self, market_ticker: str) -> bytes:
        """The ``orderbook_snapshot`` ``msg`` of a market's published book, in the wire format."""
        yes, no = self.levels(market_ticker)
        info = self.catalog.markets.get(market_ticker)
        market_id = info.market_id if info is not None else None
        return encode.snapshot_body(market_ticker, yes, no, self.wire, market_id=market_id)

    # -- internals ----------------------------------------------------------------------------

    def _delta(self, conn: str, m: wire.OrderbookDelta, recv_ns: int) -> Sequence[FeedEvent]:
        if self.master.apply(conn, m, recv_ns) is None:
            self.counts["skipped"] += 1
            return ()
        msg = m.msg
        if msg.price_dollars is None or msg.delta_fp is None:
            price, size = delta_level(msg)
            msg = wire.OrderbookDeltaMsg(
                msg.market_ticker,
                msg.side,
                format_price(price),
                format_size(size),
                market_id=msg.market_id,
                ts_ms=msg.ts_ms,
                ts=msg.ts,
            )
        self.counts["forwarded"] += 1
        return (self._publish(msg, recv_ns, m.sending_ts_ms),)

    def _snapshot(self, conn: str, m: wire.OrderbookSnapshot, recv_ns: int) -> Sequence[FeedEvent]:
        book = self.master.apply(conn, m, recv_ns)
        if book is None or not book.valid:
            return ()
        ticker = book.market_ticker
        published = self.published.books.get(ticker)
        if published is None:
            self._publish_empty(ticker, recv_ns)
            published = self.published.books[ticker]
        sides: tuple[tuple[wire.Side, dict[int, int], dict[int, int]], ...] = (
            ("yes", book.yes, published.yes),
            ("no", book.no, published.no),
        )
        changes = [
            (side, price, new.get(price, 0) - old.get(price, 0))
            for side, new, old in sides
            if new != old
            for price in sorted(new.keys() | old.keys())
            if new.get(price, 0) != old.get(price, 0)
        ]
        market_id = m.msg.market_id
        events = [
            self._publish(
                wire.OrderbookDeltaMsg(
                    ticker, side, format_price(price), format_size(size), market_id=market_id
                ),
                recv_ns,
                None,
            )
            for side, price, size in changes
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

    def _publish(
        self, msg: wire.OrderbookDeltaMsg, recv_ns: int, sending_ts_ms: int | None
    ) -> FeedEvent:
        self._seq += 1
        delta = wire.OrderbookDelta(msg=msg, sid=1, seq=self._seq)
        self.published.apply(PUBLISHED_CONN, delta, recv_ns)
        self.counts["emitted"] += 1
        return FeedEvent(
            "orderbook_delta",
            "orderbook_delta",
            msg.market_ticker,
            encode.delta_body(msg, self.wire),
            recv_ns,
            sending_ts_ms,
        )

    def _publish_empty(self, ticker: str, recv_ns: int) -> None:
        self._seq += 1
        empty = wire.OrderbookSnapshot(
            msg=wire.OrderbookSnapshotMsg(market_ticker=ticker), sid=1, seq=self._seq
        )
        self.published.apply(PUBLISHED_CONN, empty, recv_ns)
