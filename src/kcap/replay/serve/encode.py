"""The wire encoder of ``kcap serve``: typed messages and capture payloads to frame bytes.

Pure: no sockets, no clocks. Two wire generations (kalshi-protocol.md sections 4 and 9):

* ``current`` (Kalshi since 2026-03-12): prices as dollar strings (``price_dollars``,
  ``yes_price_dollars``, ...), counts as fixed-point strings (``delta_fp``, ``count_fp``, ...);
  the legacy integer fields are removed. A capture holding only legacy integers is converted.
* ``legacy`` (before 2026-03-12, the 2026-03 AsyncAPI): the current fields **plus** the integer
  fields (``price`` in cents, ``delta``/``count`` in whole contracts, snapshot ``yes``/``no``
  and ``yes_dollars``/``no_dollars`` ladders). An integer field is only written when the value
  is exact in that unit (whole cents, whole contracts); a sub-cent price or fractional count
  has no legacy form, so that field is left out (the current field beside it stays).

Data frames are spliced: the ``msg`` body is encoded once per feed event and the envelope
(``type``, ``sid``, ``seq``, ``id``) is written around it per subscription, in Kalshi's key
order ``{"type":...,"sid":...,"seq":...,"msg":{...}}`` (kalshi-protocol.md section 3.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final, Literal, TypeAlias

import msgspec

from kcap.book import Level
from kcap.fixedpoint import (
    ONE_CENT_CC,
    ONE_CONTRACT_CX,
    cents_to_cc,
    contracts_to_cx,
    format_price,
    format_size,
    price_cc,
    size_cx,
)
from kcap.schemas import wire

Wire: TypeAlias = Literal["current", "legacy"]
WIRES: Final[tuple[Wire, ...]] = ("current", "legacy")

_encode = msgspec.json.Encoder().encode
_decode_dict = msgspec.json.Decoder(dict[str, Any]).decode

# (legacy integer field, current string field, "price" | "size"), per message type
_PAIRS: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    "orderbook_delta": (("price", "price_dollars", "price"), ("delta", "delta_fp", "size")),
    "trade": (
        ("yes_price", "yes_price_dollars", "price"),
        ("no_price", "no_price_dollars", "price"),
        ("count", "count_fp", "size"),
    ),
    "ticker": (
        ("price", "price_dollars", "price"),
        ("yes_bid", "yes_bid_dollars", "price"),
        ("yes_ask", "yes_ask_dollars", "price"),
        ("volume", "volume_fp", "size"),
        ("open_interest", "open_interest_fp", "size"),
    ),
}
# fields that only concern the subscriber whose own order caused a change: never forwarded
_PRIVATE_DELTA_FIELDS: Final = ("client_order_id", "subaccount")


def _to_string(value: object, unit: str) -> str | None:
    """Legacy integer -> current string (None when the value is not an integer)."""
    if type(value) is not int:
        return None
    return (
        format_price(cents_to_cc(value)) if unit == "price" else format_size(contracts_to_cx(value))
    )


def _to_integer(text: object, unit: str) -> int | None:
    """Current string -> legacy integer, or None when it is not exact in whole cents/contracts."""
    if not isinstance(text, str):
        return None
    try:
        value = price_cc(text) if unit == "price" else size_cx(text)
    except ValueError:
        return None
    scale = ONE_CENT_CC if unit == "price" else ONE_CONTRACT_CX
    return value // scale if value % scale == 0 else None


def convert_msg(msg: dict[str, Any], message_type: str, wire_format: Wire) -> dict[str, Any]:
    """Rewrite one ``msg`` object (a dict, changed in place and returned) to ``wire_format``.

    Current: each legacy integer field is replaced by its string field (derived from the integer
    when the string is absent). Legacy: each integer field is added next to its string field
    when exact. Types without integer fields are returned unchanged.

    Example:
        >>> convert_msg({"market_ticker": "T", "yes_price": 36, "count": 136}, "trade", "current")
        {'market_ticker': 'T', 'yes_price_dollars': '0.3600', 'count_fp': '136.00'}
    """
    for legacy, current, unit in _PAIRS.get(message_type, ()):
        if wire_format == "current":
            if legacy in msg:
                value = msg.pop(legacy)
                if current not in msg:
                    text = _to_string(value, unit)
                    if text is not None:
                        msg[current] = text
        elif legacy not in msg:
            number = _to_integer(msg.get(current), unit)
            if number is not None:
                msg[legacy] = number
    return msg


def needs_conversion(msg: wire.TradeMsg | wire.TickerMsg, wire_format: Wire) -> bool:
    """True when a trade/ticker payload cannot be forwarded verbatim in ``wire_format``.

    Current: it carries any legacy integer field. Legacy: it lacks any integer field that its
    string field could give exactly (checked when the frame is converted, so always True).
    """
    if wire_format == "legacy":
        return True
    if isinstance(msg, wire.TradeMsg):
        return msg.yes_price is not None or msg.no_price is not None or msg.count is not None
    return (
        msg.price is not None
        or msg.yes_bid is not None
        or msg.yes_ask is not None
        or msg.volume is not None
        or msg.open_interest is not None
    )


def passthrough_body(raw_msg: bytes, message_type: str, convert: bool, wire_format: Wire) -> bytes:
    """The ``msg`` body of a forwarded trade/ticker/lifecycle frame: the captured bytes verbatim,
    or re-encoded through :func:`convert_msg` when ``convert`` (unknown fields are kept)."""
    if not convert:
        return raw_msg
    return _encode(convert_msg(_decode_dict(raw_msg), message_type, wire_format))


def delta_body(msg: wire.OrderbookDeltaMsg, wire_format: Wire) -> bytes:
    """The ``msg`` body of an ``orderbook_delta``.

    ``msg`` must carry ``price_dollars`` and ``delta_fp`` (the feed's canonical deltas do).
    ``client_order_id`` and ``subaccount`` are dropped: Kalshi sends them only to the owner
    of the order (kalshi-protocol.md section 4.2), and a replay has no owner.

    Example:
        >>> msg = wire.OrderbookDeltaMsg(
        ...     market_ticker="T", side="yes", price_dollars="0.3800", delta_fp="-1.00"
        ... )
        >>> delta_body(msg, "current")
        b'{"market_ticker":"T","price_dollars":"0.3800","delta_fp":"-1.00","side":"yes"}'
    """
    out: dict[str, Any] = {"market_ticker": msg.market_ticker}
    if msg.market_id is not None:
        out["market_id"] = msg.market_id
    if wire_format == "legacy":
        cents = _to_integer(msg.price_dollars, "price")
        if cents is not None:
            out["price"] = cents
    out["price_dollars"] = msg.price_dollars
    if wire_format == "legacy":
        count = _to_integer(msg.delta_fp, "size")
        if count is not None:
            out["delta"] = count
    out["delta_fp"] = msg.delta_fp
    out["side"] = msg.side
    if msg.ts is not None:
        out["ts"] = msg.ts
    if msg.ts_ms is not None:
        out["ts_ms"] = msg.ts_ms
    return _encode(out)


def _ladder(levels: Sequence[Level]) -> list[tuple[str, str]]:
    return [(format_price(p), format_size(s)) for p, s in levels]


def snapshot_body(
    market_ticker: str,
    yes: Sequence[Level],
    no: Sequence[Level],
    wire_format: Wire,
    *,
    market_id: str | None = None,
) -> bytes:
    """The ``msg`` body of an ``orderbook_snapshot``: both bid ladders ascending, best last.

    A side with no level is left out, as Kalshi does (kalshi-protocol.md section 4.2). Legacy
    adds ``yes``/``no`` (``[[cents, contracts]]``) and ``yes_dollars``/``no_dollars``
    (``[["0.0800", contracts]]``) for a ladder whose every level is exact in those units.

    Example:
        >>> snapshot_body("T", [Level(2700, 61400)], [], "current")
        b'{"market_ticker":"T","yes_dollars_fp":[["0.2700","614.00"]]}'
    """
    out: dict[str, Any] = {"market_ticker": market_ticker}
    if market_id is not None:
        out["market_id"] = market_id
    for side, levels in (("yes", yes), ("no", no)):
        if not levels:
            continue
        if wire_format == "legacy" and all(
            p % ONE_CENT_CC == 0 and s % ONE_CONTRACT_CX == 0 for p, s in levels
        ):
            out[side] = [(p // ONE_CENT_CC, s // ONE_CONTRACT_CX) for p, s in levels]
            out[f"{side}_dollars"] = [(format_price(p), s // ONE_CONTRACT_CX) for p, s in levels]
        out[f"{side}_dollars_fp"] = _ladder(levels)
    return _encode(out)


# ---------------------------------------------------------------------------------------------
# envelopes


def data_frame(
    message_type: bytes,
    sid: int,
    seq: int | None,
    body: bytes,
    *,
    command_id: int | None = None,
    sending_ts_ms: int | None = None,
) -> bytes:
    """Splice one data frame: ``{"type":"trade","sid":3,"seq":9,"msg":<body>}``.

    Args:
        message_type: Kalshi ``type``, ASCII bytes (``b"orderbook_delta"``).
        sid: the subscription id. seq: its sequence number, or None for types without one.
        body: the ``msg`` JSON, already encoded.
        command_id: the ``id`` of the command this frame answers (``get_snapshot``), if any.
        sending_ts_ms: Kalshi's envelope ``sending_ts_ms`` as captured, if any.
    """
    head = b'{"type":"%s","sid":%d' % (message_type, sid)
    if seq is not None:
        head += b',"seq":%d' % seq
    if command_id:
        head += b',"id":%d' % command_id
    if sending_ts_ms is not None:
        head += b',"sending_ts_ms":%d' % sending_ts_ms
    return head + b',"msg":' + body + b"}"


def _reply(command_id: int | None, fields: dict[str, Any]) -> bytes:
    out: dict[str, Any] = {"id": command_id} if command_id else {}
    out.update(fields)
    return _encode(out)


def subscribed(command_id: int | None, channel: str, sid: int) -> bytes:
    """``{"id":1,"type":"subscribed","msg":{"channel":"orderbook_delta","sid":1}}``."""
    return _reply(command_id, {"type": "subscribed", "msg": {"channel": channel, "sid": sid}})


def unsubscribed(command_id: int | None, sid: int, seq: int | None) -> bytes:
    """``{"id":102,"sid":2,"seq":7,"type":"unsubscribed"}`` (no ``seq`` if the sid sent none)."""
    fields: dict[str, Any] = {"sid": sid}
    if seq:
        fields["seq"] = seq
    fields["type"] = "unsubscribed"
    return _reply(command_id, fields)


def ok_markets(
    command_id: int | None, sid: int, seq: int | None, market_tickers: Iterable[str] | None
) -> bytes:
    """``ok`` after ``update_subscription``: the sid's full market list (None: no ``msg``)."""
    fields: dict[str, Any] = {"sid": sid}
    if seq:
        fields["seq"] = seq
    fields["type"] = "ok"
    if market_tickers is not None:
        fields["msg"] = {"market_tickers": list(market_tickers)}
    return _reply(command_id, fields)


def ok_list(command_id: int | None, subscriptions: Iterable[tuple[str, int]]) -> bytes:
    """``list_subscriptions`` answer: ``{"id":3,"type":"ok","msg":[{"channel":..,"sid":..}]}``."""
    items = [{"channel": channel, "sid": sid} for channel, sid in subscriptions]
    return _reply(command_id, {"type": "ok", "msg": items})


def error(
    command_id: int | None, code: int, text: str, *, market_ticker: str | None = None
) -> bytes:
    """``{"id":127,"type":"error","msg":{"code":16,"msg":"Market not found","market_ticker":..}}``."""
    msg: dict[str, Any] = {"code": code, "msg": text}
    if market_ticker is not None:
        msg["market_ticker"] = market_ticker
    return _reply(command_id, {"type": "error", "msg": msg})
