from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from captures import write_scenario
from frames import delta, snapshot
from kcap.book import BookBuilder
from kcap.replay.player import Player, ReplayConfig, decode_batch
from kcap.replay.serve.feed import Feed, FeedEvent
from kcap.replay.serve.markets import MarketCatalog, split_ticker
from kcap.schemas import wire
from kcap.schemas.wire import decode_frame
from serve_captures import B385, EVENT, T36, T42, mixed_records, write_records

Record = tuple[str, str, Any, Any, int]


def records(path: Path) -> Iterator[Record]:
    for batch in Player(ReplayConfig([path])).batches():
        yield from zip(
            batch.kind, batch.conn, decode_batch(batch), batch.frame, batch.recv_ns, strict=True
        )


def catalog_of(path: Path) -> MarketCatalog:
    catalog = MarketCatalog()
    for batch in Player(ReplayConfig([path])).batches():
        catalog.scan(decode_batch(batch), batch.recv_ns)
    return catalog


def client_of(feed: Feed) -> BookBuilder:
    """A perfect client from the start: every market's empty snapshot, as the feed published."""
    client = BookBuilder()
    for seq, ticker in enumerate(feed.catalog.tickers(), 1):
        client.apply(
            "c", wire.OrderbookSnapshot(wire.OrderbookSnapshotMsg(ticker), sid=1, seq=seq), 0
        )
    return client


def apply_events(client: BookBuilder, events: list[FeedEvent], seq: int) -> int:
    for event in events:
        seq += 1
        data = b'{"type":"%s","sid":1,"seq":%d,"msg":%s}' % (event.type.encode(), seq, event.body)
        client.apply("c", decode_frame(data), event.recv_ns)
    return seq


def assert_client_holds_the_published_books(feed: Feed, client: BookBuilder) -> None:
    for ticker in feed.catalog.tickers():
        assert client.books[ticker].levels() == feed.levels(ticker), ticker
        book = feed.master.books.get(ticker)
        if book is not None and book.valid:
            assert feed.levels(ticker) == book.levels(), ticker


def test_scenario_deltas_resnapshots_and_frozen_books(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    feed = Feed(catalog_of(path))
    client = client_of(feed)
    seq = len(feed.catalog)
    emitted = []
    for record in records(path):
        events = list(feed.step(*record))
        emitted += events
        seq = apply_events(client, events, seq)
        assert_client_holds_the_published_books(feed, client)
    assert all(b.valid for b in client.books.values()) and not client.events[2:]
    # the disconnect emptied the master's B38.5 (stale); clients keep its last valid book
    assert not feed.master.books[B385].valid and feed.master.books[B385].yes == {}
    assert feed.ladders(B385)[0] == {3000: 1000, 3200: 500, 3300: 100, 3400: 200}
    # after the gap the 0.33 delta is skipped (stale book); the resnapshot brings it, and the
    # 0.34 level the lost seq held, as two deltas
    assert [json.loads(e.body)["price_dollars"] for e in emitted[6:8]] == ["0.3300", "0.3400"]
    assert feed.counts["gaps"] == 1 and feed.counts["synthesised"] == 4 + 2 + 4


def test_forwarded_frames_and_wire_conversion(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    feed = Feed(catalog_of(path))
    events = [e for r in records(path) for e in feed.step(*r)]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_type.setdefault(e.type, []).append(json.loads(e.body))
    legacy_delta = [m for m in by_type["orderbook_delta"] if m["market_ticker"] == T36][-1]
    assert legacy_delta == {
        "market_ticker": T36,
        "price_dollars": "0.9700",
        "delta_fp": "-1.00",
        "side": "no",
    }
    trades = by_type["trade"]
    assert trades[0]["yes_price_dollars"] == "0.3200"
    assert trades[1] == {
        "trade_id": "t-KXHIGHNY-25DEC20-T36-0.0300",
        "market_ticker": T36,
        "taker_side": "no",
        "ts": 1669149841,
        "ts_ms": 1669149841000,
        "yes_price_dollars": "0.0300",
        "count_fp": "2.00",
    }
    assert by_type["ticker"][0]["Clock"] == 123  # unknown fields survive
    assert by_type["ticker"][1]["price_dollars"] == "0.0300" and "price" not in by_type["ticker"][1]
    assert [m["event_type"] for m in by_type["market_lifecycle_v2"]] == ["created", "determined"]
    ticker_event = next(e for e in events if e.type == "ticker")
    assert ticker_event.sending_ts_ms == 1669149841123
    assert feed.last_ticker[B385].body == ticker_event.body
    # a second subscription (sid 3) of the recorder feeds the same canonical stream
    assert feed.ladders(T42)[1] == {9500: 150}


def test_legacy_wire_feed_adds_integers(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    feed = Feed(catalog_of(path), "legacy")
    events = [e for r in records(path) for e in feed.step(*r)]
    first = json.loads(events[1].body)
    assert first["price"] == 30 and first["delta"] == 10 and first["price_dollars"] == "0.3000"
    trade = next(json.loads(e.body) for e in events if e.type == "trade")
    assert trade["yes_price"] == 32 and trade["count"] == 3
    body = json.loads(feed.snapshot_body(T42))
    assert body["yes_dollars_fp"] == [["0.0200", "7.25"]] and "yes" not in body


def test_catalog_from_frames_and_lifecycle(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    catalog = catalog_of(path)
    assert catalog.tickers() == [B385, T36, T42]
    assert list(catalog.events) == [EVENT]
    b385 = catalog.markets[B385]
    assert (b385.strike_type, b385.floor_strike, b385.cap_strike) == ("between", 38, 39)
    assert b385.close_ts == 1766210340 and b385.yes_sub_title == "38° to 39°"
    assert catalog.markets[T36].status == "active"  # status is live state, not scanned
    feed = Feed(catalog)
    for record in records(path):
        feed.step(*record)
    t36 = catalog.markets[T36]
    assert (t36.status, t36.result, t36.settlement_value) == ("determined", "no", "0.0000")
    assert b385.status_at(1766210340 * 10**9) == "closed"
    assert b385.status_at(1766000000 * 10**9) == "initialized"
    assert catalog.markets[B385].last_price_dollars == "0.3200"
    feed.restart()
    assert t36.status == "active"


def test_split_ticker() -> None:
    assert split_ticker("KXHIGHNY-25DEC20-B38.5") == ("KXHIGHNY-25DEC20", "KXHIGHNY")
    assert split_ticker("ODD") == ("ODD", "ODD")


def test_loop_restart_converges_through_deltas(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    feed = Feed(catalog_of(path))
    for record in records(path):
        feed.step(*record)
    before = {t: feed.levels(t) for t in feed.catalog.tickers()}
    feed.restart()
    assert {t: feed.levels(t) for t in feed.catalog.tickers()} == before  # frozen, not emptied
    second = [e for r in records(path) for e in feed.step(*r)]
    assert {t: feed.levels(t) for t in feed.catalog.tickers()} == before
    assert second  # the first snapshots of the second pass differ from the final books


# ---------------------------------------------------------------------------------------------
# property: whatever the capture does (gaps, resnapshots, disconnects), a client that applies
# every event holds the published books, and a valid master book is its published book

TICKERS = ["KXHIGHNY-25DEC20-A", "KXHIGHNY-25DEC20-B"]
level = st.tuples(
    st.sampled_from(["0.0100", "0.2500", "0.5000", "0.9900"]),
    st.sampled_from(["1.00", "2.50", "10.00"]),
)
action = st.one_of(
    st.tuples(
        st.just("snapshot"),
        st.sampled_from(TICKERS),
        st.lists(level, max_size=3),
        st.lists(level, max_size=3),
        st.sampled_from([1, 2]),  # sid 2: a second subscription takes the book over
    ),
    st.tuples(
        st.just("delta"),
        st.sampled_from(TICKERS),
        st.sampled_from(["yes", "no"]),
        level,
        st.booleans(),
        st.sampled_from([1, 2]),
    ),
    st.tuples(st.just("skip_seq")),
    st.tuples(st.just("disconnect")),
    st.tuples(st.just("restart")),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(action, max_size=40))
def test_published_books_follow_valid_master_books(actions: list[tuple[Any, ...]]) -> None:
    catalog = MarketCatalog()
    catalog.scan([wire.OrderbookSnapshot(wire.OrderbookSnapshotMsg(t)) for t in TICKERS], [0, 0])
    feed = Feed(catalog)
    client = client_of(feed)
    seqs, conn, out_seq, t = {1: 0, 2: 0}, 0, len(TICKERS), 0
    for act in actions:
        t += 1
        if act[0] in ("disconnect", "restart"):
            if act[0] == "disconnect":
                feed.step("disconnect", f"c.{conn}", None, None, t)
            else:
                feed.restart()
            conn, seqs = conn + 1, {1: 0, 2: 0}
            assert_client_holds_the_published_books(feed, client)
            continue
        if act[0] == "skip_seq":
            seqs[1] += 1
            continue
        sid = act[-1]
        seqs[sid] += 1
        if act[0] == "snapshot":
            yes = [list(x) for x in dict(act[2]).items()]
            no = [list(x) for x in dict(act[3]).items()]
            frame = snapshot(act[1], yes, no, sid=sid, seq=seqs[sid])
        else:
            price, size = act[3]
            size = size if act[4] else "-" + size
            frame = delta(act[1], act[2], price, size, sid=sid, seq=seqs[sid])
        events = list(feed.step("frame", f"c.{conn}", decode_frame(frame), frame, t))
        out_seq = apply_events(client, events, out_seq)
        assert_client_holds_the_published_books(feed, client)
