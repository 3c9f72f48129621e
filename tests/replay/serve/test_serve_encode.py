from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from frames import DOC_FED_DELTA, DOC_FED_DELTA_LEGACY, DOC_TICKER, DOC_TRADE
from kcap.book import Level, delta_level
from kcap.fixedpoint import format_price, format_size
from kcap.replay.serve import encode
from kcap.schemas import wire
from kcap.schemas.wire import decode_frame


def test_delta_current_drops_integers_and_private_fields() -> None:
    legacy = decode_frame(DOC_FED_DELTA_LEGACY)
    assert isinstance(legacy, wire.OrderbookDelta)
    msg = wire.OrderbookDeltaMsg(
        market_ticker=legacy.msg.market_ticker,
        side="yes",
        price_dollars="0.960",
        delta_fp="-54.00",
        market_id="9b0f6b43",
        ts="2022-11-22T20:44:01Z",
        client_order_id="mine",
        subaccount=3,
    )
    body = json.loads(encode.delta_body(msg, "current"))
    assert body == {
        "market_ticker": "FED-23DEC-T3.00",
        "market_id": "9b0f6b43",
        "price_dollars": "0.960",
        "delta_fp": "-54.00",
        "side": "yes",
        "ts": "2022-11-22T20:44:01Z",
    }


def test_delta_legacy_adds_exact_integers_only() -> None:
    whole = wire.OrderbookDeltaMsg(
        market_ticker="T", side="no", price_dollars="0.9600", delta_fp="-54.00"
    )
    assert json.loads(encode.delta_body(whole, "legacy")) == {
        "market_ticker": "T",
        "price": 96,
        "price_dollars": "0.9600",
        "delta": -54,
        "delta_fp": "-54.00",
        "side": "no",
    }
    subcent = wire.OrderbookDeltaMsg(
        market_ticker="T", side="no", price_dollars="0.0110", delta_fp="2.50"
    )
    body = json.loads(encode.delta_body(subcent, "legacy"))
    assert "price" not in body and "delta" not in body and body["delta_fp"] == "2.50"


def test_delta_frame_decodes_as_kalshi_sent_it() -> None:
    msg = decode_frame(DOC_FED_DELTA)
    assert isinstance(msg, wire.OrderbookDelta)
    frame = encode.data_frame(b"orderbook_delta", 2, 3, encode.delta_body(msg.msg, "current"))
    assert decode_frame(frame) == msg


def test_snapshot_current_and_legacy() -> None:
    yes = [Level(800, 30000), Level(2200, 33300)]
    current = json.loads(encode.snapshot_body("FED", yes, [], "current", market_id="m1"))
    assert current == {
        "market_ticker": "FED",
        "market_id": "m1",
        "yes_dollars_fp": [["0.0800", "300.00"], ["0.2200", "333.00"]],
    }
    legacy = json.loads(encode.snapshot_body("FED", yes, [Level(5400, 2050)], "legacy"))
    assert legacy["yes"] == [[8, 300], [22, 333]]
    assert legacy["yes_dollars"] == [["0.0800", 300], ["0.2200", 333]]
    assert "no" not in legacy and legacy["no_dollars_fp"] == [["0.5400", "20.50"]]
    empty = json.loads(encode.snapshot_body("FED", [], [], "current"))
    assert empty == {"market_ticker": "FED"}  # a side with no level is left out


def test_trade_and_ticker_conversion_both_ways() -> None:
    legacy_trade = {"market_ticker": "T", "yes_price": 36, "no_price": 64, "count": 136, "x": 1}
    assert encode.convert_msg(dict(legacy_trade), "trade", "current") == {
        "market_ticker": "T",
        "x": 1,
        "yes_price_dollars": "0.3600",
        "no_price_dollars": "0.6400",
        "count_fp": "136.00",
    }
    current_ticker = json.loads(DOC_TICKER)["msg"]
    legacy = encode.convert_msg(dict(current_ticker), "ticker", "legacy")
    assert (legacy["price"], legacy["yes_bid"], legacy["volume"]) == (48, 45, 33896)
    assert legacy["price_dollars"] == "0.4800"  # the current fields stay
    fractional = encode.convert_msg({"count_fp": "2.50"}, "trade", "legacy")
    assert "count" not in fractional


def test_passthrough_keeps_bytes_verbatim_when_nothing_to_convert() -> None:
    raw = json.dumps(json.loads(DOC_TRADE)["msg"]).encode()
    assert encode.passthrough_body(raw, "trade", False, "current") is raw
    trade = decode_frame(DOC_TRADE)
    assert isinstance(trade, wire.Trade)
    assert not encode.needs_conversion(trade.msg, "current")
    assert encode.needs_conversion(trade.msg, "legacy")


def test_envelope_and_replies_are_kalshi_shaped() -> None:
    frame = encode.data_frame(b"trade", 3, 9, b"{}", command_id=0, sending_ts_ms=5)
    assert frame == b'{"type":"trade","sid":3,"seq":9,"sending_ts_ms":5,"msg":{}}'
    snap = encode.data_frame(b"orderbook_snapshot", 1, 4, b"{}", command_id=12)
    assert json.loads(snap)["id"] == 12
    assert encode.data_frame(b"ticker", 2, None, b"{}") == b'{"type":"ticker","sid":2,"msg":{}}'
    assert encode.subscribed(1, "orderbook_delta", 1) == (
        b'{"id":1,"type":"subscribed","msg":{"channel":"orderbook_delta","sid":1}}'
    )
    assert encode.unsubscribed(102, 2, 7) == b'{"id":102,"sid":2,"seq":7,"type":"unsubscribed"}'
    assert encode.unsubscribed(None, 2, 0) == b'{"sid":2,"type":"unsubscribed"}'
    ok = encode.ok_markets(123, 456, 222, ["M1", "M2"])
    assert ok == b'{"id":123,"sid":456,"seq":222,"type":"ok","msg":{"market_tickers":["M1","M2"]}}'
    assert isinstance(decode_frame(ok), wire.Ok)
    listing = encode.ok_list(3, [("orderbook_delta", 1), ("ticker", 2)])
    assert json.loads(listing)["msg"] == [
        {"channel": "orderbook_delta", "sid": 1},
        {"channel": "ticker", "sid": 2},
    ]
    error = encode.error(127, 16, "Market not found", market_ticker="X")
    decoded = decode_frame(error)
    assert isinstance(decoded, wire.Error) and decoded.msg.code == 16 and decoded.id == 127


prices = st.integers(min_value=1, max_value=9_999)
sizes = st.integers(min_value=-(10**7), max_value=10**7).filter(bool)


@given(prices, sizes, st.sampled_from(["current", "legacy"]))
def test_delta_round_trips_through_the_book_parser(price: int, size: int, wire_format: str) -> None:
    msg = wire.OrderbookDeltaMsg(
        market_ticker="T", side="yes", price_dollars=format_price(price), delta_fp=format_size(size)
    )
    frame = encode.data_frame(b"orderbook_delta", 1, 1, encode.delta_body(msg, wire_format))  # type: ignore[arg-type]
    decoded = decode_frame(frame)
    assert isinstance(decoded, wire.OrderbookDelta)
    assert delta_level(decoded.msg) == (price, size)
