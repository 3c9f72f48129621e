"""Private messages: ``fill``, ``market_position`` (channel ``market_positions``), ``user_order``
(channel ``user_orders``), ``order_group_updates``, and the ``communications`` channel's RFQ
and quote messages (kalshi-protocol.md 4.6).

Field names are Kalshi's own; decoding rules are in :mod:`kcap.schemas.wire`.
"""

from __future__ import annotations

from typing import Any

import msgspec


class FillMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``fill`` (private): one of the caller's own fills; ``fee_cost`` in dollars."""

    market_ticker: str
    trade_id: str | None = None
    order_id: str | None = None
    is_taker: bool | None = None
    side: str | None = None
    action: str | None = None
    purchased_side: str | None = None
    outcome_side: str | None = None
    book_side: str | None = None
    yes_price_dollars: str | None = None
    count_fp: str | None = None
    fee_cost: str | None = None
    post_position_fp: str | None = None
    client_order_id: str | None = None
    subaccount: int | None = None
    exchange_index: int | None = None
    ts_ms: int | None = None
    ts: int | None = None
    yes_price: int | None = None
    count: int | None = None
    post_position: int | None = None


class Fill(msgspec.Struct, tag_field="type", tag="fill", frozen=True, gc=False):
    """``{"type": "fill", "sid": 13, "msg": {...}}`` (no seq)."""

    msg: FillMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class MarketPositionMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``market_position`` (channel ``market_positions``).

    Money fields were integer centi-cents in the 2026-03 spec and ``*_dollars`` strings later,
    so both decode; unknown units are kept as sent.
    """

    market_ticker: str
    user_id: str | None = None
    position_fp: str | None = None
    position_cost: int | str | None = None
    realized_pnl: int | str | None = None
    fees_paid: int | str | None = None
    position_fee_cost: int | str | None = None
    position_cost_dollars: str | None = None
    realized_pnl_dollars: str | None = None
    fees_paid_dollars: str | None = None
    volume_fp: str | None = None
    subaccount: int | None = None
    position: int | None = None
    volume: int | None = None


class MarketPosition(
    msgspec.Struct, tag_field="type", tag="market_position", frozen=True, gc=False
):
    """``{"type": "market_position", "sid": 5, "msg": {...}}`` (no seq)."""

    msg: MarketPositionMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class UserOrderMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``user_order`` (channel ``user_orders``): the state of one of the caller's orders."""

    order_id: str
    ticker: str | None = None
    user_id: str | None = None
    status: str | None = None
    side: str | None = None
    is_yes: bool | None = None
    outcome_side: str | None = None
    book_side: str | None = None
    yes_price_dollars: str | None = None
    fill_count_fp: str | None = None
    remaining_count_fp: str | None = None
    initial_count_fp: str | None = None
    taker_fill_cost_dollars: str | None = None
    maker_fill_cost_dollars: str | None = None
    taker_fees_dollars: str | None = None
    maker_fees_dollars: str | None = None
    client_order_id: str | None = None
    order_group_id: str | None = None
    self_trade_prevention_type: str | None = None
    created_time: str | None = None
    last_update_time: str | None = None
    expiration_time: str | None = None
    created_ts_ms: int | None = None
    last_updated_ts_ms: int | None = None
    expiration_ts_ms: int | None = None
    subaccount_number: int | None = None
    exchange_index: int | None = None


class UserOrder(msgspec.Struct, tag_field="type", tag="user_order", frozen=True, gc=False):
    """``{"type": "user_order", "sid": 7, "msg": {...}}`` (no seq)."""

    msg: UserOrderMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class OrderGroupUpdatesMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``order_group_updates``: ``event_type`` in created, triggered, reset, deleted,
    limit_updated."""

    event_type: str
    order_group_id: str
    contracts_limit_fp: str | None = None
    ts_ms: int | None = None


class OrderGroupUpdates(
    msgspec.Struct, tag_field="type", tag="order_group_updates", frozen=True, gc=False
):
    """``{"type": "order_group_updates", "sid": 8, "seq": 3, "msg": {...}}`` (seq required)."""

    msg: OrderGroupUpdatesMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class RfqMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``rfq_created`` / ``rfq_deleted``."""

    id: str
    market_ticker: str | None = None
    creator_id: str | None = None
    event_ticker: str | None = None
    contracts_fp: str | None = None
    target_cost_dollars: str | None = None
    created_ts: str | int | None = None
    deleted_ts: str | int | None = None
    mve_collection_ticker: str | None = None
    mve_selected_legs: list[dict[str, Any]] | None = None
    contracts: int | None = None
    target_cost: int | None = None


class RfqCreated(msgspec.Struct, tag_field="type", tag="rfq_created", frozen=True, gc=False):
    """``{"type": "rfq_created", "sid": 9, "msg": {...}}``."""

    msg: RfqMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class RfqDeleted(msgspec.Struct, tag_field="type", tag="rfq_deleted", frozen=True, gc=False):
    """``{"type": "rfq_deleted", "sid": 9, "msg": {...}}``."""

    msg: RfqMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class QuoteMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``quote_created`` / ``quote_accepted`` / ``quote_executed``."""

    quote_id: str
    rfq_id: str | None = None
    quote_creator_id: str | None = None
    rfq_creator_id: str | None = None
    market_ticker: str | None = None
    event_ticker: str | None = None
    yes_bid_dollars: str | None = None
    no_bid_dollars: str | None = None
    yes_contracts_offered_fp: str | None = None
    no_contracts_offered_fp: str | None = None
    accepted_side: str | None = None
    contracts_accepted_fp: str | None = None
    rfq_target_cost_dollars: str | None = None
    order_id: str | None = None
    client_order_id: str | None = None
    created_ts: str | int | None = None
    executed_ts: str | int | None = None
    yes_bid: int | None = None
    no_bid: int | None = None


class QuoteCreated(msgspec.Struct, tag_field="type", tag="quote_created", frozen=True, gc=False):
    """``{"type": "quote_created", "sid": 9, "msg": {...}}``."""

    msg: QuoteMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class QuoteAccepted(msgspec.Struct, tag_field="type", tag="quote_accepted", frozen=True, gc=False):
    """``{"type": "quote_accepted", "sid": 9, "msg": {...}}``."""

    msg: QuoteMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


class QuoteExecuted(msgspec.Struct, tag_field="type", tag="quote_executed", frozen=True, gc=False):
    """``{"type": "quote_executed", "sid": 9, "msg": {...}}``."""

    msg: QuoteMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None
