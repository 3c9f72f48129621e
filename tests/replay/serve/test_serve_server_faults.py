"""Every fault mode of ``kcap serve`` against a real server on 127.0.0.1: what the client saw is
compared with what the fault log says was injected."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from kcap.book import Gap
from kcap.replay.serve import FaultConfig, KalshiServer, ServeConfig
from kcap.schemas import wire
from kcap.schemas.wire import decode_frame
from serve_captures import B385, T36, busy_records, write_records
from serve_client import Client, wait_until

N_DELTAS = 300
# two snapshots on subscribe (empty books: the feed has not started), the capture's two
# snapshots as four deltas (two levels each), then one delta per capture delta
DATA_FRAMES = 2 + 4 + N_DELTAS
SUBSCRIBE = {"channels": ["orderbook_delta"], "market_tickers": [B385, T36]}


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return write_records(tmp_path / "busy.jsonl", busy_records(N_DELTAS))


def server_for(capture: Path, **faults: Any) -> KalshiServer:
    cfg = ServeConfig(paths=[capture], heartbeat_secs=None, faults=FaultConfig(**faults))
    return KalshiServer(cfg)


async def run_client(server: KalshiServer) -> Client:
    client = await Client.connect(server)
    await client.send("subscribe", SUBSCRIBE)
    await client.drain_until_finished(server)
    await client.close()
    return client


def data_seqs(client: Client) -> list[int]:
    """The seqs of the well-formed data frames the client got, in order."""
    out = []
    for raw in client.frames:
        message = decode_frame(raw)
        if isinstance(message, wire.OrderbookSnapshot | wire.OrderbookDelta):
            assert message.seq is not None
            out.append(message.seq)
    return out


async def test_drop(capture: Path) -> None:
    async with server_for(capture, seed=1, drop=0.05) as server:
        client = await run_client(server)
    dropped = {r.seq for r in server.fault_log.of("drop")}
    assert dropped and set(range(1, DATA_FRAMES + 1)) - set(data_seqs(client)) == dropped
    # kcap's own book builder sees each drop as a gap on sid 1
    gaps = [e for e in client.builder.events if isinstance(e, Gap)]
    assert {s for g in gaps for s in range(g.expected, g.received)} == dropped


async def test_duplicate(capture: Path) -> None:
    async with server_for(capture, seed=2, duplicate=0.05) as server:
        client = await run_client(server)
    seqs = data_seqs(client)
    assert {s for s in seqs if seqs.count(s) > 1} == {
        r.seq for r in server.fault_log.of("duplicate")
    }
    assert len(seqs) == DATA_FRAMES + len(server.fault_log.records)


async def test_reorder(capture: Path) -> None:
    async with server_for(capture, seed=3, reorder=0.05) as server:
        client = await run_client(server)
    seqs = data_seqs(client)
    late = {seqs[i] for i in range(1, len(seqs)) if seqs[i] < seqs[i - 1]}
    assert late and late == {r.seq for r in server.fault_log.of("reorder")}
    assert sorted(seqs) == list(range(1, DATA_FRAMES + 1))


async def test_malformed(capture: Path) -> None:
    async with server_for(capture, seed=4, malformed=0.1) as server:
        client = await run_client(server)
    records = server.fault_log.of("malformed")
    assert {r.detail["kind"] for r in records if r.detail} == {
        "truncated",
        "wrong_type",
        "unknown_type",
    }
    good = wire.OrderbookSnapshot | wire.OrderbookDelta | wire.Subscribed | wire.Ok
    damaged = [f for f in client.frames if not isinstance(decode_frame(f), good)]
    assert [f.decode() for f in damaged] == [r.detail["frame"] for r in records if r.detail]
    assert set(range(1, DATA_FRAMES + 1)) - set(data_seqs(client)) == {r.seq for r in records}
    assert client.builder.counts["malformed"] == sum(
        1 for r in records if r.detail and r.detail["kind"] != "unknown_type"
    )


@pytest.mark.parametrize(("code", "seen"), [(4001, 4001), (1012, 1012), (None, 1006)])
async def test_close_after_n_frames(capture: Path, code: int | None, seen: int) -> None:
    async with server_for(capture, close_after_frames=40, close_code=code) as server:
        client = await Client.connect(server)
        await client.send("subscribe", SUBSCRIBE)
        with pytest.raises(ConnectionClosed):
            while True:
                await client.recv()
        assert client.ws.close_code == seen
        await wait_until(lambda: not server.connections)
    assert data_seqs(client) == list(range(1, 41))
    (record,) = server.fault_log.records
    assert (record.fault, record.conn, record.frame) == ("close", 1, 40)


async def test_close_at_random_intervals_is_reproducible(capture: Path) -> None:
    closed_at = []
    for _ in range(2):
        async with server_for(capture, seed=9, close_every_frames=50) as server:
            client = await Client.connect(server)
            await client.send("subscribe", SUBSCRIBE)
            with pytest.raises(ConnectionClosed):
                while True:
                    await client.recv()
            (record,) = server.fault_log.of("close")
            assert len(data_seqs(client)) == record.frame
            closed_at.append(record.frame)
    assert closed_at[0] == closed_at[1]


async def test_close_only_the_first_connection_then_reconnect(capture: Path) -> None:
    async with server_for(capture, close_after_frames=10, faulty_connections=1) as server:
        first = await Client.connect(server)
        await first.send("subscribe", SUBSCRIBE)
        with pytest.raises(ConnectionClosed):
            while True:
                await first.recv()
        second = await run_client(server)
    assert len(data_seqs(first)) == 10
    assert data_seqs(second)[:2] == [1, 2] and len(server.fault_log.records) == 1


async def test_stall_keeps_the_socket_open(capture: Path) -> None:
    cfg = ServeConfig(
        paths=[capture],
        heartbeat_secs=0.02,
        faults=FaultConfig(stall_after_frames=25),
    )
    async with KalshiServer(cfg) as server:
        client = await Client.connect(server)
        await client.send("subscribe", SUBSCRIBE)
        for _ in range(1 + 25):  # subscribed, then 25 data frames
            await client.recv()
        await asyncio.wait_for(server.finished.wait(), 10)
        # the socket is alive: the server's heartbeat pings are still answered ...
        pongs = server.connections[0].pongs
        await wait_until(lambda: server.connections[0].pongs >= pongs + 2)
        # ... and it answers our pings, but sends nothing else: the reply is swallowed
        await asyncio.wait_for(await client.ws.ping(), 5)
        plan = server.connections[0].plan
        swallowed = plan.swallowed
        await client.send("list_subscriptions")
        await wait_until(lambda: plan.swallowed == swallowed + 1)
        await client.ws.close()
    assert data_seqs(client) == list(range(1, 26))
    assert server.fault_log.of("stall")[0].frame == 25


@pytest.mark.parametrize("status", [503, 401])
async def test_handshake_status_on_the_first_attempts(capture: Path, status: int) -> None:
    async with server_for(capture, handshake_status=status, handshake_attempts=2) as server:
        for _ in range(2):
            with pytest.raises(InvalidStatus) as info:
                await websockets.connect(server.url, open_timeout=5)
            assert info.value.response.status_code == status
        client = await Client.connect(server)
        await client.close()
    assert [(r.fault, r.attempt) for r in server.fault_log.records] == [
        ("handshake_status", 1),
        ("handshake_status", 2),
    ]
    assert server.counts["accepted"] == 1


async def test_handshake_delay(capture: Path) -> None:
    async with server_for(capture, handshake_delay_ns=500_000_000, handshake_attempts=1) as server:
        with pytest.raises(TimeoutError):
            await websockets.connect(server.url, open_timeout=0.05)
        client = await Client.connect(server)  # attempt 2: no delay
        await client.close()
    (record,) = server.fault_log.records
    assert (record.fault, record.attempt, record.detail) == (
        "handshake_delay",
        1,
        {"delay_ns": 500_000_000},
    )


async def test_fault_log_file_matches_memory(capture: Path, tmp_path: Path) -> None:
    log_path = tmp_path / "faults.jsonl"
    faults = FaultConfig(seed=5, drop=0.02, duplicate=0.02, reorder=0.02, malformed=0.02)
    cfg = ServeConfig(paths=[capture], heartbeat_secs=None, faults=faults, fault_log=log_path)
    async with KalshiServer(cfg) as server:
        await run_client(server)
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert len(lines) == len(server.fault_log.records) > 0
    assert [(d["fault"], d["seq"]) for d in lines] == [
        (r.fault, r.seq) for r in server.fault_log.records
    ]
