from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kcap.replay.player import Player, ReplayConfig, decode_batch
from kcap.replay.serve.feed import Feed
from kcap.replay.serve.markets import MarketCatalog
from kcap.replay.serve.rest import answer, cursor_for
from serve_captures import B385, EVENT, T36, T42, mixed_records, write_records

REQUIRED_MARKET_FIELDS = {  # OpenAPI 3.13.0 Market.required
    "ticker", "event_ticker", "market_type", "yes_sub_title", "no_sub_title", "created_time",
    "updated_time", "open_time", "close_time", "latest_expiration_time",
    "settlement_timer_seconds", "status", "notional_value_dollars", "yes_bid_dollars",
    "yes_ask_dollars", "no_bid_dollars", "no_ask_dollars", "yes_bid_size_fp", "yes_ask_size_fp",
    "last_price_dollars", "previous_yes_bid_dollars", "previous_yes_ask_dollars",
    "previous_price_dollars", "volume_fp", "volume_24h_fp", "liquidity_dollars",
    "open_interest_fp", "result", "can_close_early", "fractional_trading_enabled",
    "expiration_value", "rules_primary", "rules_secondary", "price_level_structure", "price_ranges",
}  # fmt: skip
REQUIRED_EVENT_FIELDS = {  # OpenAPI 3.13.0 EventData.required
    "event_ticker", "series_ticker", "sub_title", "title", "collateral_return_type",
    "mutually_exclusive", "available_on_brokers", "product_metadata",
}  # fmt: skip


@pytest.fixture
def feed(tmp_path: Path) -> Feed:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    catalog = MarketCatalog()
    batches = list(Player(ReplayConfig([path])).batches())
    for batch in batches:
        catalog.scan(decode_batch(batch), batch.recv_ns)
    feed = Feed(catalog)
    for batch in batches:
        for record in zip(
            batch.kind, batch.conn, decode_batch(batch), batch.frame, batch.recv_ns, strict=True
        ):
            feed.step(*record)
    return feed


def get(feed: Feed, path: str, query: str = "") -> tuple[int, Any]:
    status, body = answer(path, query, feed)
    return status, json.loads(body)


def test_markets_shape_and_live_book(feed: Feed) -> None:
    status, body = get(feed, "/trade-api/v2/markets")
    assert status == 200 and body["cursor"] == ""
    markets = {m["ticker"]: m for m in body["markets"]}
    assert list(markets) == [B385, T36, T42]
    for market in markets.values():
        assert market.keys() >= REQUIRED_MARKET_FIELDS
    b385 = markets[B385]
    # book at the end of the capture: yes 0.30 x10, 0.32 x5; the no side was emptied
    assert (b385["yes_bid_dollars"], b385["yes_bid_size_fp"]) == ("0.3200", "5.00")
    assert (b385["yes_ask_dollars"], b385["no_bid_dollars"], b385["no_ask_dollars"]) == (
        "1.0000",
        "0.0000",
        "0.6800",
    )
    assert (b385["strike_type"], b385["floor_strike"], b385["cap_strike"]) == ("between", 38, 39)
    assert b385["close_time"] == "2025-12-20T05:59:00Z" and b385["status"] == "active"
    assert b385["last_price_dollars"] == "0.3200" and b385["event_ticker"] == EVENT
    assert markets[T36]["status"] == "determined" and markets[T36]["result"] == "no"
    assert markets[T36]["settlement_value_dollars"] == "0.0000"


def test_markets_filters_and_pagination(feed: Feed) -> None:
    assert [
        m["ticker"] for m in get(feed, "/trade-api/v2/markets", "status=settled")[1]["markets"]
    ] == [T36]
    assert (
        len(get(feed, "/trade-api/v2/markets", "status=open&series_ticker=KXHIGHNY")[1]["markets"])
        == 2
    )
    assert get(feed, "/trade-api/v2/markets", "event_ticker=OTHER-1")[1]["markets"] == []
    assert [
        m["ticker"]
        for m in get(feed, "/trade-api/v2/markets", f"tickers={T42},{B385}")[1]["markets"]
    ] == [B385, T42]
    seen, cursor = [], ""
    for _ in range(5):
        _, page = get(feed, "/trade-api/v2/markets", f"limit=2&cursor={cursor}")
        seen += [m["ticker"] for m in page["markets"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == [B385, T36, T42]
    assert (
        get(feed, "/trade-api/v2/markets", f"limit=2&cursor={cursor_for(2)}")[1]["markets"][0][
            "ticker"
        ]
        == T42
    )


def test_events_nested_and_status(feed: Feed) -> None:
    status, body = get(
        feed, "/trade-api/v2/events", "series_ticker=KXHIGHNY&status=open&with_nested_markets=true"
    )
    assert status == 200 and body["cursor"] == ""
    (event,) = body["events"]
    assert event.keys() >= REQUIRED_EVENT_FIELDS
    assert event["event_ticker"] == EVENT and [m["ticker"] for m in event["markets"]] == [
        B385,
        T36,
        T42,
    ]
    _, flat = get(feed, "/trade-api/v2/events", "with_milestones=true")
    assert "markets" not in flat["events"][0] and flat["milestones"] == []
    assert get(feed, "/trade-api/v2/events", "status=settled")[1]["events"] == []
    status, single = get(feed, f"/trade-api/v2/events/{EVENT}")
    assert (
        status == 200 and single["event"]["event_ticker"] == EVENT and len(single["markets"]) == 3
    )


def test_single_market_and_orderbook(feed: Feed) -> None:
    status, body = get(feed, f"/trade-api/v2/markets/{T42}")
    assert status == 200 and body["market"]["ticker"] == T42
    status, book = get(feed, f"/trade-api/v2/markets/{B385}/orderbook")
    assert book == {
        "orderbook_fp": {"yes_dollars": [["0.3000", "10.00"], ["0.3200", "5.00"]], "no_dollars": []}
    }
    _, top = get(feed, f"/trade-api/v2/markets/{B385}/orderbook", "depth=1")
    assert top["orderbook_fp"]["yes_dollars"] == [["0.3200", "5.00"]]


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("/trade-api/v2/markets", "limit=1001", 400),
        ("/trade-api/v2/markets", "limit=abc", 400),
        ("/trade-api/v2/markets", "cursor=bogus", 400),
        ("/trade-api/v2/markets", "status=live", 400),
        ("/trade-api/v2/events", "limit=201", 400),
        ("/trade-api/v2/events", "status=paused", 400),
        ("/trade-api/v2/events", "with_nested_markets=yes", 400),
        ("/trade-api/v2/markets/NOPE-1", "", 404),
        ("/trade-api/v2/markets/NOPE-1/orderbook", "", 404),
        ("/trade-api/v2/events/NOPE", "", 404),
        ("/trade-api/v2/series", "", 404),
    ],
)
def test_bad_requests(feed: Feed, path: str, query: str, status: int) -> None:
    got, body = get(feed, path, query)
    assert got == status
    assert set(body["error"]) == {"code", "message", "service"}
