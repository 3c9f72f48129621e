"""Literal Kalshi frames for tests, and small builders for more of the same shape.

``DOC_*`` frames are quoted from kalshi-protocol.md (Kalshi's docs and AsyncAPI examples);
``REAL_LEVELS`` are levels from a real REST book (kalshi-headless-weather-books,
KXHIGHNY-26JUL18-T97 ... captured 2026-07-18T00:27:54Z), with fractional sizes.
"""

from __future__ import annotations

import json
from typing import Any

# kalshi-protocol.md section 12 (cheat-sheet, current wire format)
DOC_SNAPSHOT = (
    b'{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"KXHIGHNY-26NOV21-B53.5",'
    b'"market_id":"\xe2\x80\xa6","yes_dollars_fp":[["0.2700","614.00"],["0.3800","1.00"]],'
    b'"no_dollars_fp":[["0.4000","616.40"],["0.5900","6.00"]]}}'
)
DOC_DELTA = (
    b'{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"KXHIGHNY-26NOV21-B53.5",'
    b'"market_id":"\xe2\x80\xa6","price_dollars":"0.3800","delta_fp":"-1.00","side":"yes","ts_ms":1763720000000}}'
)
# kalshi-protocol.md section 4.2: the official current example (3-dp price "0.960") ...
DOC_FED_SNAPSHOT = (
    b'{"type": "orderbook_snapshot", "sid": 2, "seq": 2,\n "msg": {"market_ticker": "FED-23DEC-T3.00",'
    b' "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1",'
    b' "yes_dollars_fp": [["0.0800", "300.00"], ["0.2200", "333.00"]],'
    b' "no_dollars_fp":  [["0.5400", "20.00"],  ["0.5600", "146.00"]]}}'
)
DOC_FED_DELTA = (
    b'{"type": "orderbook_delta", "sid": 2, "seq": 3, "msg": {"market_ticker": "FED-23DEC-T3.00",'
    b' "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1", "price_dollars": "0.960", "delta_fp": "-54.00",'
    b' "side": "yes", "ts": "2022-11-22T20:44:01Z", "ts_ms": 1669149841000}}'
)
# ... and the legacy (pre 2026-03-12) encoding of the same book, from the 2026-03 AsyncAPI
DOC_FED_SNAPSHOT_LEGACY = (
    b'{"type": "orderbook_snapshot", "sid": 2, "seq": 2, "msg": {"market_ticker": "FED-23DEC-T3.00",'
    b' "market_id": "9b0f6b43", "yes": [[8, 300], [22, 333]],'
    b' "yes_dollars": [["0.080", 300], ["0.220", 333]],'
    b' "no": [[54, 20], [56, 146]], "no_dollars": [["0.540", 20], ["0.560", 146]]}}'
)
DOC_FED_DELTA_LEGACY = (
    b'{"type": "orderbook_delta", "sid": 2, "seq": 3, "msg": {"market_ticker": "FED-23DEC-T3.00",'
    b' "market_id": "9b0f6b43", "price": 96, "price_dollars": "0.960", "delta": -54, "delta_fp": "-54.00",'
    b' "side": "yes", "ts": "2022-11-22T20:44:01Z"}}'
)
DOC_TRADE = (
    b'{"type": "trade", "sid": 11, "msg": {"trade_id": "d91bc706-ee49-470d-82d8-11418bda6fed",'
    b' "market_ticker": "HIGHNY-22DEC23-B53.5", "yes_price_dollars": "0.360", "no_price_dollars": "0.640",'
    b' "count_fp": "136.00", "taker_side": "no", "taker_outcome_side": "no", "taker_book_side": "ask",'
    b' "is_block_trade": false, "ts": 1669149841, "ts_ms": 1669149841000}}'
)
DOC_TICKER = (
    b'{"type": "ticker", "sending_ts_ms": 1669149841123, "sid": 11, "msg": {"market_id": "9b0f6b43",'
    b' "market_ticker": "FED-23DEC-T3.00", "price_dollars": "0.4800", "yes_bid_dollars": "0.4500",'
    b' "yes_ask_dollars": "0.5300", "volume_fp": "33896.00", "open_interest_fp": "20422.00",'
    b' "dollar_volume": 16948, "dollar_open_interest": 10211, "yes_bid_size_fp": "300.00",'
    b' "yes_ask_size_fp": "150.00", "last_trade_size_fp": "25.00", "ts": 1669149841,'
    b' "ts_ms": 1669149841000, "time": "2022-11-22T20:44:01Z"}}'
)
DOC_LIFECYCLE = (
    b'{"type": "market_lifecycle_v2", "sending_ts_ms": 1669149841234, "sid": 13, "seq": 5,'
    b' "msg": {"event_type": "metadata_updated", "market_ticker": "KXBTC-25APR30-T0915-B95000",'
    b' "strike_type": "between", "floor_strike": 95000, "cap_strike": 95250}}'
)
DOC_SUBSCRIBED = b'{"id": 1, "type": "subscribed", "msg": {"channel": "orderbook_delta", "sid": 1}}'
DOC_UNSUBSCRIBED = b'{"id": 102, "sid": 2, "seq": 7, "type": "unsubscribed"}'
DOC_OK_UPDATE = b'{"id": 123, "sid": 456, "seq": 222, "type": "ok", "msg": {"market_tickers": ["MARKET-1", "MARKET-2", "MARKET-3"]}}'
DOC_OK_LIST = b'{"id": 3, "type": "ok", "msg": [{"channel": "orderbook_delta", "sid": 1}, {"channel": "ticker", "sid": 2}]}'
DOC_ERROR = b'{"id": 127, "type": "error", "msg": {"code": 16, "msg": "Market not found", "market_ticker": "INVALID-MARKET"}}'
DOC_FILL = (
    b'{"type": "fill", "sid": 13, "msg": {"trade_id": "d91bc706", "order_id": "ee587a1c",'
    b' "market_ticker": "HIGHNY-22DEC23-B53.5", "is_taker": true, "side": "yes", "yes_price_dollars": "0.750",'
    b' "count_fp": "278.00", "fee_cost": "0.0342", "action": "buy", "ts": 1671899397, "ts_ms": 1671899397000,'
    b' "post_position_fp": "500.00", "purchased_side": "yes", "outcome_side": "yes", "book_side": "bid",'
    b' "exchange_index": 0, "client_order_id": "my-order-1", "subaccount": 3}}'
)
DOC_EVENT_FEE = (
    b'{"type": "event_fee_update", "sending_ts_ms": 1669149841234, "sid": 5, "seq": 9,'
    b' "msg": {"event_ticker": "KXBTCD-26MAY2018", "fee_type_override": "quadratic", "fee_multiplier_override": 1}}'
)
DOC_EVENT_LIFECYCLE = (
    b'{"type": "event_lifecycle", "sending_ts_ms": 1669149841234, "sid": 5, "seq": 8,'
    b' "msg": {"event_ticker": "KXQUICKSETTLE-26JAN25H2150", "exchange_index": 0,'
    b' "title": "What will 1+1 equal on Jan 25 at 21:50?", "subtitle": "Jan 25 at 21:50",'
    b' "collateral_return_type": "MECNET", "series_ticker": "KXQUICKSETTLE"}}'
)

# Real REST levels (ascending, Kalshi's own strings), fractional sizes included.
REAL_NO_LEVELS = [
    ["0.0100", "311.00"],
    ["0.0400", "11.00"],
    ["0.0500", "100.00"],
    ["0.7600", "50.10"],
    ["0.7700", "7.00"],
    ["0.7800", "2.10"],
    ["0.8000", "6.35"],
    ["0.9500", "5.00"],
]
REAL_YES_LEVELS = [["0.0100", "3327.00"], ["0.0200", "508.00"], ["0.0300", "17.02"]]


def frame(obj: dict[str, Any]) -> bytes:
    """Compact JSON bytes, as Kalshi sends them."""
    return json.dumps(obj, separators=(",", ":")).encode()


def snapshot(
    ticker: str, yes: list[list[str]], no: list[list[str]], *, sid: int = 1, seq: int | None = 1
) -> bytes:
    """A current-format ``orderbook_snapshot`` (a side key is absent when it is empty)."""
    msg: dict[str, Any] = {"market_ticker": ticker}
    if yes:
        msg["yes_dollars_fp"] = yes
    if no:
        msg["no_dollars_fp"] = no
    env: dict[str, Any] = {"type": "orderbook_snapshot", "sid": sid}
    if seq is not None:
        env["seq"] = seq
    env["msg"] = msg
    return frame(env)


def delta(ticker: str, side: str, price: str, size: str, *, sid: int = 1, seq: int = 2) -> bytes:
    """A current-format ``orderbook_delta``."""
    return frame(
        {
            "type": "orderbook_delta",
            "sid": sid,
            "seq": seq,
            "msg": {
                "market_ticker": ticker,
                "price_dollars": price,
                "delta_fp": size,
                "side": side,
            },
        }
    )
