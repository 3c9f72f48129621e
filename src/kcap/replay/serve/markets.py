"""The markets a capture holds, for ``kcap serve``: command validation and REST discovery.

Pure. A :class:`MarketCatalog` is filled twice: once by a scan of the whole capture before
serving (which markets exist, their static metadata: ``market_id``, and from
``market_lifecycle_v2`` ``created`` / ``metadata_updated`` events the strikes, titles and open and
close times), then live by the feed as the replay advances (status changes from lifecycle
events, last price, volume and open interest from ``ticker`` frames), so REST answers describe
the market at the current replay time.

Event and series tickers come from lifecycle metadata when the capture has it, else from
Kalshi's ticker layout ``<SERIES>-<DATE>-<STRIKE>`` (event = the market ticker without its last
``-`` part, series = its first part; kalshi-protocol.md section 7.2). Strikes are never parsed
from tickers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kcap.schemas import wire

NS_PER_S = 1_000_000_000

MARKET_STATUS_BY_EVENT = {
    "activated": "active",
    "deactivated": "inactive",
    "determined": "determined",
    "settled": "finalized",
}
"""``market_lifecycle_v2`` ``event_type`` -> REST ``Market.status`` (kalshi-protocol.md 4.5, 6.2)."""


@dataclass
class MarketInfo:
    """What the capture tells about one market. Times are Unix seconds unless named ``_ns``.

    ``status`` uses REST's ``Market.status`` vocabulary (``initialized``, ``active``,
    ``inactive``, ``closed``, ``determined``, ``finalized``); a market is ``active`` until a
    lifecycle event says otherwise, ``initialized`` before its ``open_ts`` and ``closed`` once
    the replay passes its ``close_ts``.
    """

    ticker: str
    event_ticker: str
    series_ticker: str
    first_ns: int
    last_ns: int
    market_id: str | None = None
    status: str = "active"
    open_ts: int | None = None
    close_ts: int | None = None
    result: str = ""
    settlement_value: str | None = None
    strike_type: str | None = None
    floor_strike: float | None = None
    cap_strike: float | None = None
    title: str = ""
    yes_sub_title: str = ""
    no_sub_title: str = ""
    rules_primary: str = ""
    rules_secondary: str = ""
    can_close_early: bool = False
    price_level_structure: str = "linear_cent"
    price_ranges: list[dict[str, str]] = field(
        default_factory=lambda: [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]
    )
    last_price_dollars: str = "0.0000"
    volume_fp: str = "0.00"
    open_interest_fp: str = "0.00"

    def status_at(self, now_ns: int | None) -> str:
        """The status at replay time ``now_ns`` (Unix ns; None = before the replay starts)."""
        if self.status != "active" or now_ns is None:
            return self.status
        if self.close_ts is not None and now_ns >= self.close_ts * NS_PER_S:
            return "closed"
        if self.open_ts is not None and now_ns < self.open_ts * NS_PER_S:
            return "initialized"
        return self.status


@dataclass
class EventInfo:
    """What the capture tells about one event (``event_lifecycle`` frames, when present)."""

    event_ticker: str
    series_ticker: str
    title: str = ""
    sub_title: str = ""
    collateral_return_type: str = ""
    strike_date: int | None = None
    strike_period: str | None = None


def split_ticker(market_ticker: str) -> tuple[str, str]:
    """``(event_ticker, series_ticker)`` from Kalshi's ticker layout.

    Example:
        >>> split_ticker("KXHIGHNY-25DEC20-B38.5")
        ('KXHIGHNY-25DEC20', 'KXHIGHNY')
    """
    event = market_ticker.rsplit("-", 1)[0] if "-" in market_ticker else market_ticker
    return event, market_ticker.split("-", 1)[0]


def _market_of(message: wire.Message) -> tuple[str, str | None] | None:
    if isinstance(message, wire.OrderbookSnapshot | wire.OrderbookDelta):
        return message.msg.market_ticker, message.msg.market_id
    if isinstance(message, wire.Ticker):
        return message.msg.market_ticker, message.msg.market_id
    if isinstance(message, wire.Trade | wire.MarketLifecycle):
        return message.msg.market_ticker, None
    return None


class MarketCatalog:
    """Every market and event of a capture (see the module docstring).

    Attributes:
        markets: ``market_ticker -> MarketInfo``.
        events: ``event_ticker -> EventInfo``.
    """

    def __init__(self) -> None:
        self.markets: dict[str, MarketInfo] = {}
        self.events: dict[str, EventInfo] = {}

    def __contains__(self, market_ticker: object) -> bool:
        return market_ticker in self.markets

    def __len__(self) -> int:
        return len(self.markets)

    def scan(self, messages: Sequence[wire.Message | None], recv_ns: Sequence[int]) -> None:
        """Learn markets, events and static metadata from decoded frames (the pre-scan)."""
        for message, t in zip(messages, recv_ns, strict=True):
            if message is None:
                continue
            found = _market_of(message)
            if found is not None:
                self._touch(found[0], found[1], t)
            if isinstance(message, wire.MarketLifecycle):
                self._lifecycle_static(message.msg)
            elif isinstance(message, wire.EventLifecycle):
                self._event_static(message.msg)

    def observe(self, message: wire.Message) -> None:
        """Follow the replay: lifecycle status changes and ticker figures (live state)."""
        if isinstance(message, wire.MarketLifecycle):
            info = self.markets.get(message.msg.market_ticker)
            if info is not None:
                self._lifecycle_live(info, message.msg)
        elif isinstance(message, wire.Ticker):
            info = self.markets.get(message.msg.market_ticker)
            if info is not None:
                msg = message.msg
                info.last_price_dollars = msg.price_dollars or info.last_price_dollars
                info.volume_fp = msg.volume_fp or info.volume_fp
                info.open_interest_fp = msg.open_interest_fp or info.open_interest_fp

    def reset_live(self) -> None:
        """Forget live state (a ``--loop`` restart): every market ``active`` again."""
        for info in self.markets.values():
            info.status = "active"
            info.result = ""
            info.settlement_value = None

    def _touch(self, ticker: str, market_id: str | None, recv_ns: int) -> MarketInfo:
        info = self.markets.get(ticker)
        if info is None:
            event, series = split_ticker(ticker)
            info = self.markets[ticker] = MarketInfo(ticker, event, series, recv_ns, recv_ns)
            if event not in self.events:
                self.events[event] = EventInfo(event, series)
        else:
            info.first_ns = min(info.first_ns, recv_ns)
            info.last_ns = max(info.last_ns, recv_ns)
        if market_id is not None and info.market_id is None:
            info.market_id = market_id
        return info

    def _lifecycle_static(self, msg: wire.MarketLifecycleMsg) -> None:
        info = self.markets[msg.market_ticker]
        info.open_ts = msg.open_ts if msg.open_ts is not None else info.open_ts
        info.close_ts = msg.close_ts if msg.close_ts is not None else info.close_ts
        if msg.price_level_structure:
            info.price_level_structure = msg.price_level_structure
        if msg.price_ranges:
            info.price_ranges = [
                {"start": r.start, "end": r.end, "step": r.step} for r in msg.price_ranges
            ]
        info.strike_type = msg.strike_type or info.strike_type
        info.floor_strike = msg.floor_strike if msg.floor_strike is not None else info.floor_strike
        info.cap_strike = msg.cap_strike if msg.cap_strike is not None else info.cap_strike
        info.yes_sub_title = msg.yes_sub_title or info.yes_sub_title
        meta = msg.additional_metadata
        if meta is not None:
            self._metadata(info, meta)

    def _metadata(self, info: MarketInfo, meta: wire.LifecycleMetadata) -> None:
        info.title = meta.title or info.title
        info.yes_sub_title = meta.yes_sub_title or info.yes_sub_title
        info.no_sub_title = meta.no_sub_title or info.no_sub_title
        info.rules_primary = meta.rules_primary or info.rules_primary
        info.rules_secondary = meta.rules_secondary or info.rules_secondary
        info.can_close_early = bool(meta.can_close_early)
        info.strike_type = meta.strike_type or info.strike_type
        if meta.floor_strike is not None:
            info.floor_strike = meta.floor_strike
        if meta.cap_strike is not None:
            info.cap_strike = meta.cap_strike
        if meta.event_ticker and meta.event_ticker != info.event_ticker:
            old = info.event_ticker
            info.event_ticker = meta.event_ticker
            self.events.setdefault(
                meta.event_ticker, EventInfo(meta.event_ticker, info.series_ticker)
            )
            if not any(m.event_ticker == old for m in self.markets.values()):
                self.events.pop(old, None)

    def _event_static(self, msg: wire.EventLifecycleMsg) -> None:
        event = self.events.get(msg.event_ticker)
        if event is None:
            series = msg.series_ticker or msg.event_ticker.split("-", 1)[0]
            event = self.events[msg.event_ticker] = EventInfo(msg.event_ticker, series)
        event.series_ticker = msg.series_ticker or event.series_ticker
        event.title = msg.title or event.title
        event.sub_title = msg.subtitle or event.sub_title
        event.collateral_return_type = msg.collateral_return_type or event.collateral_return_type
        event.strike_date = msg.strike_date if msg.strike_date is not None else event.strike_date
        event.strike_period = msg.strike_period or event.strike_period

    @staticmethod
    def _lifecycle_live(info: MarketInfo, msg: wire.MarketLifecycleMsg) -> None:
        if msg.event_type == "close_date_updated" and msg.close_ts is not None:
            info.close_ts = msg.close_ts
        status = MARKET_STATUS_BY_EVENT.get(msg.event_type)
        if status is not None:
            info.status = status
        if msg.result is not None:
            info.result = msg.result
        if msg.settlement_value is not None:
            info.settlement_value = msg.settlement_value

    def event_markets(self, event_ticker: str) -> list[MarketInfo]:
        """The markets of one event, by ticker."""
        return [
            self.markets[t]
            for t in sorted(self.markets)
            if self.markets[t].event_ticker == event_ticker
        ]

    def tickers(self) -> list[str]:
        """Every market ticker, sorted."""
        return sorted(self.markets)

    def describe(self) -> dict[str, Any]:
        """Counts for logs: markets, events, series."""
        return {
            "markets": len(self.markets),
            "events": len(self.events),
            "series": len({m.series_ticker for m in self.markets.values()}),
        }


def scan_batches(
    batches: Iterable[tuple[Sequence[wire.Message | None], Sequence[int]]],
) -> MarketCatalog:
    """A catalog from ``(messages, recv_ns)`` batches of the whole capture."""
    catalog = MarketCatalog()
    for messages, recv_ns in batches:
        catalog.scan(messages, recv_ns)
    return catalog
