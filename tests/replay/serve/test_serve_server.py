"""``kcap serve`` over the network: a real server on 127.0.0.1 (ephemeral port) and plain
``websockets`` clients. Waits poll with deadlines; nothing sleeps a fixed time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from test_serve_protocol import ERROR_CASES
from websockets.exceptions import ConnectionClosed, InvalidStatus

from captures import write_scenario
from kcap.book import books_digest
from kcap.capture.signing import auth_headers
from kcap.errors import CaptureNotFoundError, ServeError
from kcap.replay.player import Player, ReplayConfig
from kcap.replay.serve import KalshiServer, ServeConfig
from kcap.replay.serve.auth import Authenticator
from kcap.replay.serve.connection import HEARTBEAT_PAYLOAD
from kcap.replay.serve.server import CHUNK_EVENTS
from serve_captures import B385, T36, T42, mixed_records, write_records
from serve_client import Client, RawClient, gather_frames, rest_get, wait_until

BOOK = "orderbook_delta"


def config(path: Path, **kwargs: Any) -> ServeConfig:
    kwargs.setdefault("heartbeat_secs", None)
    return ServeConfig(paths=[path], **kwargs)


def valid_books(builder: Any, markets: set[str] | None = None) -> dict[str, Any]:
    return {t: b for t, b in builder.books.items() if b.valid and (markets is None or t in markets)}


def seqs_by_sid(frames: list[dict[str, Any]]) -> dict[int, list[int]]:
    """The data frames' seqs per sid, in order of arrival."""
    out: dict[int, list[int]] = {}
    for f in frames:
        if "seq" in f and f.get("type") not in ("ok", "unsubscribed", "error"):
            out.setdefault(f["sid"], []).append(f["seq"])
    return out


async def test_client_books_equal_the_player_books(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    player = Player(ReplayConfig([path]))
    player.run()
    async with KalshiServer(config(path)) as server:
        client = await Client.connect(server)
        await client.command("subscribe", {"channels": [BOOK], "market_tickers": [B385, T36]})
        await client.drain_until_finished(server)
        await client.close()
    assert seqs_by_sid(client.received()) == {
        1: list(range(1, 17))
    }  # snapshots 1-2, deltas 3-16, no hole
    assert not [e for e in client.builder.events if type(e).__name__ == "Gap"]
    # where the player's book is valid, the client's is the same book
    expected = valid_books(player.builder)
    assert set(expected) == {T36}
    assert books_digest(valid_books(client.builder, set(expected))) == books_digest(expected)
    # B38.5 went stale in the capture (disconnect): clients keep its last valid book
    assert server.feed is not None
    assert client.builder.books[B385].levels() == server.feed.levels(B385)


async def test_every_command_over_the_wire(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    async with KalshiServer(config(path, start="manual")) as server:
        client = await Client.connect(server)
        subscribed = await client.command(
            "subscribe", {"channels": [BOOK], "market_tickers": [B385]}
        )
        assert subscribed[0] == {"id": 1, "type": "subscribed", "msg": {"channel": BOOK, "sid": 1}}
        assert [f["type"] for f in subscribed[1:]] == ["orderbook_snapshot"]
        await client.command("subscribe", {"channels": ["trade", "ticker", "market_lifecycle_v2"]})
        listing = await client.command("list_subscriptions")
        assert [s["sid"] for s in listing[0]["msg"]] == [1, 2, 3, 4]
        add = {"sids": [1], "market_tickers": [T36, T42], "action": "add_markets"}
        added = await client.command("update_subscription", add)
        assert added[0]["msg"] == {"market_tickers": [B385, T36, T42]}
        assert [f["msg"]["market_ticker"] for f in added[1:]] == [T36, T42]  # their snapshots
        delete = {"sid": 1, "market_tickers": [T42], "action": "delete_markets"}
        assert (await client.command("update_subscription", delete))[-1]["msg"][
            "market_tickers"
        ] == [B385, T36]
        server.start_feed()
        frames = await client.drain_until_finished(server)
        types = {f["type"] for f in frames}
        assert types == {"orderbook_delta", "trade", "ticker", "market_lifecycle_v2"}
        assert all(f["msg"]["market_ticker"] in (B385, T36) for f in frames if f["type"] == BOOK)
        get = {"sids": [1], "market_tickers": [T36], "action": "get_snapshot"}
        get_id = await client.send("update_subscription", get)
        (snap,) = await client.barrier()
        assert (snap["type"], snap["id"], snap["msg"]["market_ticker"]) == (
            "orderbook_snapshot",
            get_id,
            T36,
        )
        gone = await client.command("unsubscribe", {"sids": [2, 3, 4]})
        assert [f["type"] for f in gone] == ["unsubscribed"] * 3
        book_seqs = seqs_by_sid(client.received())[1]
        assert book_seqs == list(range(1, len(book_seqs) + 1))
        await client.close()
    # the client's books rebuilt from the wire equal the server's published books
    for ticker in (B385, T36):
        assert client.builder.books[ticker].levels() == server.feed.levels(ticker)  # type: ignore[union-attr]


async def test_every_error_reply_over_the_wire(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    async with KalshiServer(config(path, start="manual")) as server:
        client = await Client.connect(server)
        for name, command, code in ERROR_CASES:
            data = command if isinstance(command, bytes) else json.dumps(command)
            await client.ws.send(data)
            reply = await client.recv()
            assert (reply["type"], reply["msg"]["code"]) == ("error", code), name
        await client.close()


async def test_two_clients_with_different_subscriptions(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    player = Player(ReplayConfig([path]))
    player.run()
    async with KalshiServer(config(path, start="manual")) as server:
        first, second = await Client.connect(server), await Client.connect(server)
        await first.command("subscribe", {"channels": [BOOK, "trade"], "market_tickers": [B385]})
        await second.command("subscribe", {"channels": [BOOK], "market_tickers": [T36, T42]})
        await second.command("subscribe", {"channels": ["ticker"]})
        server.start_feed()
        one = await first.drain_until_finished(server)
        two = await second.barrier()
        await first.close()
        await second.close()
    assert {f["type"] for f in one} == {BOOK, "trade"}
    assert {f["msg"]["market_ticker"] for f in one} == {B385}
    assert {f["type"] for f in two} == {BOOK, "ticker"}
    assert {f["msg"]["market_ticker"] for f in two if f["type"] == BOOK} == {T36, T42}
    for client, markets in ((first, {B385}), (second, {T36, T42})):
        mine = {t: b for t, b in client.builder.books.items() if t in markets}
        assert books_digest(mine) == books_digest({t: player.builder.books[t] for t in markets})


async def test_late_subscriber_gets_the_books_of_now(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    player = Player(ReplayConfig([path]))
    player.run()
    async with KalshiServer(config(path)) as server:
        early = await Client.connect(server)
        await early.command("subscribe", {"channels": ["trade"]})
        await early.drain_until_finished(server)
        late = await Client.connect(server)
        await late.command("subscribe", {"channels": [BOOK], "market_tickers": [B385, T36, T42]})
        await early.close()
        await late.close()
    assert books_digest(late.builder.books) == books_digest(player.builder.books)


async def test_rest_discovery_then_subscribe(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    async with KalshiServer(config(path)) as server:
        query = "series_ticker=KXHIGHNY&status=open&with_nested_markets=true"
        status, body = await rest_get(server, f"/trade-api/v2/events?{query}")
        assert status == 200
        tickers = [m["ticker"] for e in body["events"] for m in e["markets"]]
        status, page = await rest_get(server, "/trade-api/v2/markets?limit=2")
        assert status == 200 and len(page["markets"]) == 2 and page["cursor"]
        status, rest = await rest_get(
            server, f"/trade-api/v2/markets?limit=2&cursor={page['cursor']}"
        )
        assert [m["ticker"] for m in page["markets"] + rest["markets"]] == tickers
        assert (await rest_get(server, "/nowhere"))[0] == 404
        client = await Client.connect(server)
        replies = await client.command("subscribe", {"channels": [BOOK], "market_tickers": tickers})
        assert replies[0]["type"] == "subscribed"
        await client.close()


async def test_wire_legacy_over_the_wire(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    async with KalshiServer(config(path, wire="legacy")) as server:
        client = await Client.connect(server)
        await client.command("subscribe", {"channels": [BOOK], "market_tickers": [B385]})
        frames = await client.drain_until_finished(server)
        await client.close()
    assert frames[0]["msg"]["price"] == 30 and frames[0]["msg"]["price_dollars"] == "0.3000"


async def test_loop_starts_over_and_seqs_continue(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    async with KalshiServer(config(path, loop=True)) as server:
        client = await Client.connect(server)
        await client.command("subscribe", {"channels": ["trade"], "market_tickers": [B385]})
        await wait_until(lambda: server.feed is not None and server.feed.counts["restarts"] >= 2)
        frames = await client.barrier()
        await client.close()
    seqs = [f["seq"] for f in frames]
    assert len(seqs) >= 2 and seqs == list(range(1, len(seqs) + 1))
    assert not server.finished.is_set()


async def test_window_from_to(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    from captures import T0, S

    cut_from, cut_to = T0 + 3 * 60 * S, T0 + 4 * 60 * S
    async with KalshiServer(config(path, from_ns=cut_from, to_ns=cut_to)) as server:
        client = await Client.connect(server)
        await client.send("subscribe", {"channels": [BOOK], "market_tickers": [B385, T36]})
        first = [await client.recv() for _ in range(3)]
        at_start = {t: b.levels() for t, b in client.builder.books.items()}
        await client.drain_until_finished(server)
        frames = [f for f in client.received()[3:] if f["type"] == BOOK]
        await client.close()
    before = Player(ReplayConfig([path], to_ns=cut_from - 1))
    before.run()
    assert at_start == {t: b.levels() for t, b in before.builder.books.items()}
    assert len(first) == 3 and [f["msg"]["price_dollars"] for f in frames] == ["0.3200", "0.9700"]
    after = Player(ReplayConfig([path], to_ns=cut_to))
    after.run()
    assert books_digest(client.builder.books) == books_digest(after.builder.books)


# ---------------------------------------------------------------------------------------------
# authentication


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def now_ms() -> int:
    import time

    return time.time_ns() // 1_000_000


async def test_auth_success_and_401_before_upgrade(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    auth = Authenticator(key.public_key(), 30_000)
    async with KalshiServer(config(path, auth=auth)) as server:
        good = await Client.connect(server, additional_headers=auth_headers("k1", key, now_ms()))
        assert (await good.command("list_subscriptions"))[0]["type"] == "ok"
        await good.close()
        refusals = [
            {},
            auth_headers("k1", other, now_ms()),
            auth_headers("k1", key, now_ms() - 60_000),
            auth_headers("k1", key, now_ms(), path="/trade-api/v2/markets"),
        ]
        for headers in refusals:
            with pytest.raises(InvalidStatus) as info:
                await websockets.connect(server.url, additional_headers=headers, open_timeout=5)
            assert info.value.response.status_code == 401
            assert json.loads(info.value.response.body)["error"]["code"] == "authentication_error"
        assert server.counts["accepted"] == 1 and server.counts["unauthorized"] == 4
        # REST: the same rule, signed with the request's own path (no query string)
        signed = auth_headers("k1", key, now_ms(), path="/trade-api/v2/markets")
        assert (await rest_get(server, "/trade-api/v2/markets?limit=1", signed))[0] == 200
        assert (await rest_get(server, "/trade-api/v2/markets?limit=1"))[0] == 401
        ws_signed = auth_headers("k1", key, now_ms())
        assert (await rest_get(server, "/trade-api/v2/events", ws_signed))[0] == 401


async def test_public_key_file_and_cli_config(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    from kcap.replay.serve.run import ServeOptions, build_config

    pem = tmp_path / "k.pub"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    cfg = build_config(ServeOptions(paths=(str(path),), port=0, public_key=pem, heartbeat="0"))
    async with KalshiServer(cfg) as server:
        client = await Client.connect(server, additional_headers=auth_headers("k", key, now_ms()))
        await client.close()


# ---------------------------------------------------------------------------------------------
# heartbeat


async def test_heartbeat_drops_a_client_that_never_pongs(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    cfg = config(path, heartbeat_secs=0.05, heartbeat_timeout_secs=0.2, close_timeout_secs=0.2)
    async with KalshiServer(cfg) as server:
        raw = await RawClient.connect(server)
        frames = await gather_frames(raw.frame)
        raw.close()
        await wait_until(lambda: not server.connections)
    opcodes = [op for op, _ in frames]
    assert opcodes[0] == 0x9 and frames[0][1] == HEARTBEAT_PAYLOAD
    assert opcodes[-1] == 0x8 and int.from_bytes(frames[-1][1][:2], "big") == 1011
    assert frames[-1][1][2:] == b"heartbeat timeout"


async def test_heartbeat_keeps_a_client_that_pongs(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    cfg = config(path, heartbeat_secs=0.02, heartbeat_timeout_secs=5.0)
    async with KalshiServer(cfg) as server:
        client = await Client.connect(server)
        await wait_until(lambda: bool(server.connections) and server.connections[0].pongs >= 3)
        assert (await client.command("list_subscriptions"))[0]["type"] == "ok"
        await client.close()


# ---------------------------------------------------------------------------------------------
# backpressure, shutdown, errors


async def test_slow_client_gets_backpressure_not_a_growing_buffer(tmp_path: Path) -> None:
    import socket

    from serve_captures import busy_records

    path = write_records(tmp_path / "b.jsonl", busy_records(6_000), step_ns=1_000)
    async with KalshiServer(config(path, high_water=32)) as server:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        ws = await websockets.connect(server.url, sock=sock, max_queue=4, open_timeout=5)
        client = Client(ws)
        await client.send("subscribe", {"channels": [BOOK], "market_tickers": [B385, T36]})
        feed = server.feed
        assert feed is not None
        # the client reads nothing: the feed must come to wait for it
        await wait_until(
            lambda: bool(server.connections) and not server.connections[0].room.is_set()
        )
        waiting_at = feed.counts["records"]
        assert waiting_at < 6_000
        # bounded: the high-water mark plus one chunk of feed events (one frame each here)
        assert len(server.connections[0].outbox) <= 32 + CHUNK_EVENTS
        # once it reads, everything arrives and the books are right
        frames = await client.drain_until_finished(server)
        await client.close()
    assert len(frames) > 6_000 - waiting_at
    player = Player(ReplayConfig([path]))
    player.run()
    assert books_digest(client.builder.books) == books_digest(player.builder.books)


async def test_server_close_closes_clients_with_1001(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    server = KalshiServer(config(path))
    await server.start()
    client = await Client.connect(server)
    await server.close()
    with pytest.raises(ConnectionClosed) as info:
        await client.recv()
    assert info.value.rcvd is not None and info.value.rcvd.code == 1001


async def test_start_errors(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    async with KalshiServer(config(path)) as first:
        with pytest.raises(ServeError, match=r"cannot listen on 127\.0\.0\.1"):
            await KalshiServer(config(path, port=first.port)).start()
    with pytest.raises(CaptureNotFoundError):
        await KalshiServer(config(tmp_path / "nothing-here.jsonl")).start()
    await asyncio.sleep(0)
