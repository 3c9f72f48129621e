"""Kalshi ``orderbook_delta``-channel frames, built exactly as Kalshi sends them today.

The current wire format (fixed-point only, since 2026-03-12; kalshi-protocol.md section 4.2,
docs.kalshi.com "websockets/orderbook-updates")::

    {"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"KXHIGHNY-25DEC20-B38.5",
     "yes_dollars_fp":[["0.3000","10.00"]],"no_dollars_fp":[["0.5000","13.00"]]}}
    {"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"KXHIGHNY-25DEC20-B38.5",
     "price_dollars":"0.3100","delta_fp":"10.00","side":"yes","ts_ms":1766156467123}}

Snapshot ladders are ascending by price, best bid last, and a side's key is absent when that
side has no bids. Prices are 4-decimal dollar strings and sizes 2-decimal contract strings,
written from exact integers (centi-cents, centi-contracts) by :mod:`kcap.fixedpoint`.
Kalshi's ``market_id`` is omitted: the sources do not carry it. Compact JSON, keys in the order
above. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal

import msgspec

from kcap.fixedpoint import format_price, format_size

_encode = msgspec.json.Encoder().encode


def ladder_fp(ladder: Mapping[int, int]) -> list[list[str]]:
    """A ladder ``{price_cc: size_cx}`` as Kalshi's ``[[price_dollars, count_fp], ...]``."""
    return [[format_price(price), format_size(ladder[price])] for price in sorted(ladder)]


def snapshot_frame(
    sid: int, seq: int, market_ticker: str, yes: Mapping[int, int], no: Mapping[int, int]
) -> bytes:
    """An ``orderbook_snapshot`` frame.

    Args:
        sid: subscription id. seq: the sid's sequence number.
        market_ticker: Kalshi market ticker.
        yes: YES bid ladder, ``{price_cc: size_cx}`` (sizes > 0). no: NO bid ladder.

    Returns:
        The frame's bytes (compact JSON, no line break).
    """
    msg: dict[str, Any] = {"market_ticker": market_ticker}
    if yes:
        msg["yes_dollars_fp"] = ladder_fp(yes)
    if no:
        msg["no_dollars_fp"] = ladder_fp(no)
    return _encode({"type": "orderbook_snapshot", "sid": sid, "seq": seq, "msg": msg})


@lru_cache(maxsize=1024)
def _json_text(text: str) -> str:
    """``text`` as a JSON string literal (quoted and escaped), memoised: tickers repeat."""
    return _encode(text).decode()


@lru_cache(maxsize=4096)
def _price_text(price: int) -> str:
    return format_price(price)


@lru_cache(maxsize=4096)
def _size_text(size: int) -> str:
    return format_size(size)


def delta_frame(
    sid: int,
    seq: int,
    market_ticker: str,
    side: Literal["yes", "no"],
    price: int,
    delta: int,
    ts_ms: int,
) -> bytes:
    """An ``orderbook_delta`` frame: ``delta`` centi-contracts added to one level.

    Args:
        sid: subscription id. seq: the sid's sequence number.
        market_ticker: Kalshi market ticker.
        side: the bid ladder, ``"yes"`` or ``"no"``.
        price: the level's price, centi-cents.
        delta: signed size change, centi-contracts (negative removes contracts).
        ts_ms: the change's time, Unix milliseconds.

    Returns:
        The frame's bytes (compact JSON, no line break), the same bytes as encoding
        ``{"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": {"market_ticker": ...,
        "price_dollars": ..., "delta_fp": ..., "side": side, "ts_ms": ts_ms}}``: built from a
        template because the converters make millions of them.
    """
    if side not in ("yes", "no"):
        raise ValueError(f"expected side 'yes' or 'no', got {side!r}")
    return (
        f'{{"type":"orderbook_delta","sid":{int(sid)},"seq":{int(seq)},"msg":{{"market_ticker":'
        f'{_json_text(market_ticker)},"price_dollars":"{_price_text(price)}","delta_fp":'
        f'"{_size_text(delta)}","side":"{side}","ts_ms":{int(ts_ms)}}}}}'
    ).encode()


def ladder_changes(old: Mapping[int, int], new: Mapping[int, int]) -> list[tuple[int, int]]:
    """The level changes that turn ladder ``old`` into ``new``, ascending by price.

    Args:
        old: ``{price_cc: size_cx}`` before. new: ``{price_cc: size_cx}`` after.

    Returns:
        ``[(price_cc, delta_cx), ...]`` for every price whose size differs (removed levels get
        ``-old size``), in ascending price order.
    """
    changes = []
    for price in sorted(old.keys() | new.keys()):
        delta = new.get(price, 0) - old.get(price, 0)
        if delta:
            changes.append((price, delta))
    return changes
