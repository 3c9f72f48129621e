"""The pure session protocol: literal frames in, commands and control records out."""

from __future__ import annotations

import json
from typing import Any

from frames import (
    DOC_DELTA,
    DOC_ERROR,
    DOC_LIFECYCLE,
    DOC_SNAPSHOT,
    DOC_SUBSCRIBED,
    delta,
    frame,
    snapshot,
)
from kcap.book import BookBuilder
from kcap.capture.session import Note, Reconnect, Send, Session
from kcap.schemas import wire

A = "KXHIGHNY-26NOV21-B53.5"
B = "KXHIGHNY-26NOV21-T51"
S = 1_000_000_000


def sent(outputs: list[Any]) -> list[dict[str, Any]]:
    return [json.loads(o.data) for o in outputs if isinstance(o, Send)]


def notes(outputs: list[Any], kind: str | None = None) -> list[Note]:
    return [o for o in outputs if isinstance(o, Note) and (kind is None or o.kind == kind)]


def subscribed(cmd_id: int, channel: str, sid: int) -> bytes:
    return frame({"id": cmd_id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}})


def book_session(**kwargs: Any) -> Session:
    """A session subscribed to orderbook_delta for A and B on sid 1, initial snapshots in."""
    session = Session(("orderbook_delta",), [A, B], **kwargs)
    session.start(0)
    session.receive(subscribed(1, "orderbook_delta", 1), 1)
    session.receive(snapshot(A, [["0.3000", "10.00"]], [["0.5000", "4.50"]], seq=1), 2)
    session.receive(snapshot(B, [["0.0100", "1.00"]], [], seq=2), 3)
    return session


def test_start_subscribes_global_channels_first_then_markets_in_chunks() -> None:
    session = Session(
        ("orderbook_delta", "trade", "market_lifecycle_v2"),
        [f"M-{i:03d}" for i in range(5)],
        chunk_markets=2,
    )
    commands = sent(session.start(0))
    assert commands[0] == {
        "id": 1,
        "cmd": "subscribe",
        "params": {"channels": ["market_lifecycle_v2"]},
    }
    assert [c["id"] for c in commands] == [1, 2, 3, 4]
    assert [c["params"]["market_tickers"] for c in commands[1:]] == [
        ["M-000", "M-001"],
        ["M-002", "M-003"],
        ["M-004"],
    ]
    assert all(c["params"]["channels"] == ["orderbook_delta", "trade"] for c in commands[1:])
    assert session.pending_commands == 4


def test_command_bytes_are_compact_json() -> None:
    out = Session(("trade",), [A]).start(0)
    assert isinstance(out[0], Send)
    assert out[0].data == (
        b'{"id":1,"cmd":"subscribe","params":{"channels":["trade"],"market_tickers":["'
        + A.encode()
        + b'"]}}'
    )


def test_subscribed_ack_maps_sid_to_channel_and_markets() -> None:
    session = Session(("orderbook_delta",), [A])
    session.start(0)
    out = session.receive(DOC_SUBSCRIBED, 5)
    (note,) = notes(out, "subscription")
    assert note.info == {"sid": 1, "channel": "orderbook_delta", "markets": [A], "id": 1}
    assert session.subs[1].channel == "orderbook_delta"
    assert session.pending_commands == 0


def test_one_ack_per_channel_of_a_multi_channel_subscribe() -> None:
    session = Session(("orderbook_delta", "trade"), [A])
    session.start(0)
    session.receive(subscribed(1, "orderbook_delta", 1), 1)
    assert session.pending_commands == 1
    session.receive(subscribed(1, "trade", 2), 2)
    assert session.pending_commands == 0
    assert {s.sid: s.channel for s in session.subs.values()} == {1: "orderbook_delta", 2: "trade"}


def test_in_order_frames_produce_nothing() -> None:
    session = Session(("orderbook_delta",), [A])
    session.start(0)
    session.receive(DOC_SUBSCRIBED, 1)
    assert session.receive(DOC_SNAPSHOT, 2) == []
    assert session.receive(DOC_DELTA, 3) == []
    assert session.counts["orderbook_delta"] == 1
    assert session.subs[1].valid == {A}


def test_gap_gives_gap_record_then_get_snapshot_for_every_market_of_the_sid() -> None:
    session = book_session()
    out = session.receive(delta(A, "yes", "0.3000", "1.00", seq=5), 10)  # 3 and 4 lost
    gap, resnap = notes(out)
    assert gap.kind == "gap"
    assert gap.info == {
        "sid": 1,
        "channel": "orderbook_delta",
        "expected": 3,
        "received": 5,
        "reason": "gap",
        "markets": [A, B],
    }
    assert resnap.kind == "resnapshot"
    assert resnap.info["method"] == "get_snapshot"
    (command,) = sent(out)
    assert command == {
        "id": 2,
        "cmd": "update_subscription",
        "params": {"sids": [1], "market_tickers": [A, B], "action": "get_snapshot"},
    }
    assert resnap.info["id"] == command["id"]
    assert [type(o) for o in out] == [Note, Note, Send]  # recorded in this order
    assert session.gaps == 1


def test_duplicate_and_regression_are_breaks_too() -> None:
    session = book_session()
    out = session.receive(snapshot(B, [], [], seq=2), 10)  # seq 2 again
    assert notes(out, "gap")[0].info["reason"] == "duplicate"
    session = book_session()
    out = session.receive(delta(A, "yes", "0.3000", "1.00", seq=1), 10)
    assert notes(out, "gap")[0].info["reason"] == "regression"


def test_no_second_request_while_snapshots_are_outstanding() -> None:
    session = book_session()
    session.receive(delta(A, "yes", "0.3000", "1.00", seq=5), 10)
    out = session.receive(delta(A, "yes", "0.3000", "1.00", seq=4), 11)  # reordered
    assert notes(out, "gap") and not sent(out)
    out = session.receive(delta(A, "yes", "0.3000", "1.00", seq=6), 12)
    assert notes(out, "gap") and not sent(out)


def test_snapshot_replies_make_the_sid_whole_again() -> None:
    session = book_session()
    session.receive(delta(A, "yes", "0.3000", "1.00", seq=5), 10)
    assert session.subs[1].outstanding == {A, B}
    session.receive(snapshot(A, [], [], seq=6), 11)
    session.receive(snapshot(B, [], [], seq=7), 12)
    assert session.subs[1].outstanding == set()
    assert session.subs[1].valid == {A, B}
    assert session.receive(delta(A, "yes", "0.3000", "1.00", seq=8), 13) == []


def test_a_snapshot_that_breaks_seq_requests_only_the_other_markets() -> None:
    session = book_session()
    out = session.receive(snapshot(A, [], [], seq=9), 10)
    (command,) = sent(out)
    assert command["params"]["market_tickers"] == [B]
    assert session.subs[1].valid == {A}


def test_breaks_that_keep_coming_escalate_to_resubscribe() -> None:
    session = book_session(max_breaks_recovering=1)
    session.receive(delta(A, "yes", "0.3000", "1.00", seq=5), 10)
    session.receive(delta(A, "yes", "0.3000", "1.00", seq=9), 11)
    out = session.receive(delta(A, "yes", "0.3000", "1.00", seq=20), 12)
    commands = sent(out)
    assert [c["cmd"] for c in commands] == ["unsubscribe", "subscribe"]
    assert commands[0]["params"] == {"sids": [1]}
    assert commands[1]["params"] == {"channels": ["orderbook_delta"], "market_tickers": [A, B]}
    assert notes(out, "resnapshot")[0].info["method"] == "resubscribe"
    # the old sid is no longer checked; the new one starts over
    assert session.receive(delta(A, "yes", "0.3000", "1.00", seq=50), 13) == []
    assert [c["id"] for c in commands] == [3, 4]
    session.receive(frame({"id": 3, "sid": 1, "seq": 50, "type": "unsubscribed"}), 14)
    assert 1 not in session.subs
    session.receive(subscribed(4, "orderbook_delta", 2), 15)
    assert session.subs[2].markets == {A, B}


def test_resubscribe_method() -> None:
    session = book_session(resnapshot="resubscribe")
    out = session.receive(delta(A, "yes", "0.3000", "1.00", seq=5), 10)
    assert [c["cmd"] for c in sent(out)] == ["unsubscribe", "subscribe"]


def test_refused_get_snapshot_falls_back_to_resubscribe() -> None:
    session = book_session()
    session.receive(delta(A, "yes", "0.3000", "1.00", seq=5), 10)
    refusal = frame({"id": 2, "type": "error", "msg": {"code": 13, "msg": "Unsupported action"}})
    out = session.receive(refusal, 11)
    (error,) = notes(out, "error")
    assert error.info == {
        "id": 2,
        "cmd": "update_subscription",
        "code": 13,
        "message": "Unsupported action",
        "action": "get_snapshot",
    }
    assert [c["cmd"] for c in sent(out)] == ["unsubscribe", "subscribe"]
    assert session.errors == 1 and session.last_error == "13: Unsupported action"


def test_error_frame_is_noted_with_its_command() -> None:
    session = Session(("trade",), ["INVALID-MARKET"])
    for _ in range(127):
        session.start(0)  # ids up to 127
    out = session.receive(DOC_ERROR, 5)
    (error,) = notes(out, "error")
    assert error.info["code"] == 16
    assert error.info["market_ticker"] == "INVALID-MARKET"
    assert error.info["cmd"] == "subscribe"


def test_malformed_frames_are_counted_not_fatal() -> None:
    session = book_session()
    assert session.receive(b'{"type": "orderbook_delta", "sid": ', 5) == []
    assert session.receive(b"\xff\xfe", 6) == []
    assert session.receive(b'{"type":"orderbook_delta","sid":"one"}', 7) == []
    assert session.counts["malformed"] == 3
    assert session.receive(delta(A, "yes", "0.3000", "1.00", seq=3), 8) == []


def test_unknown_types_with_seq_are_sequenced() -> None:
    session = Session(("trade",), [A])
    session.receive(frame({"type": "brand_new", "sid": 7, "seq": 1, "msg": {}}), 1)
    out = session.receive(frame({"type": "brand_new", "sid": 7, "seq": 3, "msg": {}}), 2)
    assert notes(out, "gap")[0].info["channel"] is None
    assert not sent(out)


def test_trade_gap_is_recorded_without_resnapshot() -> None:
    session = Session(("trade",), [A])
    session.start(0)
    session.receive(subscribed(1, "trade", 4), 1)
    trade = {"type": "trade", "sid": 4, "msg": {"market_ticker": A}}
    session.receive(frame({**trade, "seq": 1}), 2)
    out = session.receive(frame({**trade, "seq": 3}), 3)
    assert notes(out, "gap") and not sent(out)


def test_lifecycle_created_adds_market_of_followed_series() -> None:
    session = Session(("orderbook_delta", "market_lifecycle_v2"), [A], follow=("KXHIGHNY",))
    session.start(0)
    session.receive(subscribed(1, "market_lifecycle_v2", 9), 1)
    session.receive(subscribed(2, "orderbook_delta", 1), 2)
    new = "KXHIGHNY-26NOV22-B60.5"
    created = {
        "type": "market_lifecycle_v2",
        "sid": 9,
        "seq": 1,
        "msg": {"event_type": "created", "market_ticker": new},
    }
    out = session.receive(frame(created), 3)
    (command,) = sent(out)
    assert command["params"] == {"sids": [1], "market_tickers": [new], "action": "add_markets"}
    assert new in session.markets
    ok = {"id": command["id"], "sid": 1, "type": "ok", "msg": {"market_tickers": [A, new]}}
    out = session.receive(frame(ok), 4)
    assert notes(out, "subscription")[0].info["markets"] == [A, new]
    assert session.subs[1].markets == {A, new}
    # a market of another series is ignored
    other = {**created, "seq": 2, "msg": {"event_type": "created", "market_ticker": "KXBTC-1"}}
    assert not sent(session.receive(frame(other), 5))
    settled = {**created, "seq": 3, "msg": {"event_type": "settled", "market_ticker": new}}
    session.receive(frame(settled), 6)
    assert new not in session.markets
    assert session.receive(DOC_LIFECYCLE, 7) == []  # another sid, another series


def test_add_markets_subscribes_when_no_sid_has_room() -> None:
    session = Session(("orderbook_delta",), [], chunk_markets=1)
    assert sent(session.start(0)) == []
    commands = sent(session.add_markets([A, B], 1))
    assert [c["cmd"] for c in commands] == ["subscribe", "subscribe"]
    assert [c["params"]["market_tickers"] for c in commands] == [[A], [B]]
    assert session.add_markets([A], 2) == []


def test_tick_reconnects_when_a_command_is_not_answered() -> None:
    session = Session(("trade",), [A], ack_timeout_ns=5 * S)
    session.start(0)
    assert session.tick(5 * S) == []
    out = session.tick(6 * S)
    assert isinstance(out[-1], Reconnect)
    assert "no answer to subscribe id 1" in out[-1].reason
    assert notes(out, "error")


def test_tick_resubscribes_when_snapshots_do_not_come() -> None:
    session = book_session(ack_timeout_ns=5 * S)
    session.receive(delta(A, "yes", "0.3000", "1.00", seq=5), 10)
    session.receive(frame({"id": 2, "sid": 1, "type": "ok"}), 11)  # get_snapshot acked
    assert sent(session.tick(5 * S)) == []
    assert [c["cmd"] for c in sent(session.tick(6 * S))] == ["unsubscribe", "subscribe"]


def test_session_breaks_where_the_book_builder_breaks() -> None:
    """Replaying the same frames, BookBuilder reports a gap exactly where the session did."""
    frames = [
        snapshot(A, [["0.3000", "10.00"]], [], seq=1),
        snapshot(B, [["0.0100", "1.00"]], [], seq=2),
        delta(A, "yes", "0.3000", "1.00", seq=3),
        delta(A, "yes", "0.3000", "1.00", seq=3),  # duplicate
        delta(B, "yes", "0.0100", "1.00", seq=5),  # gap
        delta(B, "yes", "0.0100", "1.00", seq=4),  # regression
        snapshot(A, [], [], seq=6),
    ]
    session = Session(("orderbook_delta",), [A, B])
    session.start(0)
    builder = BookBuilder()
    for i, data in enumerate(frames):
        out = session.receive(data, i)
        builder.apply("c", wire.decode_frame(data), i)
        ours = [(n.info["expected"], n.info["received"]) for n in notes(out, "gap")]
        theirs = [(e.expected, e.received) for e in builder.take_events() if hasattr(e, "expected")]
        assert ours == theirs, i
