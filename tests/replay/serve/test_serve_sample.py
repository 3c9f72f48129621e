"""``kcap serve`` on the embedded sample (real KXHIGHNY best-bid paths, ``kcap.sample``)."""

from __future__ import annotations

from kcap import sample
from kcap.book import books_digest
from kcap.replay.player import Player, ReplayConfig
from kcap.replay.readers import read_capture
from kcap.replay.serve import KalshiServer, ServeConfig
from serve_client import Client, rest_get


async def test_no_capture_serves_the_embedded_sample() -> None:
    async with KalshiServer(ServeConfig(heartbeat_secs=None)) as server:
        assert server.files == sorted(sample.capture_paths())
        status, body = await rest_get(server, "/trade-api/v2/events?series_ticker=KXHIGHNY")
    assert status == 200 and len(body["events"]) == len(server.files)


async def test_sample_day_books_equal_the_player_at_the_same_time() -> None:
    (path,) = [p for p in sample.capture_paths() if p.name == "KXHIGHNY-25DEC27.parquet"]
    times = sorted({t for batch in read_capture(path) for t in batch.recv_ns})
    start, end = times[len(times) // 3], times[2 * len(times) // 3]
    cfg = ServeConfig(paths=[path], from_ns=start, to_ns=end, heartbeat_secs=None)
    async with KalshiServer(cfg) as server:
        assert server.feed is not None
        tickers = server.feed.catalog.tickers()
        client = await Client.connect(server)
        await client.send("subscribe", {"channels": ["orderbook_delta"], "market_tickers": tickers})
        for _ in range(1 + len(tickers)):
            await client.recv()
        at_start = {t: b.levels() for t, b in client.builder.books.items()}
        await client.drain_until_finished(server)
        await client.close()
    for to_ns, books in ((start - 1, at_start), (end, None)):
        player = Player(ReplayConfig([path], to_ns=to_ns))
        player.run()
        valid = {t: b for t, b in player.builder.books.items() if b.valid}
        assert len(valid) == len(tickers)
        if books is None:
            assert books_digest(client.builder.books) == books_digest(valid)
        else:
            assert books == {t: b.levels() for t, b in valid.items()}
