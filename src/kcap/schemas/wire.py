"""Kalshi WebSocket v2 messages (server to client), as typed immutable structs.

Field names are Kalshi's own (``type``, ``sid``, ``seq``, ``msg``, ``market_ticker``,
``price_dollars``, ``delta_fp`` ...). Both wire generations decode:

* current (since 2026-03-12): dollar strings ``*_dollars`` (up to 4 dp) and fixed-point
  counts ``*_fp`` (2 dp), ``ts_ms`` and the envelope's ``sending_ts_ms``;
* legacy (older captures): integer cents ``yes``/``no``/``price``/``yes_price``, integer
  contracts ``delta``/``count``, ``ts`` in seconds (or RFC 3339 on deltas).

Values stay exactly as Kalshi sent them (strings stay strings); :mod:`kcap.fixedpoint`
turns them into exact integers. Unknown fields are ignored, never an error. A frame whose
``type`` kcap does not know decodes to :class:`UnknownMessage`, and a frame that is not
valid JSON or has fields of the wrong type decodes to :class:`MalformedFrame`; both keep
the raw bytes, so nothing received is ever lost.

Sources: Kalshi AsyncAPI 2.0.0 (snapshot 2026-03-06, ``shared/kalshi-specs``), the
mid-2026 docs.kalshi.com "websockets/*" channel pages, kalshi-protocol.md sections 2-4.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import msgspec

# ---------------------------------------------------------------------------------------------
# orderbook_delta channel: orderbook_snapshot, orderbook_delta

Side: TypeAlias = Literal["yes", "no"]


class OrderbookSnapshotMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``orderbook_snapshot``: both bid ladders of one market, ascending, best last.

    A side with no bids is absent. Current frames carry ``yes_dollars_fp`` /
    ``no_dollars_fp`` (``[[price_dollars, count_fp], ...]``); legacy frames carry ``yes`` /
    ``no`` (``[[cents, contracts], ...]``) and ``yes_dollars`` / ``no_dollars``
    (``[[price_dollars, contracts], ...]``).
    """

    market_ticker: str
    market_id: str | None = None
    yes_dollars_fp: list[tuple[str, str]] | None = None
    no_dollars_fp: list[tuple[str, str]] | None = None
    yes_dollars: list[tuple[str, int | str]] | None = None
    no_dollars: list[tuple[str, int | str]] | None = None
    yes: list[tuple[int, int]] | None = None
    no: list[tuple[int, int]] | None = None


class OrderbookSnapshot(
    msgspec.Struct, tag_field="type", tag="orderbook_snapshot", frozen=True, gc=False
):
    """``{"type": "orderbook_snapshot", "sid": 2, "seq": 2, "msg": {...}}``; ``id`` is set when the
    snapshot answers an ``update_subscription`` ``get_snapshot`` command."""

    msg: OrderbookSnapshotMsg
    sid: int = 0
    seq: int | None = None
    id: int | None = None
    sending_ts_ms: int | None = None


class OrderbookDeltaMsg(msgspec.Struct, frozen=True, gc=False):
    """Payload of ``orderbook_delta``: a signed change to one level of one bid ladder.

    Current: ``price_dollars`` (``"0.960"``), ``delta_fp`` (``"-54.00"``); legacy: ``price``
    (cents), ``delta`` (contracts). ``side`` names the ladder. ``client_order_id`` and
    ``subaccount`` appear only when the caller's own order caused the change.
    """

    market_ticker: str
    side: Side
    price_dollars: str | None = None
    delta_fp: str | None = None
    price: int | None = None
    delta: int | None = None
    market_id: str | None = None
    ts_ms: int | None = None
    ts: str | int | None = None
    client_order_id: str | None = None
    subaccount: int | None = None


class OrderbookDelta(
    msgspec.Struct, tag_field="type", tag="orderbook_delta", frozen=True, gc=False
):
    """``{"type": "orderbook_delta", "sid": 2, "seq": 3, "msg": {...}}``."""

    msg: OrderbookDeltaMsg
    sid: int = 0
    seq: int | None = None
    sending_ts_ms: int | None = None


# ---------------------------------------------------------------------------------------------
# ticker, trade


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


# ---------------------------------------------------------------------------------------------
# private channels: fill, market_positions (type market_position), user_orders (type user_order),
# order_group_updates


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


# ---------------------------------------------------------------------------------------------
# market_lifecycle_v2 channel: market_lifecycle_v2, event_lifecycle, event_fee_update


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


# ---------------------------------------------------------------------------------------------
# communications channel: rfq_created, rfq_deleted, quote_created, quote_accepted, quote_executed


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


# ---------------------------------------------------------------------------------------------
# control replies: subscribed, unsubscribed, ok, error


class SubscriptionInfo(msgspec.Struct, frozen=True, gc=False):
    """``{"channel": "orderbook_delta", "sid": 1}``: ``subscribed.msg`` and ``list_subscriptions`` items."""

    channel: str
    sid: int


class Subscribed(msgspec.Struct, tag_field="type", tag="subscribed", frozen=True, gc=False):
    """``{"id": 1, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 1}}``
    (one per channel of a ``subscribe`` command)."""

    msg: SubscriptionInfo
    id: int | None = None
    sid: int | None = None
    seq: int | None = None


class Unsubscribed(msgspec.Struct, tag_field="type", tag="unsubscribed", frozen=True, gc=False):
    """``{"id": 102, "sid": 2, "seq": 7, "type": "unsubscribed"}``: ``seq`` is the sid's last."""

    sid: int
    id: int | None = None
    seq: int | None = None


class OkMsg(msgspec.Struct, frozen=True, gc=False):
    """``ok.msg`` after ``update_subscription``: the sid's full market list after the update."""

    market_tickers: list[str] | None = None
    market_ids: list[str] | None = None


class Ok(msgspec.Struct, tag_field="type", tag="ok", frozen=True, gc=False):
    """``ok``: answers ``update_subscription`` (object ``msg``) and ``list_subscriptions`` (array)."""

    id: int | None = None
    sid: int | None = None
    seq: int | None = None
    msg: OkMsg | list[SubscriptionInfo] | None = None


class ErrorMsg(msgspec.Struct, frozen=True, gc=False):
    """``error.msg``: Kalshi's error ``code`` (1-28, see kalshi-protocol.md 2.6) and text."""

    code: int
    msg: str = ""
    market_ticker: str | None = None
    market_id: str | None = None


class Error(msgspec.Struct, tag_field="type", tag="error", frozen=True, gc=False):
    """``{"id": 127, "type": "error", "msg": {"code": 16, "msg": "Market not found"}}``."""

    msg: ErrorMsg
    id: int | None = None
    sid: int | None = None


# ---------------------------------------------------------------------------------------------
# frames kcap cannot type


class UnknownMessage(msgspec.Struct, frozen=True, gc=False):
    """A valid JSON frame whose ``type`` kcap does not know; ``raw`` is the frame as received."""

    type: str
    raw: bytes
    sid: int | None = None
    seq: int | None = None


class MalformedFrame(msgspec.Struct, frozen=True, gc=False):
    """A frame that is not valid JSON, or has a field of the wrong type; ``error`` says why."""

    raw: bytes
    error: str


KalshiMessage: TypeAlias = (
    OrderbookSnapshot
    | OrderbookDelta
    | Ticker
    | Trade
    | Fill
    | MarketPosition
    | UserOrder
    | OrderGroupUpdates
    | MarketLifecycle
    | EventLifecycle
    | EventFeeUpdate
    | RfqCreated
    | RfqDeleted
    | QuoteCreated
    | QuoteAccepted
    | QuoteExecuted
    | Subscribed
    | Unsubscribed
    | Ok
    | Error
)
"""Every server-to-client message type kcap knows, tagged by ``type``."""

Message: TypeAlias = KalshiMessage | UnknownMessage | MalformedFrame
"""What :func:`decode_frame` returns: a typed message, or the raw frame kept as it came."""

MESSAGE_TYPES: dict[str, type[Any]] = {
    cls.__struct_config__.tag: cls for cls in KalshiMessage.__args__
}
"""``type`` string -> struct class, for every known message."""

CHANNEL_TYPES: dict[str, tuple[str, ...]] = {
    "orderbook_delta": ("orderbook_snapshot", "orderbook_delta"),
    "ticker": ("ticker",),
    "trade": ("trade",),
    "fill": ("fill",),
    "market_positions": ("market_position",),
    "user_orders": ("user_order",),
    "order_group_updates": ("order_group_updates",),
    "market_lifecycle_v2": ("market_lifecycle_v2", "event_lifecycle", "event_fee_update"),
    "multivariate_market_lifecycle": (),
    "communications": (
        "rfq_created",
        "rfq_deleted",
        "quote_created",
        "quote_accepted",
        "quote_executed",
    ),
}
"""Kalshi's subscribable channel names and the message types each sends (kalshi-protocol.md 4.1).
Note ``trade`` (not ``trades``) and ``market_positions`` -> ``market_position``."""


class _Envelope(msgspec.Struct, frozen=True, gc=False):
    type: str
    sid: int | None = None
    seq: int | None = None


_decoder = msgspec.json.Decoder(KalshiMessage)
_envelope_decoder = msgspec.json.Decoder(_Envelope)


def _classify_failure(data: bytes, error: Exception) -> UnknownMessage | MalformedFrame:
    try:
        env = _envelope_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return MalformedFrame(raw=data, error=str(exc))
    if env.type in MESSAGE_TYPES:
        return MalformedFrame(raw=data, error=f"{env.type}: {error}")
    return UnknownMessage(type=env.type, raw=data, sid=env.sid, seq=env.seq)


def decode_frame(data: bytes) -> Message:
    """Decode one text frame as received from Kalshi. Never raises.

    Args:
        data: the frame's bytes (UTF-8 JSON), exactly as received.

    Returns:
        A typed message; :class:`UnknownMessage` for a valid frame of unknown ``type``;
        :class:`MalformedFrame` for anything else (invalid JSON, wrong field types). The
        latter two keep ``data`` in ``raw``.

    Example:
        >>> decode_frame(b'{"type":"orderbook_delta","sid":2,"seq":3,"msg":{'
        ...   b'"market_ticker":"FED-23DEC-T3.00","price_dollars":"0.960",'
        ...   b'"delta_fp":"-54.00","side":"yes","ts_ms":1669149841000}}').msg.delta_fp
        '-54.00'
    """
    try:
        return _decoder.decode(data)  # type: ignore[no-any-return]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return _classify_failure(data, exc)


def decode_frames(frames: list[bytes]) -> list[Message]:
    """Decode many frames with :func:`decode_frame`'s rules, in order (the replay hot path).

    The whole list is decoded in one comprehension; only a list holding a frame that fails is
    decoded again frame by frame, so the results are always those of :func:`decode_frame`.
    """
    decode = _decoder.decode
    try:
        return [decode(data) for data in frames]
    except (msgspec.DecodeError, msgspec.ValidationError):
        return [decode_frame(data) for data in frames]


def message_type(message: Message) -> str:
    """The Kalshi ``type`` of a decoded message (``"malformed"`` for a malformed frame)."""
    if isinstance(message, UnknownMessage):
        return message.type
    if isinstance(message, MalformedFrame):
        return "malformed"
    return message.__struct_config__.tag  # type: ignore[return-value]
