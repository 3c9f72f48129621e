"""``orderbook_delta`` channel messages: ``orderbook_snapshot``, ``orderbook_delta``
(kalshi-protocol.md 4.2).

Field names are Kalshi's own; decoding rules are in :mod:`kcap.schemas.wire`.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec

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


class OrderbookDeltaMsg(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """Payload of ``orderbook_delta``: a signed change to one level of one bid ladder.

    Current: ``price_dollars`` (``"0.960"``), ``delta_fp`` (``"-54.00"``); legacy: ``price``
    (cents), ``delta`` (contracts). ``side`` names the ladder. ``client_order_id`` and
    ``subaccount`` appear only when the caller's own order caused the change.

    Fields are keyword-only and declared in the order Kalshi sends them (kalshi-protocol.md
    4.2): msgspec matches keys fastest in declaration order, and this is the hottest message.
    """

    market_ticker: str
    market_id: str | None = None
    price_dollars: str | None = None
    delta_fp: str | None = None
    side: Side
    ts: str | int | None = None
    ts_ms: int | None = None
    price: int | None = None
    delta: int | None = None
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
