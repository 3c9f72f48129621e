"""The recorder end to end against a test-local Kalshi stub (127.0.0.1, ephemeral port)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from kalshi_stub import Faults, StubKalshi
from polling import until

from kcap.book import BookBuilder, books_digest
from kcap.capture.backoff import Backoff
from kcap.capture.config import RecordConfig
from kcap.capture.run import Recorder
from kcap.errors import AuthRejectedError
from kcap.replay.merge import merge_batches
from kcap.replay.readers import expand_paths, read_capture
from kcap.schemas import wire
from kcap.schemas.record import Record

A = "KXHIGHNY-26NOV21-B53.5"
B = "KXHIGHNY-26NOV21-T51"


class InstantSleep:
    """A clock whose backoff sleeps return at once and are remembered."""

    def __init__(self) -> None:
        import time

        self.sleeps: list[float] = []
        self.wall_ns = time.time_ns
        self.mono_ns = time.monotonic_ns

    async def sleep(self, secs: float) -> None:
        self.sleeps.append(secs)
        await asyncio.sleep(0)


def config_for(stub: StubKalshi, out: Path, key: Path, **kwargs: Any) -> RecordConfig:
    base = RecordConfig(
        key_id="00000000-test-key",
        private_key_path=key,
        ws_url=stub.url,
        rest_url="http://127.0.0.1:9/trade-api/v2",
        env="custom",
        channels=("orderbook_delta",),
        markets=(A, B),
        out_dir=out,
        compact="thread",
        status=False,
        idle_timeout_secs=5.0,
    )
    return replace(base, **kwargs)


def recorded(out: Path) -> list[tuple[str, Record | None, Any]]:
    """Every record of the capture under ``out`` (Parquet if finalized), in order."""
    records = []
    files = expand_paths([out])
    parquet = [f for f in files if f.suffix == ".parquet"]
    for batch in merge_batches([read_capture(f) for f in (parquet or files)]):
        for i in range(len(batch)):
            records.append((batch.kind[i], batch.conn[i], batch.info[i], batch.frame[i]))
    return records  # type: ignore[return-value]


def replay_digests(out: Path) -> list[str]:
    """The books digest after every recorded frame (the final disconnect left out)."""
    builder = BookBuilder()
    digests = []
    for kind, conn, _info, frame in recorded(out):
        if kind == "frame":
            builder.apply(conn, wire.decode_frame(bytes(frame)), 0)
            digests.append(books_digest(builder.books))
    return digests


async def run_until(recorder: Recorder, condition: Any, timeout_secs: float = 15.0) -> Any:
    task = asyncio.create_task(recorder.run())
    try:
        await until(lambda: condition() or task.done(), timeout_secs)
    finally:
        recorder.request_stop()
    return await asyncio.wait_for(task, 30)


def frames_of(recorder: Recorder) -> int:
    session = recorder.session
    return 0 if session is None else session.counts.get("orderbook_delta", 0)


async def test_round_trip_books_equal_at_every_step(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    async with StubKalshi(rsa_key.public_key(), deltas=200) as stub:
        recorder = Recorder(config_for(stub, tmp_path, key_file))
        result = await run_until(recorder, lambda: frames_of(recorder) >= 200)
    assert result.dropped == 0 and result.gaps == 0
    frames = [bytes(f) for kind, _c, _i, f in recorded(tmp_path) if kind == "frame"]
    assert frames == stub.delivered  # byte for byte, in order
    assert replay_digests(tmp_path) == stub.digests
    kinds = [kind for kind, *_ in recorded(tmp_path)]
    assert kinds[:3] == ["header", "clock", "connect"]
    assert kinds[3] == "sent" and "subscription" in kinds and kinds[-1] in ("stats", "clock")
    assert "disconnect" in kinds
    assert len(result.files) == 1 and result.compacted == result.files
    manifest = next(tmp_path.rglob("*.manifest.json"))
    assert manifest.exists()


async def test_401_is_fatal_with_a_clear_message(tmp_path: Path, key_file: Path) -> None:
    async with StubKalshi(None, reject=401) as stub:
        recorder = Recorder(config_for(stub, tmp_path, key_file))
        with pytest.raises(
            AuthRejectedError, match=r"refused the API key: HTTP 401.*check --key-id"
        ):
            await recorder.run()
    kinds = [(kind, info) for kind, _c, info, _f in recorded(tmp_path)]
    failed = [info for kind, info in kinds if kind == "connect_failed"]
    assert failed == [{"url": stub.url, "status": 401, "error": failed[0]["error"], "fatal": True}]
    text = b"".join(p.read_bytes() for p in tmp_path.rglob("*.jsonl"))
    assert b"SIGNATURE" not in text and b"PRIVATE" not in text


async def test_bad_signature_is_refused(tmp_path: Path, key_file: Path) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    async with StubKalshi(other.public_key()) as stub:
        with pytest.raises(AuthRejectedError):
            await Recorder(config_for(stub, tmp_path, key_file)).run()


async def test_dropped_frame_gives_gap_resnapshot_and_correct_books(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    faults = Faults(drop={20, 21})
    async with StubKalshi(rsa_key.public_key(), deltas=100, faults=faults) as stub:
        recorder = Recorder(config_for(stub, tmp_path, key_file))
        result = await run_until(recorder, lambda: stub.done.is_set() and frames_of(recorder) >= 98)
    assert result.gaps == 1 and result.resnapshots == 1
    records = recorded(tmp_path)
    gap = next(info for kind, _c, info, _f in records if kind == "gap")
    assert gap["expected"] == 20 and gap["received"] == 22 and gap["reason"] == "gap"
    resnapshot = next(info for kind, _c, info, _f in records if kind == "resnapshot")
    assert resnapshot["method"] == "get_snapshot" and resnapshot["markets"] == [A, B]
    get_snapshot = [c for c in stub.commands if c["cmd"] == "update_subscription"]
    assert get_snapshot[0]["params"]["action"] == "get_snapshot"
    assert replay_digests(tmp_path)[-1] == stub.digests[-1]


async def test_duplicated_frame_is_a_break_and_is_repaired(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    async with StubKalshi(rsa_key.public_key(), deltas=60, faults=Faults(duplicate={10})) as stub:
        recorder = Recorder(config_for(stub, tmp_path, key_file))
        result = await run_until(recorder, lambda: stub.done.is_set() and frames_of(recorder) >= 61)
    assert result.gaps == 1
    gap = next(info for kind, _c, info, _f in recorded(tmp_path) if kind == "gap")
    assert gap["reason"] == "duplicate"
    assert replay_digests(tmp_path)[-1] == stub.digests[-1]


@pytest.mark.parametrize("healthy_secs", [30.0, 0.0])
async def test_disconnect_reconnects_resubscribes_and_resnapshots(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey, healthy_secs: float
) -> None:
    clock = InstantSleep()
    async with StubKalshi(
        rsa_key.public_key(), deltas=40, faults=Faults(close_after_frames=25)
    ) as stub:
        recorder = Recorder(
            config_for(stub, tmp_path, key_file, healthy_secs=healthy_secs),
            clock=clock,
            backoff=Backoff(0.5, 60.0),
        )
        result = await run_until(
            recorder, lambda: stub.connections == 2 and frames_of(recorder) >= 40
        )
    assert result.connections == 2 and result.reconnects == 1
    records = recorded(tmp_path)
    disconnect = next(info for kind, _c, info, _f in records if kind == "disconnect")
    assert disconnect["code"] == 1011 and disconnect["cause"] == "closed"
    subscribes = [c for c in stub.commands if c["cmd"] == "subscribe"]
    assert len(subscribes) == 2 and subscribes[1]["params"]["market_tickers"] == [A, B]
    conns = sorted({conn for kind, conn, _i, _f in records if kind == "connect"})
    assert conns == [f"{result.session}.1", f"{result.session}.2"]
    assert replay_digests(tmp_path)[-1] == stub.digests[-1]
    if healthy_secs:  # a short-lived connection: the next attempt waits (injected sleep)
        assert len(clock.sleeps) == 1 and 0.25 <= clock.sleeps[0] <= 0.5
    else:  # a healthy connection resets the backoff: reconnect at once
        assert clock.sleeps == []


async def test_idle_watchdog_reconnects_a_stalled_feed(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    async with StubKalshi(
        rsa_key.public_key(), deltas=30, faults=Faults(stall_after_frames=10)
    ) as stub:
        recorder = Recorder(
            config_for(stub, tmp_path, key_file, idle_timeout_secs=0.3), clock=InstantSleep()
        )
        await run_until(recorder, lambda: stub.connections == 2 and frames_of(recorder) >= 30)
    disconnect = next(info for kind, _c, info, _f in recorded(tmp_path) if kind == "disconnect")
    assert disconnect["cause"] == "idle"
    assert "nothing received for 0.3 s" in disconnect["error"]


async def test_malformed_frame_is_recorded_raw_and_counted(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    async with StubKalshi(
        rsa_key.public_key(), deltas=20, faults=Faults(malformed_after=8)
    ) as stub:
        recorder = Recorder(config_for(stub, tmp_path, key_file))
        result = await run_until(recorder, lambda: stub.done.is_set() and frames_of(recorder) >= 20)
    assert result.types["malformed"] == 1
    frames = [bytes(f) for kind, _c, _i, f in recorded(tmp_path) if kind == "frame"]
    assert b'{"type":"orderbook_delta","sid":' in frames
