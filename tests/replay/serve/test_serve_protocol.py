from __future__ import annotations

import json
from typing import Any

import pytest

from frames import DOC_EVENT_LIFECYCLE, delta, snapshot
from kcap.replay.serve.feed import Feed
from kcap.replay.serve.markets import MarketCatalog
from kcap.replay.serve.protocol import ERRORS, Outgoing, Session
from kcap.schemas import wire
from kcap.schemas.wire import decode_frame
from serve_captures import B385, T36, T42, lifecycle, ticker, trade

MARKETS = [B385, T36, T42]


@pytest.fixture
def feed() -> Feed:
    catalog = MarketCatalog()
    catalog.scan([wire.OrderbookSnapshot(wire.OrderbookSnapshotMsg(t)) for t in MARKETS], [0] * 3)
    feed = Feed(catalog)
    for i, frame in enumerate(
        [
            snapshot(B385, [["0.3000", "10.00"]], [["0.5000", "4.50"]], seq=1),
            snapshot(T36, [], [["0.9700", "2.00"]], seq=2),
            ticker(B385, "0.3100"),
        ]
    ):
        feed.step("frame", "rec.1", decode_frame(frame), frame, i + 1)
    return feed


def send(session: Session, command: dict[str, Any] | bytes) -> list[dict[str, Any]]:
    data = command if isinstance(command, bytes) else json.dumps(command).encode()
    return [json.loads(o.frame) for o in session.receive(data)]


def subscribe_book(session: Session, ticker: str) -> list[dict[str, Any]]:
    """Command 1: subscribe to ``orderbook_delta`` for one market."""
    params = {"channels": ["orderbook_delta"], "market_tickers": [ticker]}
    return send(session, {"id": 1, "cmd": "subscribe", "params": params})


def route(session: Session, feed: Feed, frame: bytes, t: int = 100) -> list[Outgoing]:
    out: list[Outgoing] = []
    for event in feed.step("frame", "rec.1", decode_frame(frame), frame, t):
        out += session.route(event)
    return out


def test_subscribe_orderbook_sends_subscribed_then_snapshots_then_deltas(feed: Feed) -> None:
    session = Session(feed)
    params = {"channels": ["orderbook_delta"], "market_tickers": [B385, T36, B385]}
    replies = send(session, {"id": 1, "cmd": "subscribe", "params": params})
    assert replies[0] == {
        "id": 1,
        "type": "subscribed",
        "msg": {"channel": "orderbook_delta", "sid": 1},
    }
    assert [(r["type"], r["sid"], r["seq"], r["msg"]["market_ticker"]) for r in replies[1:]] == [
        ("orderbook_snapshot", 1, 1, B385),
        ("orderbook_snapshot", 1, 2, T36),
    ]
    assert replies[1]["msg"]["yes_dollars_fp"] == [["0.3000", "10.00"]]
    assert "yes_dollars_fp" not in replies[2]["msg"]  # empty side left out
    out = route(session, feed, delta(B385, "yes", "0.3000", "-10.00", seq=3))
    assert [(o.type, o.sid, o.seq, o.data) for o in out] == [("orderbook_delta", 1, 3, True)]
    assert route(session, feed, delta(T42, "yes", "0.3000", "1.00", seq=4)) == []  # not subscribed


def test_one_subscribed_per_channel_and_single_market_ticker(feed: Feed) -> None:
    session = Session(feed)
    params = {"channels": ["trade", "ticker", "market_lifecycle_v2"], "market_ticker": T36}
    replies = send(session, {"id": 7, "cmd": "subscribe", "params": params})
    assert [(r["msg"]["channel"], r["msg"]["sid"]) for r in replies] == [
        ("trade", 1),
        ("ticker", 2),
        ("market_lifecycle_v2", 3),
    ]
    assert [o.sid for o in route(session, feed, trade(T36, "0.0300", "1.00"))] == [1]
    assert route(session, feed, trade(B385, "0.3000", "1.00")) == []
    # lifecycle ignores market filters: every market, and event-level frames too
    assert [o.sid for o in route(session, feed, lifecycle(B385, "settled"))] == [3]
    assert [o.sid for o in route(session, feed, DOC_EVENT_LIFECYCLE)] == [3]


def test_ticker_has_no_seq_and_all_markets_without_a_filter(feed: Feed) -> None:
    session = Session(feed)
    send(session, {"id": 1, "cmd": "subscribe", "params": {"channels": ["ticker", "trade"]}})
    (tick,) = route(session, feed, ticker(T42, "0.0200"))
    assert (tick.sid, tick.seq) == (1, None) and b'"seq"' not in tick.frame
    (tr,) = route(session, feed, trade(T42, "0.0200", "1.00"))
    assert (tr.sid, tr.seq) == (2, 1)


def test_send_initial_snapshot_on_ticker(feed: Feed) -> None:
    session = Session(feed)
    params = {"channels": ["ticker"], "market_tickers": [B385, T36], "send_initial_snapshot": True}
    replies = send(session, {"id": 1, "cmd": "subscribe", "params": params})
    assert [r["type"] for r in replies] == ["subscribed", "ticker"]
    assert replies[1]["msg"]["price_dollars"] == "0.3100" and "seq" not in replies[1]


def test_two_subscriptions_to_one_channel_are_independent(feed: Feed) -> None:
    session = Session(feed)
    send(
        session,
        {"id": 1, "cmd": "subscribe", "params": {"channels": ["trade"], "market_tickers": [B385]}},
    )
    send(session, {"id": 2, "cmd": "subscribe", "params": {"channels": ["trade"]}})
    out = route(session, feed, trade(B385, "0.3000", "1.00"))
    assert [(o.sid, o.seq) for o in out] == [(1, 1), (2, 1)]


def test_unsubscribe_and_list_subscriptions(feed: Feed) -> None:
    session = Session(feed)
    subscribe_book(session, B385)
    send(session, {"id": 2, "cmd": "subscribe", "params": {"channels": ["trade"]}})
    listing = send(session, {"id": 3, "cmd": "list_subscriptions"})
    assert listing == [
        {
            "id": 3,
            "type": "ok",
            "msg": [{"channel": "orderbook_delta", "sid": 1}, {"channel": "trade", "sid": 2}],
        }
    ]
    replies = send(session, {"id": 4, "cmd": "unsubscribe", "params": {"sids": [1, 9, 2]}})
    assert replies == [
        {"id": 4, "sid": 1, "seq": 1, "type": "unsubscribed"},
        {"id": 4, "type": "error", "msg": {"code": 7, "msg": "Unknown subscription ID"}},
        {"id": 4, "sid": 2, "type": "unsubscribed"},
    ]
    assert not session.subscribed
    assert route(session, feed, delta(B385, "yes", "0.3000", "1.00", seq=3)) == []
    assert send(session, {"id": 5, "cmd": "list_subscriptions"})[0]["msg"] == []


def test_update_add_delete_and_skip_ticker_ack(feed: Feed) -> None:
    session = Session(feed)
    subscribe_book(session, B385)
    add = {"sids": [1], "market_tickers": [T36, B385], "action": "add_markets"}
    replies = send(session, {"id": 2, "cmd": "update_subscription", "params": add})
    assert replies[0] == {
        "id": 2,
        "sid": 1,
        "seq": 1,
        "type": "ok",
        "msg": {"market_tickers": [B385, T36]},
    }
    assert [(r["type"], r["seq"], r["msg"]["market_ticker"]) for r in replies[1:]] == [
        ("orderbook_snapshot", 2, T36)
    ]
    assert isinstance(decode_frame(json.dumps(replies[0]).encode()), wire.Ok)
    delete = {"sid": 1, "market_ticker": B385, "action": "delete_markets", "skip_ticker_ack": True}
    replies = send(session, {"id": 3, "cmd": "update_subscription", "params": delete})
    assert replies == [{"id": 3, "sid": 1, "seq": 2, "type": "ok"}]
    assert route(session, feed, delta(B385, "yes", "0.3000", "1.00", seq=3)) == []
    assert len(route(session, feed, delta(T36, "no", "0.9700", "1.00", seq=4))) == 1


def test_get_snapshot_answers_with_id_and_the_next_seq(feed: Feed) -> None:
    session = Session(feed)
    send(
        session,
        {
            "id": 1,
            "cmd": "subscribe",
            "params": {"channels": ["orderbook_delta"], "market_tickers": [B385, T36]},
        },
    )
    params = {"sids": [1], "market_tickers": [T36], "action": "get_snapshot"}
    replies = send(session, {"id": 5, "cmd": "update_subscription", "params": params})
    assert [(r["type"], r["id"], r["sid"], r["seq"]) for r in replies] == [
        ("orderbook_snapshot", 5, 1, 3)
    ]
    snap = decode_frame(json.dumps(replies[0]).encode())
    assert isinstance(snap, wire.OrderbookSnapshot) and snap.id == 5


def test_id_zero_and_missing_id_mean_no_id(feed: Feed) -> None:
    session = Session(feed)
    assert "id" not in send(session, {"id": 0, "cmd": "list_subscriptions"})[0]
    assert "id" not in send(session, {"cmd": "list_subscriptions"})[0]


SUB = "subscribe"
UPD = "update_subscription"
ERROR_CASES: list[tuple[str, bytes | dict[str, Any], int]] = [
    ("not json", b"{not json", 1),
    ("not an object", b"[1, 2]", 1),
    ("id not an integer", {"id": "1", "cmd": "list_subscriptions"}, 1),
    ("no params", {"id": 1, "cmd": SUB}, 2),
    ("no channels", {"id": 1, "cmd": SUB, "params": {}}, 3),
    ("empty channels", {"id": 1, "cmd": SUB, "params": {"channels": []}}, 3),
    ("no sids", {"id": 1, "cmd": "unsubscribe", "params": {}}, 4),
    ("unknown command", {"id": 1, "cmd": "subscribe_all"}, 5),
    ("no command", {"id": 1}, 5),
    (
        "unknown sid",
        {
            "id": 1,
            "cmd": UPD,
            "params": {"sid": 42, "action": "get_snapshot", "market_ticker": B385},
        },
        7,
    ),
    ("unknown channel", {"id": 1, "cmd": SUB, "params": {"channels": ["trades"]}}, 8),
    ("removed channel", {"id": 1, "cmd": SUB, "params": {"channels": ["ticker_v2"]}}, 8),
    ("channels not strings", {"id": 1, "cmd": SUB, "params": {"channels": [1]}}, 11),
    ("params not an object", {"id": 1, "cmd": SUB, "params": ["trade"]}, 11),
    (
        "both market forms",
        {
            "id": 1,
            "cmd": SUB,
            "params": {"channels": ["trade"], "market_ticker": B385, "market_tickers": [T36]},
        },
        11,
    ),
    (
        "market ids",
        {"id": 1, "cmd": SUB, "params": {"channels": ["trade"], "market_ids": ["9b0f"]}},
        11,
    ),
    (
        "tickers not a list",
        {"id": 1, "cmd": SUB, "params": {"channels": ["trade"], "market_tickers": B385}},
        11,
    ),
    (
        "flag not a bool",
        {"id": 1, "cmd": SUB, "params": {"channels": ["ticker"], "send_initial_snapshot": "yes"}},
        11,
    ),
    ("sids not integers", {"id": 1, "cmd": "unsubscribe", "params": {"sids": ["1"]}}, 11),
    (
        "sid and sids",
        {"id": 1, "cmd": UPD, "params": {"sid": 1, "sids": [1], "action": "add_markets"}},
        12,
    ),
    ("two sids", {"id": 1, "cmd": UPD, "params": {"sids": [1, 2], "action": "add_markets"}}, 12),
    ("no sid", {"id": 1, "cmd": UPD, "params": {"action": "add_markets"}}, 12),
    (
        "unknown action",
        {"id": 1, "cmd": UPD, "params": {"sid": 1, "action": "replace_markets"}},
        13,
    ),
    (
        "orderbook without markets",
        {"id": 1, "cmd": SUB, "params": {"channels": ["orderbook_delta"]}},
        14,
    ),
    ("no action", {"id": 1, "cmd": UPD, "params": {"sid": 1}}, 15),
    (
        "unknown market",
        {
            "id": 1,
            "cmd": SUB,
            "params": {"channels": ["trade"], "market_tickers": [B385, "NOPE-1"]},
        },
        16,
    ),
    (
        "shard factor zero",
        {"id": 1, "cmd": SUB, "params": {"channels": ["communications"], "shard_factor": 0}},
        19,
    ),
    (
        "shard key alone",
        {"id": 1, "cmd": SUB, "params": {"channels": ["communications"], "shard_key": 1}},
        20,
    ),
    (
        "shard key too big",
        {
            "id": 1,
            "cmd": SUB,
            "params": {"channels": ["communications"], "shard_factor": 2, "shard_key": 2},
        },
        21,
    ),
    (
        "shard factor too big",
        {"id": 1, "cmd": SUB, "params": {"channels": ["communications"], "shard_factor": 101}},
        22,
    ),
]


@pytest.mark.parametrize(
    ("command", "code"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_every_error_reply(feed: Feed, command: bytes | dict[str, Any], code: int) -> None:
    session = Session(feed)
    (reply,) = send(session, command)
    decoded = decode_frame(json.dumps(reply).encode())
    assert isinstance(decoded, wire.Error)
    assert (decoded.msg.code, decoded.msg.msg) == (code, ERRORS[code])
    expected_id = command.get("id") if isinstance(command, dict) and code != 1 else None
    assert decoded.id == expected_id
    assert not session.subscribed  # a failed command subscribes nothing


def test_unknown_market_error_names_the_market(feed: Feed) -> None:
    session = Session(feed)
    (reply,) = send(
        session, {"id": 9, "cmd": SUB, "params": {"channels": ["trade"], "market_ticker": "NOPE-1"}}
    )
    assert reply["msg"] == {"code": 16, "msg": "Market not found", "market_ticker": "NOPE-1"}


def test_update_errors_that_need_a_subscription(feed: Feed) -> None:
    session = Session(feed)
    subscribe_book(session, B385)
    send(session, {"id": 2, "cmd": SUB, "params": {"channels": ["trade"]}})
    send(session, {"id": 3, "cmd": SUB, "params": {"channels": ["market_lifecycle_v2"]}})
    cases = [
        ({"sid": 1, "action": "add_markets"}, 14, None),  # no markets named
        ({"sid": 1, "action": "get_snapshot", "market_tickers": [T36]}, 11, T36),  # not in the sid
        ({"sid": 2, "action": "get_snapshot", "market_tickers": [T36]}, 13, None),  # not a book
        ({"sid": 2, "action": "add_markets", "market_tickers": [T36]}, 13, None),  # every market
        ({"sid": 3, "action": "delete_markets", "market_tickers": [T36]}, 13, None),  # global
    ]
    for params, code, market in cases:
        (reply,) = send(session, {"id": 9, "cmd": UPD, "params": params})
        assert reply["msg"]["code"] == code, params
        assert reply["msg"].get("market_ticker") == market
    assert [s.markets for s in session.subs.values()] == [[B385], None, None]


def test_private_channels_are_accepted_and_silent(feed: Feed) -> None:
    session = Session(feed)
    replies = send(session, {"id": 1, "cmd": SUB, "params": {"channels": ["fill", "user_orders"]}})
    assert [r["type"] for r in replies] == ["subscribed", "subscribed"]
    assert route(session, feed, trade(B385, "0.3000", "1.00")) == []
