"""``kcap serve`` on real data: a day of real KXHIGHNY REST books (kalshi-headless-weather-books,
2026-07-17, fractional sizes included), converted by the test-side converter into snapshots and
deltas. A plain websockets client subscribing through the server must end with exactly the
books ``kcap replay``'s Player computes for the same capture at the same replay time."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcap.book import books_digest
from kcap.fixedpoint import format_price, format_size
from kcap.replay.player import Player, ReplayConfig
from kcap.replay.serve import KalshiServer, ServeConfig
from serve_captures import capture_times, rest_books_capture
from serve_client import Client, rest_get

pytestmark = pytest.mark.shared


@pytest.fixture
def capture(real_data: Path, tmp_path: Path) -> Path:
    return rest_books_capture(real_data, tmp_path / "kxhighny-rest.jsonl")


def player_books(path: Path, to_ns: int) -> Player:
    player = Player(ReplayConfig([path], to_ns=to_ns))
    player.run()
    return player


async def test_books_equal_the_player_at_two_replay_times(capture: Path) -> None:
    times = capture_times(capture)
    assert len(times) >= 3
    start, end = times[1], times[-2]
    cfg = ServeConfig(paths=[capture], from_ns=start, to_ns=end, heartbeat_secs=None)
    async with KalshiServer(cfg) as server:
        status, body = await rest_get(
            server, "/trade-api/v2/markets?series_ticker=KXHIGHNY&status=open"
        )
        assert status == 200
        tickers = [m["ticker"] for m in body["markets"]]
        assert len(tickers) == 12
        client = await Client.connect(server)
        await client.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": tickers})
        for _ in range(1 + len(tickers)):  # subscribed, then one snapshot per market
            await client.recv()
        at_start = {t: b.levels() for t, b in client.builder.books.items()}
        await client.drain_until_finished(server)
        await client.close()
    before = player_books(capture, start - 1)
    assert at_start == {t: b.levels() for t, b in before.builder.books.items()}
    after = player_books(capture, end)
    assert books_digest(client.builder.books) == books_digest(after.builder.books)
    for ticker, book in after.builder.books.items():
        assert client.builder.books[ticker].levels() == book.levels()
    sizes = [s for b in after.builder.books.values() for s in (*b.yes.values(), *b.no.values())]
    assert any(size % 100 for size in sizes)  # fractional contracts made it through


async def test_rest_orderbook_is_the_served_book(capture: Path) -> None:
    async with KalshiServer(ServeConfig(paths=[capture], heartbeat_secs=None)) as server:
        client = await Client.connect(server)
        _, body = await rest_get(server, "/trade-api/v2/markets?limit=1")
        ticker = body["markets"][0]["ticker"]
        await client.send("subscribe", {"channels": ["orderbook_delta"], "market_ticker": ticker})
        await client.drain_until_finished(server)
        status, book = await rest_get(server, f"/trade-api/v2/markets/{ticker}/orderbook")
        await client.close()
    assert status == 200
    built = client.builder.books[ticker].levels()
    assert book["orderbook_fp"]["yes_dollars"] == [
        [format_price(p), format_size(s)] for p, s in built[0]
    ]
    assert book["orderbook_fp"]["no_dollars"] == [
        [format_price(p), format_size(s)] for p, s in built[1]
    ]
