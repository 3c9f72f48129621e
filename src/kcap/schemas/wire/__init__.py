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

from typing import Any, TypeAlias

import msgspec

from kcap.schemas.wire.book import (
    OrderbookDelta,
    OrderbookDeltaMsg,
    OrderbookSnapshot,
    OrderbookSnapshotMsg,
    Side,
)
from kcap.schemas.wire.control import (
    Error,
    ErrorMsg,
    MalformedFrame,
    Ok,
    OkMsg,
    Subscribed,
    SubscriptionInfo,
    UnknownMessage,
    Unsubscribed,
)
from kcap.schemas.wire.market import (
    EventFeeUpdate,
    EventFeeUpdateMsg,
    EventLifecycle,
    EventLifecycleMsg,
    LifecycleMetadata,
    MarketLifecycle,
    MarketLifecycleMsg,
    PriceRange,
    Ticker,
    TickerMsg,
    Trade,
    TradeMsg,
)
from kcap.schemas.wire.private import (
    Fill,
    FillMsg,
    MarketPosition,
    MarketPositionMsg,
    OrderGroupUpdates,
    OrderGroupUpdatesMsg,
    QuoteAccepted,
    QuoteCreated,
    QuoteExecuted,
    QuoteMsg,
    RfqCreated,
    RfqDeleted,
    RfqMsg,
    UserOrder,
    UserOrderMsg,
)

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


__all__ = [
    "CHANNEL_TYPES",
    "MESSAGE_TYPES",
    "Error",
    "ErrorMsg",
    "EventFeeUpdate",
    "EventFeeUpdateMsg",
    "EventLifecycle",
    "EventLifecycleMsg",
    "Fill",
    "FillMsg",
    "KalshiMessage",
    "LifecycleMetadata",
    "MalformedFrame",
    "MarketLifecycle",
    "MarketLifecycleMsg",
    "MarketPosition",
    "MarketPositionMsg",
    "Message",
    "Ok",
    "OkMsg",
    "OrderGroupUpdates",
    "OrderGroupUpdatesMsg",
    "OrderbookDelta",
    "OrderbookDeltaMsg",
    "OrderbookSnapshot",
    "OrderbookSnapshotMsg",
    "PriceRange",
    "QuoteAccepted",
    "QuoteCreated",
    "QuoteExecuted",
    "QuoteMsg",
    "RfqCreated",
    "RfqDeleted",
    "RfqMsg",
    "Side",
    "Subscribed",
    "SubscriptionInfo",
    "Ticker",
    "TickerMsg",
    "Trade",
    "TradeMsg",
    "UnknownMessage",
    "Unsubscribed",
    "UserOrder",
    "UserOrderMsg",
    "decode_frame",
    "decode_frames",
    "message_type",
]
