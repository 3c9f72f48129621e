"""Control replies (``subscribed``, ``unsubscribed``, ``ok``, ``error``; kalshi-protocol.md
2.5-2.6) and the frames kcap cannot type (:class:`UnknownMessage`, :class:`MalformedFrame`).

Field names are Kalshi's own; decoding rules are in :mod:`kcap.schemas.wire`.
"""

from __future__ import annotations

import msgspec


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
