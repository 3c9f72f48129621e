from __future__ import annotations

import json
import random

import pytest

from kcap.errors import UsageError
from kcap.replay.serve.faults import Close, FaultConfig, FaultLog, FaultPlan, FaultRecord, malform
from kcap.replay.serve.protocol import Outgoing
from kcap.schemas import wire
from kcap.schemas.wire import decode_frame


def data(seq: int) -> Outgoing:
    frame = (
        b'{"type":"orderbook_delta","sid":1,"seq":%d,"msg":{"market_ticker":"M","price_dollars":"0.5000","delta_fp":"1.00","side":"yes"}}'
        % seq
    )
    return Outgoing(frame, True, "orderbook_delta", 1, seq, "M", 1000 + seq)


REPLY = Outgoing(b'{"id":1,"type":"ok","msg":[]}', False, "ok")


def run(config: FaultConfig, n: int = 200, conn: int = 1) -> tuple[list[bytes | Close], FaultLog]:
    log = FaultLog()
    plan = FaultPlan(config, conn, log)
    out: list[bytes | Close] = []
    for seq in range(1, n + 1):
        out += plan.apply(data(seq))
        if seq % 50 == 0:
            out += plan.apply(REPLY)
    out += plan.flush()
    return out, log


def seqs(out: list[bytes | Close]) -> list[int]:
    return [json.loads(f)["seq"] for f in out if isinstance(f, bytes) and b'"seq"' in f]


def test_no_faults_passes_everything_through() -> None:
    out, log = run(FaultConfig())
    assert seqs(out) == list(range(1, 201)) and out.count(REPLY.frame) == 4 and not log.records


def test_drop_logs_exactly_the_missing_seqs() -> None:
    out, log = run(FaultConfig(seed=3, drop=0.1))
    dropped = {r.seq for r in log.of("drop")}
    assert 5 <= len(dropped) <= 40
    assert set(range(1, 201)) - set(seqs(out)) == dropped
    assert all(r.frame == r.seq and r.sid == 1 and r.market_ticker == "M" for r in log.records)


def test_duplicate_logs_exactly_the_repeated_seqs() -> None:
    out, log = run(FaultConfig(seed=4, duplicate=0.1))
    got = seqs(out)
    assert {s for s in got if got.count(s) == 2} == {r.seq for r in log.of("duplicate")}
    assert sorted(set(got)) == list(range(1, 201))


def test_reorder_swaps_with_the_next_data_frame() -> None:
    out, log = run(FaultConfig(seed=5, reorder=0.1))
    got = seqs(out)
    assert sorted(got) == list(range(1, 201))
    late = {got[i] for i in range(1, len(got)) if got[i] < got[i - 1]}
    assert late == {r.seq for r in log.of("reorder")}
    for seq in late:
        assert got.index(seq) == got.index(seq + 1) + 1  # sent right after its successor


def test_reorder_of_the_last_frame_is_released_by_flush() -> None:
    log = FaultLog()
    plan = FaultPlan(FaultConfig(reorder=1.0), 1, log)
    assert plan.apply(data(1)) == []
    assert plan.apply(REPLY) == [REPLY.frame]  # replies are not held
    assert plan.flush() == [data(1).frame]


def test_malformed_frames_replace_the_original() -> None:
    out, log = run(FaultConfig(seed=6, malformed=0.2))
    records = log.of("malformed")
    assert {r.detail["kind"] for r in records if r.detail} == {
        "truncated",
        "wrong_type",
        "unknown_type",
    }
    for record in records:
        assert record.detail is not None
        damaged = record.detail["frame"].encode()
        assert damaged in out
        decoded = decode_frame(damaged)
        if record.detail["kind"] == "unknown_type":
            assert isinstance(decoded, wire.UnknownMessage) and decoded.seq == record.seq
        else:
            assert isinstance(decoded, wire.MalformedFrame)
    good = [
        f for f in out if isinstance(f, bytes) and isinstance(decode_frame(f), wire.OrderbookDelta)
    ]
    assert set(range(1, 201)) - set(seqs(good)) == {r.seq for r in records}


def test_malform_kinds() -> None:
    frame = data(7).frame
    rng = random.Random(1)
    assert frame.startswith(malform(frame, "truncated", rng)) and len(
        malform(frame, "truncated", rng)
    ) < len(frame)
    assert json.loads(malform(frame, "wrong_type", rng))["seq"] == "7"
    assert (
        json.loads(malform(b'{"type":"ticker","sid":2,"msg":{}}', "wrong_type", rng))["sid"] == "2"
    )
    assert json.loads(malform(frame, "unknown_type", rng))["type"] == "kcap_unknown"
    with pytest.raises(ValueError, match="malformation"):
        malform(frame, "nonsense", rng)


def test_close_after_n_frames_swallows_the_rest() -> None:
    out, log = run(FaultConfig(close_after_frames=30, close_code=4001))
    assert seqs(out) == list(range(1, 31))
    assert out[-1] == Close(4001, "kcap serve: injected close")
    (record,) = log.records
    assert (record.fault, record.frame, record.seq, record.detail) == (
        "close",
        30,
        30,
        {"code": 4001},
    )


def test_close_abort_and_random_close_interval() -> None:
    out, log = run(FaultConfig(seed=1, close_every_frames=40, close_code=None))
    assert isinstance(out[-1], Close) and out[-1].code is None
    frame = log.of("close")[0].frame
    assert seqs(out) == list(range(1, frame + 1))
    # the interval is drawn per connection: another connection closes elsewhere, reproducibly
    frames = {
        FaultPlan(FaultConfig(seed=1, close_every_frames=40), c, FaultLog()).close_at
        for c in range(1, 9)
    }
    assert len(frames) > 1


def test_stall_after_n_frames_swallows_replies_too() -> None:
    out, log = run(FaultConfig(stall_after_frames=60))
    assert seqs(out) == list(range(1, 61)) and out.count(REPLY.frame) == 1
    assert log.of("stall")[0].frame == 60


def test_same_seed_same_faults_other_seed_other_faults() -> None:
    config = FaultConfig(seed=11, drop=0.05, duplicate=0.05, reorder=0.05, malformed=0.05)
    first, log1 = run(config)
    second, log2 = run(config)
    assert first == second and log1.records == log2.records
    _, other = run(FaultConfig(seed=12, drop=0.05, duplicate=0.05, reorder=0.05, malformed=0.05))
    assert other.records != log1.records
    _, conn2 = run(config, conn=2)
    assert conn2.records != log1.records


def test_faulty_connections_limits_stream_faults() -> None:
    config = FaultConfig(drop=1.0, faulty_connections=1)
    assert run(config, conn=1)[0] == [REPLY.frame] * 4
    assert seqs(run(config, conn=2)[0]) == list(range(1, 201))


def test_handshake_faults_on_the_first_attempts() -> None:
    config = FaultConfig(handshake_status=503, handshake_delay_ns=5, handshake_attempts=2)
    assert [config.handshake(a) for a in (1, 2, 3)] == [(5, 503), (5, 503), (0, None)]
    assert FaultConfig(handshake_status=401).handshake(99) == (0, 401)


def test_fault_log_sink_writes_json_lines() -> None:
    lines: list[bytes] = []
    log = FaultLog(lines.append)
    log.add(FaultRecord("handshake_status", attempt=1, detail={"status": 503}))
    assert lines == [b'{"fault":"handshake_status","attempt":1,"detail":{"status":503}}\n']


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (FaultConfig(drop=1.5), "--drop"),
        (FaultConfig(drop=0.6, duplicate=0.6), "add up"),
        (FaultConfig(close_after_frames=0), "--close-after"),
        (FaultConfig(close_code=1006), "--close-code"),
        (FaultConfig(handshake_status=500), "--handshake-status"),
        (FaultConfig(handshake_delay_ns=-1), "--handshake-delay"),
    ],
)
def test_bad_fault_options(config: FaultConfig, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        config.check()
