"""Public market messages: ``ticker``, ``trade``, and the ``market_lifecycle_v2`` channel's
``market_lifecycle_v2``, ``event_lifecycle``, ``event_fee_update`` (kalshi-protocol.md 4.3-4.5).

Field names are Kalshi's own; decoding rules are in :mod:`kcap.schemas.wire`.
"""

from __future__ import annotations

from typing import Any

import msgspec


class TickerMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``ticker``: market summary sent whenever a ticker field changes (no seq)."""

    market_ticker: str
    market_id: str | None = None
    price_dollars: str | None = None
    yes_bid_dollars: str | None = None
    yes_ask_dollars: str | None = None
    no_bid_dollars: str | None = None
    no_ask_dollars: str | None = None
    volume_fp: str | None = None
    open_interest_fp: str | None = None
    yes_bid_size_fp: str | None = None
    yes_ask_size_fp: str | None = None
    last_trade_size_fp: str | None = None
    dollar_volume: int | None = None
    dollar_open_interest: int | None = None
    ts_ms: int | None = None
    ts: int | None = None
    time: str | None = None
    price: int | None = None
    yes_bid: int | None = None
    yes_ask: int | None = None
    volume: int | None = None
    open_interest: int | None = None


class Ticker(msgspec.Struct, tag_field="type", tag="ticker", frozen=True, gc=False):
    """``{"type": "ticker", "sid": 11, "msg": {...}}``."""

    msg: TickerMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class TradeMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``trade`` (channel ``trade``, not ``trades``): one public fill.

    ``taker_side`` is deprecated for ``taker_outcome_side`` (yes/no) and ``taker_book_side``
    (bid = yes, ask = no). ``yes_price_dollars + no_price_dollars = 1``.
    """

    market_ticker: str
    trade_id: str | None = None
    yes_price_dollars: str | None = None
    no_price_dollars: str | None = None
    count_fp: str | None = None
    taker_side: str | None = None
    taker_outcome_side: str | None = None
    taker_book_side: str | None = None
    is_block_trade: bool | None = None
    ts_ms: int | None = None
    ts: int | None = None
    yes_price: int | None = None
    no_price: int | None = None
    count: int | None = None


class Trade(msgspec.Struct, tag_field="type", tag="trade", frozen=True, gc=False):
    """``{"type": "trade", "sid": 11, "msg": {...}}``; ``seq`` is optional on trades."""

    msg: TradeMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class PriceRange(msgspec.Struct, frozen=True, gc=False):
    """One band of valid prices: ``{"start": "0.0000", "end": "1.0000", "step": "0.0100"}``."""

    start: str
    end: str
    step: str


class LifecycleMetadata(msgspec.Struct, frozen=True, gc=False):
    """``additional_metadata`` of a ``created`` lifecycle event."""

    name: str | None = None
    title: str | None = None
    yes_sub_title: str | None = None
    no_sub_title: str | None = None
    rules_primary: str | None = None
    rules_secondary: str | None = None
    can_close_early: bool | None = None
    event_ticker: str | None = None
    expected_expiration_ts: int | None = None
    strike_type: str | None = None
    floor_strike: float | None = None
    cap_strike: float | None = None
    custom_strike: dict[str, Any] | None = None


class MarketLifecycleMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``market_lifecycle_v2``. Timestamps are Unix **seconds**.

    ``event_type`` in created, activated, deactivated, close_date_updated, determined, settled,
    price_level_structure_updated, metadata_updated. ``settlement_value`` is a dollar string.
    """

    event_type: str
    market_ticker: str
    open_ts: int | None = None
    close_ts: int | None = None
    result: str | None = None
    determination_ts: int | None = None
    settlement_value: str | None = None
    settled_ts: int | None = None
    is_deactivated: bool | None = None
    exchange_index: int | None = None
    price_level_structure: str | None = None
    price_ranges: list[PriceRange] | None = None
    strike_type: str | None = None
    floor_strike: float | None = None
    cap_strike: float | None = None
    yes_sub_title: str | None = None
    additional_metadata: LifecycleMetadata | None = None


class MarketLifecycle(
    msgspec.Struct, tag_field="type", tag="market_lifecycle_v2", frozen=True, gc=False
):
    """``{"type": "market_lifecycle_v2", "sid": 13, "seq": 4, "msg": {...}}``."""

    msg: MarketLifecycleMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class EventLifecycleMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``event_lifecycle``."""

    event_ticker: str
    series_ticker: str | None = None
    title: str | None = None
    subtitle: str | None = None
    collateral_return_type: str | None = None
    strike_date: int | None = None
    strike_period: str | None = None
    exchange_index: int | None = None


class EventLifecycle(
    msgspec.Struct, tag_field="type", tag="event_lifecycle", frozen=True, gc=False
):
    """``{"type": "event_lifecycle", "sid": 5, "seq": 8, "msg": {...}}``."""

    msg: EventLifecycleMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class EventFeeUpdateMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``event_fee_update``; overrides are ``null`` when cleared."""

    event_ticker: str
    fee_type_override: str | None = None
    fee_multiplier_override: float | None = None


class EventFeeUpdate(
    msgspec.Struct, tag_field="type", tag="event_fee_update", frozen=True, gc=False
):
    """``{"type": "event_fee_update", "sid": 5, "seq": 9, "msg": {...}}``."""

    msg: EventFeeUpdateMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None
