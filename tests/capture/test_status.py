"""The status line (pure rendering), clock records and the recorder's signing."""

from __future__ import annotations

import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from kcap.capture.clock import SystemClock, clock_info
from kcap.capture.config import RecordConfig
from kcap.capture.run import Recorder
from kcap.capture.signing import HEADER_SIGNATURE, HEADER_TIMESTAMP, verify
from kcap.capture.status import StatusSnapshot, render


def test_render_shows_rates_channels_and_problems() -> None:
    snapshot = StatusSnapshot(
        state="connected",
        records=123_456,
        records_per_sec=2_345.6,
        bytes_written=12_345_678,
        types={"orderbook_delta": 1000, "orderbook_snapshot": 6, "trade": 12, "subscribed": 2},
        markets=42,
        gaps=1,
        resnapshots=1,
        reconnects=2,
        errors=1,
        last_error="16: Market not found",
        dropped=5,
        lag_ms=0.4,
        write_p99_ms=3.2,
        file="kcap-20261121T140000Z-1a2b3c4d-0001.jsonl.part",
    )
    text = render(snapshot).plain
    for part in (
        "connected",
        "123,456 records",
        "2,346/s",
        "12.3 MB",
        "42 markets",
        "gaps 1",
        "reconnects 2",
        "lag 0.4 ms",
        "p99 3.2 ms",
        "DROPPED 5",
        "errors 1 (16: Market not found)",
        "orderbook_delta 1,006",
        "trade 12",
        "-> kcap-20261121T140000Z",
    ):
        assert part in text, part
    assert "no frames yet" in render(StatusSnapshot()).plain


def test_clock_info_pairs_the_two_clocks() -> None:
    info = clock_info(SystemClock())
    assert info["wall_minus_mono_ns"] == info["wall_ns"] - info["mono_ns"]
    assert info["source"] == "system"


class FixedClock(SystemClock):
    def __init__(self, wall_ns: int) -> None:
        self.now = wall_ns

    def wall_ns(self) -> int:
        return self.now


def test_every_attempt_is_signed_afresh_and_verifies(
    tmp_path: Path, key_file: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    clock = FixedClock(time.time_ns())
    config = RecordConfig(key_id="k", private_key_path=key_file, out_dir=tmp_path, compact="off")
    recorder = Recorder(config, clock=clock)
    first = recorder._sign("GET", "/trade-api/ws/v2")
    clock.now += 1_500_000_000
    second = recorder._sign("GET", "/trade-api/ws/v2")
    assert int(second[HEADER_TIMESTAMP]) - int(first[HEADER_TIMESTAMP]) == 1500
    for headers in (first, second):
        assert verify(
            rsa_key.public_key(),
            headers[HEADER_TIMESTAMP],
            "GET",
            "/trade-api/ws/v2",
            headers[HEADER_SIGNATURE],
        )
    assert first[HEADER_SIGNATURE] != second[HEADER_SIGNATURE]
