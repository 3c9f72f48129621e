"""``kcap record`` end to end against ``kcap serve`` (in-process, 127.0.0.1, ephemeral port).

The server plays one day of the embedded sample (KXHIGHNY-25DEC06: six markets, ~13,500 book
frames) flat out. A **reference client** (plain websockets, its own clean connection) receives
the same timeline; what it holds after each book frame is "the books the server sent". The
recorder's capture is replayed through the same decoder and ``BookBuilder`` and compared.
Faults are injected on the recorder's connection only (it connects first:
``faulty_connections=1``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import websockets
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa
from polling import until

from kcap import sample
from kcap.book import BookBuilder, books_digest
from kcap.capture.config import RecordConfig
from kcap.capture.run import Recorder
from kcap.capture.signing import auth_headers
from kcap.cli import main
from kcap.errors import AuthRejectedError
from kcap.replay.merge import merge_batches
from kcap.replay.player import Player, ReplayConfig
from kcap.replay.readers import expand_paths, read_capture
from kcap.replay.serve import FaultConfig, KalshiServer, ServeConfig
from kcap.replay.serve.auth import Authenticator
from kcap.replay.serve.thread import ServerThread
from kcap.schemas import wire

EVENT = "KXHIGHNY-25DEC06"
KEY_ID = "00000000-0000-0000-0000-00000000cafe"
BOOK_TYPES = (b'{"type":"orderbook_snapshot"', b'{"type":"orderbook_delta"')


@pytest.fixture(scope="module")
def day() -> Path:
    return next(p for p in sample.capture_paths() if EVENT in p.name)


def serve_config(day: Path, key: rsa.RSAPrivateKey, **faults: Any) -> ServeConfig:
    return ServeConfig(
        paths=[day],
        speed=None,
        start="manual",
        auth=Authenticator(key.public_key(), 30_000, KEY_ID),
        heartbeat_secs=None,
        faults=FaultConfig(seed=3, faulty_connections=1, **faults),
    )


def record_config(server: KalshiServer, out: Path, key_file: Path, **kwargs: Any) -> RecordConfig:
    base = RecordConfig(
        key_id=KEY_ID,
        private_key_path=key_file,
        ws_url=server.url,
        rest_url=server.rest_url,
        env="custom",
        channels=("orderbook_delta", "trade"),
        events=(EVENT,),
        out_dir=out,
        compact="thread",
        status=False,
    )
    return replace(base, **kwargs)


class Reference:
    """A clean client of the same server: every frame it receives, in order."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.frames: list[bytes] = []
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(
        cls, server: KalshiServer, key: rsa.RSAPrivateKey, markets: list[str]
    ) -> Reference:
        headers = auth_headers(KEY_ID, key, time.time_ns() // 1_000_000)
        ws = await websockets.connect(server.url, additional_headers=headers, compression=None)
        ref = cls(ws)
        command = {"channels": ["orderbook_delta"], "market_tickers": markets}
        await ws.send(wire_json({"id": 1, "cmd": "subscribe", "params": command}))
        await until(lambda: sum(f.startswith(BOOK_TYPES[0]) for f in ref.frames) == len(markets))
        return ref

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for message in self.ws:
                self.frames.append(message.encode() if isinstance(message, str) else message)

    async def close(self) -> None:
        await self.ws.close()
        await self.task


def wire_json(obj: Any) -> str:
    import json

    return json.dumps(obj, separators=(",", ":"))


def book_digests(frames: list[tuple[str, bytes]]) -> list[str]:
    """The books digest after every book frame of ``(conn, frame)`` pairs."""
    builder = BookBuilder()
    out = []
    for i, (conn, data) in enumerate(frames):
        builder.apply(conn, wire.decode_frame(data), i)
        if data.startswith(BOOK_TYPES):
            out.append(books_digest(builder.books))
    return out


def final_books_match(out: Path, served: list[bytes]) -> bool:
    """The books replayed from the capture in ``out`` end as the served frames' books do."""
    return book_digests(recorded_frames(out))[-1] == book_digests([("ref", f) for f in served])[-1]


def recorded_frames(out: Path) -> list[tuple[str, bytes]]:
    files = [f for f in expand_paths([out]) if f.suffix == ".parquet"]
    frames = []
    for batch in merge_batches([read_capture(f) for f in files]):
        for kind, conn, frame in zip(batch.kind, batch.conn, batch.frame, strict=True):
            if kind == "frame":
                frames.append((conn, bytes(frame)))
    return frames


def recorded_records(out: Path) -> list[tuple[str, dict[str, Any] | None]]:
    files = [f for f in expand_paths([out]) if f.suffix == ".parquet"]
    return [
        (kind, info)
        for batch in merge_batches([read_capture(f) for f in files])
        for kind, info in zip(batch.kind, batch.info, strict=True)
    ]


def caught_up(server: KalshiServer, local: Any, received: int) -> bool:
    """The timeline ended and this client has read everything the server sent it."""
    if not server.finished.is_set() or local is None:
        return False
    for conn in server.connections:
        if conn.ws.remote_address == local:
            return not conn.outbox and conn.sent == received
    return False


async def record_session(
    server: KalshiServer, key: rsa.RSAPrivateKey, config: RecordConfig, *, connections: int = 1
) -> tuple[Recorder, Any, Reference]:
    """Run the recorder and the reference over the whole timeline (the recorder on its
    ``connections``-th connection at the end); stop the recorder."""
    recorder = Recorder(config)
    recorder.discovery.page_limit = 2  # discovery pages through serve's REST cursor
    task = asyncio.create_task(recorder.run())

    def subscribed() -> bool:
        session = recorder.session
        return session is not None and any(
            s.channel == "orderbook_delta" for s in session.subs.values()
        )

    await until(lambda: subscribed() or task.done(), 20)
    markets = sorted(recorder.markets)
    reference = await Reference.open(server, key, markets)
    server.start_feed()

    def recorder_done() -> bool:
        session, ws = recorder.session, recorder.connection
        if session is None or ws is None or any(s.outstanding for s in session.subs.values()):
            return False
        if recorder.result.connections < connections:
            return False
        books = [s for s in session.subs.values() if s.channel == "orderbook_delta"]
        if not books or any(not s.markets or s.valid != s.markets for s in books):
            return False  # not subscribed yet, or a book not whole yet
        return caught_up(server, ws.local_address, sum(session.counts.values()))

    await until(lambda: recorder_done() or task.done(), 60)
    await until(lambda: caught_up(server, reference.ws.local_address, len(reference.frames)), 30)
    recorder.request_stop()
    result = await asyncio.wait_for(task, 60)
    await reference.close()
    return recorder, result, reference


async def test_record_replay_round_trip_equals_the_served_books_at_every_step(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey, day: Path
) -> None:
    async with KalshiServer(serve_config(day, rsa_key)) as server:
        _, result, reference = await record_session(
            server, rsa_key, record_config(server, tmp_path, key_file)
        )
    assert result.gaps == 0 and result.dropped == 0 and result.reconnects == 0
    assert len(result.markets) == 6
    served = book_digests([("ref", f) for f in reference.frames])
    recorded = book_digests(recorded_frames(tmp_path))
    assert len(served) > 13_000
    assert recorded == served  # the same books after every book frame
    # and the replay CLI's player, up to the last frame, ends on the same books
    last_ns = max(
        b.recv_ns[-1]
        for f in expand_paths([tmp_path])
        if f.suffix == ".parquet"
        for b in read_capture(f)
    )
    replayed = Player(ReplayConfig(paths=[tmp_path], to_ns=last_ns)).run()
    assert replayed.gaps == []
    assert {m for m in replayed.markets} == set(result.markets)
    kinds = {kind for kind, _ in recorded_records(tmp_path)}
    assert {
        "header",
        "clock",
        "connect",
        "sent",
        "subscription",
        "frame",
        "disconnect",
        "stats",
    } <= kinds


@pytest.mark.parametrize(
    "faults",
    [
        {"drop": 0.004},
        {"duplicate": 0.004},
        {"reorder": 0.004},
        {"drop": 0.003, "duplicate": 0.002, "reorder": 0.002, "malformed": 0.002},
    ],
    ids=["drop", "duplicate", "reorder", "mixed"],
)
async def test_stream_faults_give_gaps_resnapshots_and_correct_books(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey, day: Path, faults: dict[str, float]
) -> None:
    async with KalshiServer(serve_config(day, rsa_key, **faults)) as server:
        _, result, reference = await record_session(
            server, rsa_key, record_config(server, tmp_path, key_file)
        )
        injected = {f.fault for f in server.fault_log.records}
    assert injected >= {k for k, v in faults.items() if v}
    assert result.gaps > 0 and result.resnapshots > 0 and result.reconnects == 0
    records = recorded_records(tmp_path)
    gaps = [info for kind, info in records if kind == "gap"]
    resnapshots = [info for kind, info in records if kind == "resnapshot"]
    assert gaps and all(
        g["channel"] == "orderbook_delta" for g in gaps if g["sid"] == gaps[0]["sid"]
    )
    assert {r["method"] for r in resnapshots} <= {"get_snapshot", "resubscribe"}
    served = book_digests([("ref", f) for f in reference.frames])
    recorded = book_digests(recorded_frames(tmp_path))
    assert recorded[-1] == served[-1]  # whole and equal at the end
    if faults.get("malformed"):
        assert result.types["malformed"] + result.types.get("kcap_unknown", 0) > 0


async def test_disconnect_reconnects_resubscribes_and_resnapshots(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey, day: Path
) -> None:
    async with KalshiServer(serve_config(day, rsa_key, close_after_frames=3000)) as server:
        _, result, reference = await record_session(
            server,
            rsa_key,
            record_config(server, tmp_path, key_file, healthy_secs=0.0),
            connections=2,
        )
    assert result.connections == 2 and result.reconnects == 1
    records = recorded_records(tmp_path)
    disconnect = next(info for kind, info in records if kind == "disconnect")
    assert disconnect is not None and disconnect["code"] == 1011
    subscriptions = [info for kind, info in records if kind == "subscription"]
    book_subs = [s for s in subscriptions if s and s["channel"] == "orderbook_delta"]
    assert len(book_subs) == 2 and book_subs[0]["markets"] == book_subs[1]["markets"]
    assert final_books_match(tmp_path, reference.frames)


async def test_stalled_feed_is_caught_by_the_watchdog(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey, day: Path
) -> None:
    async with KalshiServer(serve_config(day, rsa_key, stall_after_frames=2000)) as server:
        _, result, reference = await record_session(
            server,
            rsa_key,
            record_config(server, tmp_path, key_file, idle_timeout_secs=0.5, healthy_secs=0.0),
            connections=2,
        )
    assert result.reconnects == 1
    disconnect = next(info for kind, info in recorded_records(tmp_path) if kind == "disconnect")
    assert disconnect is not None and disconnect["cause"] == "idle"
    assert final_books_match(tmp_path, reference.frames)


async def test_refused_key_is_fatal(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey, day: Path
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with KalshiServer(serve_config(day, other)) as server:
        recorder = Recorder(record_config(server, tmp_path, key_file, events=(), markets=("X-1",)))
        with pytest.raises(AuthRejectedError, match="HTTP 401"):
            await recorder.run()
        # discovery is signed too: the REST call is refused the same way
        recorder = Recorder(record_config(server, tmp_path, key_file))
        with pytest.raises(AuthRejectedError, match="/trade-api/v2/markets refused the API key"):
            await recorder.run()


def test_401_through_the_cli_exits_1_with_a_clear_message(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey, day: Path
) -> None:
    config = replace(serve_config(day, rsa_key, handshake_status=401), start="listen")
    with ServerThread(config) as served:
        result = CliRunner().invoke(
            main,
            [
                "record",
                "--url",
                served.url,
                "--key-id",
                KEY_ID,
                "--private-key",
                str(key_file),
                "--markets",
                f"{EVENT}-T39",
                "--out",
                str(tmp_path / "c"),
                "--no-status",
            ],
        )
    assert result.exit_code == 1
    assert "kcap: " in result.output and "refused the API key: HTTP 401" in result.output
    assert "check --key-id" in result.output
    assert "SIGNATURE" not in result.output


class OnlyFirstMarket:
    """REST discovery that knows only the first market (kcap serve lists every market of its
    capture as open from the start, so the lifecycle path needs discovery to miss one)."""

    def __init__(self, ticker: str) -> None:
        self.ticker = ticker

    def get(self, url: str, headers: dict[str, str], timeout_secs: float) -> tuple[int, bytes]:
        return 200, wire_json({"markets": [{"ticker": self.ticker}], "cursor": ""}).encode()


async def test_new_market_of_a_followed_series_is_added_while_running(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    from frames import delta, snapshot
    from serve_captures import lifecycle, write_records

    first, new = "KXHIGHNY-25DEC20-B38.5", "KXHIGHNY-25DEC21-B40.5"
    records: list[tuple[str, bytes | None]] = [
        ("frame", snapshot(first, [["0.3000", "10.00"]], [["0.5000", "4.50"]], seq=1))
    ]
    records += [("frame", delta(first, "yes", "0.3100", "1.00", seq=2 + i)) for i in range(200)]
    records += [("frame", lifecycle(new, "created", open_ts=1766170000, close_ts=1766300000))]
    records += [("frame", snapshot(new, [["0.2000", "3.00"]], [], sid=3, seq=1))]
    for i in range(2000):
        market, sid, seq = (new, 3, 2 + i // 2) if i % 2 else (first, 1, 202 + i // 2)
        records.append(("frame", delta(market, "yes", "0.2100", "1.00", sid=sid, seq=seq)))
    capture = write_records(tmp_path / "capture.jsonl", records, step_ns=1_000_000)
    config = replace(serve_config(capture, rsa_key), paths=[capture])
    out = tmp_path / "out"
    async with KalshiServer(config) as server:
        recorder = Recorder(
            record_config(server, out, key_file, events=(), series=("KXHIGHNY",)),
            http=OnlyFirstMarket(first),
        )
        task = asyncio.create_task(recorder.run())
        await until(lambda: recorder.session is not None and len(recorder.session.subs) >= 3)
        reference = await Reference.open(server, rsa_key, [first, new])
        server.start_feed()

        def whole() -> bool:
            session = recorder.session
            if session is None or new not in session.markets:
                return False
            books = [s for s in session.subs.values() if s.channel == "orderbook_delta"]
            return bool(books) and books[0].valid == {first, new}

        await until(lambda: whole() or task.done(), 30)
        await until(lambda: caught_up(server, reference.ws.local_address, len(reference.frames)))
        ws = recorder.connection
        await until(
            lambda: caught_up(server, ws.local_address, sum(recorder.session.counts.values()))  # type: ignore[union-attr]
        )
        recorder.request_stop()
        result = await asyncio.wait_for(task, 60)
        await reference.close()
    assert new in result.markets
    records_ = recorded_records(out)
    added = [
        info
        for kind, info in records_
        if kind == "subscription" and info and info.get("action") == "add_markets"
    ]
    assert added and added[-1]["markets"] == [first, new]
    sent = [f for c, f in recorded_frames(out) if b'"market_lifecycle_v2"' in f]
    assert sent, "the lifecycle frame announcing the new market is in the capture"
    assert final_books_match(out, reference.frames)
