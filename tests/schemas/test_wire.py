from __future__ import annotations

import pytest

from frames import (
    DOC_ERROR,
    DOC_EVENT_FEE,
    DOC_EVENT_LIFECYCLE,
    DOC_FED_DELTA,
    DOC_FED_SNAPSHOT_LEGACY,
    DOC_FILL,
    DOC_LIFECYCLE,
    DOC_OK_LIST,
    DOC_OK_UPDATE,
    DOC_SUBSCRIBED,
    DOC_TICKER,
    DOC_TRADE,
    DOC_UNSUBSCRIBED,
    frame,
)
from kcap.schemas import wire
from kcap.schemas.wire import decode_frame, decode_frames, message_type


def test_current_delta_keeps_kalshis_strings() -> None:
    m = decode_frame(DOC_FED_DELTA)
    assert isinstance(m, wire.OrderbookDelta)
    assert (m.sid, m.seq) == (2, 3)
    assert (m.msg.price_dollars, m.msg.delta_fp, m.msg.side, m.msg.ts_ms) == (
        "0.960",
        "-54.00",
        "yes",
        1669149841000,
    )


def test_legacy_snapshot_decodes_all_three_encodings() -> None:
    m = decode_frame(DOC_FED_SNAPSHOT_LEGACY)
    assert isinstance(m, wire.OrderbookSnapshot)
    assert m.msg.yes == [(8, 300), (22, 333)]
    assert m.msg.yes_dollars == [("0.080", 300), ("0.220", 333)]
    assert m.msg.yes_dollars_fp is None


@pytest.mark.parametrize(
    ("data", "cls", "check"),
    [
        (
            DOC_TRADE,
            wire.Trade,
            lambda m: m.msg.count_fp == "136.00" and m.msg.taker_book_side == "ask",
        ),
        (
            DOC_TICKER,
            wire.Ticker,
            lambda m: m.sending_ts_ms == 1669149841123 and m.msg.yes_ask_dollars == "0.5300",
        ),
        (DOC_LIFECYCLE, wire.MarketLifecycle, lambda m: m.msg.cap_strike == 95250 and m.seq == 5),
        (
            DOC_EVENT_LIFECYCLE,
            wire.EventLifecycle,
            lambda m: m.msg.series_ticker == "KXQUICKSETTLE",
        ),
        (DOC_EVENT_FEE, wire.EventFeeUpdate, lambda m: m.msg.fee_type_override == "quadratic"),
        (DOC_FILL, wire.Fill, lambda m: m.msg.fee_cost == "0.0342" and m.msg.is_taker),
        (
            DOC_SUBSCRIBED,
            wire.Subscribed,
            lambda m: (m.id, m.msg.channel, m.msg.sid) == (1, "orderbook_delta", 1),
        ),
        (DOC_UNSUBSCRIBED, wire.Unsubscribed, lambda m: (m.sid, m.seq) == (2, 7)),
        (
            DOC_OK_UPDATE,
            wire.Ok,
            lambda m: m.msg.market_tickers == ["MARKET-1", "MARKET-2", "MARKET-3"],
        ),
        (
            DOC_OK_LIST,
            wire.Ok,
            lambda m: [s.channel for s in m.msg] == ["orderbook_delta", "ticker"],
        ),
        (
            DOC_ERROR,
            wire.Error,
            lambda m: (m.msg.code, m.msg.market_ticker) == (16, "INVALID-MARKET"),
        ),
    ],
)
def test_doc_frames_decode_to_their_types(data: bytes, cls: type, check) -> None:  # type: ignore[no-untyped-def]
    m = decode_frame(data)
    assert type(m) is cls
    assert check(m)


@pytest.mark.parametrize(
    ("type_", "msg"),
    [
        ("market_position", {"market_ticker": "M", "position_fp": "5.00", "position_cost": 12000}),
        (
            "user_order",
            {"order_id": "o1", "ticker": "M", "status": "resting", "yes_price_dollars": "0.4400"},
        ),
        (
            "order_group_updates",
            {"event_type": "triggered", "order_group_id": "g1", "contracts_limit_fp": "10.00"},
        ),
        (
            "rfq_created",
            {
                "id": "r1",
                "market_ticker": "M",
                "contracts_fp": "100.00",
                "created_ts": "2026-01-01T00:00:00Z",
            },
        ),
        ("rfq_deleted", {"id": "r1", "market_ticker": "M", "deleted_ts": "2026-01-01T00:00:00Z"}),
        ("quote_created", {"quote_id": "q1", "rfq_id": "r1", "yes_bid_dollars": "0.4000"}),
        ("quote_accepted", {"quote_id": "q1", "rfq_id": "r1", "accepted_side": "yes"}),
        (
            "quote_executed",
            {"quote_id": "q1", "rfq_id": "r1", "order_id": "o1", "executed_ts": "x"},
        ),
    ],
)
def test_private_and_communications_messages_decode(type_: str, msg: dict[str, object]) -> None:
    m = decode_frame(frame({"type": type_, "sid": 9, "msg": msg}))
    assert message_type(m) == type_
    assert type(m) is wire.MESSAGE_TYPES[type_]


def test_unknown_fields_are_ignored() -> None:
    m = decode_frame(
        b'{"type":"trade","sid":1,"new_field":[1,2],"msg":{"market_ticker":"M","Clock":7}}'
    )
    assert isinstance(m, wire.Trade) and m.msg.market_ticker == "M"


def test_unknown_type_survives_raw() -> None:
    data = b'{"type":"multivariate_lookup","sid":4,"seq":9,"msg":{"collection_ticker":"C"}}'
    m = decode_frame(data)
    assert m == wire.UnknownMessage(type="multivariate_lookup", raw=data, sid=4, seq=9)


@pytest.mark.parametrize(
    "data",
    [
        b'{"type":"orderbook_del',
        b"not json",
        b"[1,2]",
        b'{"type":"orderbook_delta","sid":1,"seq":"x","msg":{}}',
        b"",
    ],
)
def test_malformed_frames_keep_their_bytes_and_say_why(data: bytes) -> None:
    m = decode_frame(data)
    assert isinstance(m, wire.MalformedFrame)
    assert m.raw == data and m.error


def test_decode_frames_matches_decode_frame() -> None:
    frames = [DOC_TRADE, b"junk", DOC_FED_DELTA, b'{"type":"new_thing"}']
    assert decode_frames(frames) == [decode_frame(f) for f in frames]


def test_channel_names_are_kalshis() -> None:
    assert "trade" in wire.CHANNEL_TYPES and "trades" not in wire.CHANNEL_TYPES
    assert wire.CHANNEL_TYPES["market_positions"] == ("market_position",)
    for types in wire.CHANNEL_TYPES.values():
        assert set(types) <= set(wire.MESSAGE_TYPES)
