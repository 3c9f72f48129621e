"""The recorder as a real process against ``kcap serve``: kill -9 and restart, SIGTERM, a full
disk (RLIMIT_FSIZE).

The server (in this process) plays a day of the embedded sample in a loop at 2000x, a steady
few hundred frames a second; the recorder subprocess finds the markets through serve's REST
API (``--event``) and records them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import resource
import signal
import sys
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from polling import until

from kcap import sample
from kcap.replay.readers import read_jsonl
from kcap.replay.serve import KalshiServer, ServeConfig
from kcap.replay.serve.auth import Authenticator

EVENT = "KXHIGHNY-25DEC06"
FLUSH_MS = 5


@pytest.fixture
def served(rsa_key: rsa.RSAPrivateKey) -> KalshiServer:
    day = next(p for p in sample.capture_paths() if EVENT in p.name)
    return KalshiServer(
        ServeConfig(
            paths=[day],
            speed=2000.0,
            max_gap_ns=50_000_000,
            loop=True,
            start="listen",
            auth=Authenticator(rsa_key.public_key()),
        )
    )


async def start_recorder(
    url: str, out: Path, key: Path, *extra: str, fsize_limit: int | None = None
) -> asyncio.subprocess.Process:
    def limit() -> None:  # in the child, before exec
        if fsize_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))

    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kcap.cli",
        "record",
        "--url",
        url,
        "--key-id",
        "test-key",
        "--private-key",
        str(key),
        "--channels",
        "orderbook_delta,trade",
        "--event",
        EVENT,
        "--out",
        str(out),
        "--flush-ms",
        str(FLUSH_MS),
        "--no-status",
        *extra,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=limit if fsize_limit is not None else None,
    )


def digests(paths: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def young_part(out: Path) -> bool:
    """An open file holds 20+ records and was opened under half a second ago."""
    for path in out.rglob("*.jsonl.part"):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # sealed meanwhile
            continue
        if data.count(b"\n") > 20:
            opened_ns = json.loads(data[: data.index(b"\n")])["recv_ns"]
            return time.time_ns() - opened_ns < 500_000_000
    return False


async def test_kill_9_then_restart_repairs_and_damages_nothing(
    tmp_path: Path, key_file: Path, served: KalshiServer
) -> None:
    out = tmp_path / "captures"
    async with served as server:
        proc = await start_recorder(server.url, out, key_file, "--rotate", "1s", "--keep-jsonl")
        try:  # kill mid-file: 20+ records in, well before the next (time) rotation
            await until(lambda: len(list(out.rglob("*.jsonl"))) >= 2 and young_part(out), 30)
        finally:
            proc.kill()  # SIGKILL: no cleanup at all
            killed_ns = time.time_ns()
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        closed = sorted(out.rglob("*.jsonl"))
        before = digests(closed)
        (part,) = out.rglob("*.jsonl.part")
        whole = part.read_bytes()
        torn = b'{"kind":"frame","conn":"x.1","rec":99,"recv'  # as a power loss could leave
        with part.open("ab") as fh:
            fh.write(torn)

        proc = await start_recorder(server.url, out, key_file, "--rotate", "1h", "--keep-jsonl")
        await until(lambda: len(list(out.rglob("*.jsonl.part"))) == 1, timeout_secs=30)
        await until(lambda: part.with_name(part.name[: -len(".part")]).exists(), timeout_secs=30)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    # every file closed before the crash is untouched
    assert digests(closed) == before
    # the leftover was cut back to its whole records and sealed, never overwritten
    sealed = part.with_name(part.name[: -len(".part")])
    assert sealed.read_bytes() == whole[: whole.rfind(b"\n") + 1]
    manifest = json.loads(
        sealed.with_name(sealed.name[: -len(".jsonl")] + ".manifest.json").read_text()
    )
    assert manifest["repair"]["cut_bytes"] == len(whole) - (whole.rfind(b"\n") + 1) + len(torn)
    assert manifest["jsonl"]["sha256"] == hashlib.sha256(sealed.read_bytes()).hexdigest()
    for path in closed:  # every closed file has a manifest that matches it
        m = json.loads(path.with_name(path.name[: -len(".jsonl")] + ".manifest.json").read_text())
        assert m["jsonl"]["sha256"] == before[path]
    # the loss is bounded by the flush window: the last record on disk is recent
    last = list(read_jsonl(sealed))[-1]
    lag_ms = (killed_ns - last.recv_ns[-1]) / 1e6
    assert lag_ms < FLUSH_MS + 1000, lag_ms
    assert b"session" in stdout and b"records" in stdout


async def test_full_disk_is_a_clear_error_and_closed_files_stay_intact(
    tmp_path: Path, key_file: Path, served: KalshiServer
) -> None:
    out = tmp_path / "captures"
    async with served as server:
        first = await start_recorder(server.url, out, key_file, "--rotate", "16KB", "--keep-jsonl")
        await until(lambda: len(list(out.rglob("*.jsonl"))) >= 2, timeout_secs=30)
        first.send_signal(signal.SIGINT)  # Ctrl-C: the same clean stop as SIGTERM
        _, stderr = await asyncio.wait_for(first.communicate(), 60)
        assert first.returncode == 0, stderr.decode()
        closed = sorted(out.rglob("*.jsonl")) + sorted(out.rglob("*.parquet"))
        before = digests(closed)

        limit = 24_000
        second = await start_recorder(
            server.url, out, key_file, "--rotate", "1h", "--keep-jsonl", fsize_limit=limit
        )
        _, stderr = await asyncio.wait_for(second.communicate(), 60)
    assert second.returncode == 1
    message = stderr.decode()
    assert "kcap: cannot write" in message and "File too large" in message, message
    assert "files closed before are intact" in message
    assert digests(closed) == before
    new = [p for p in out.rglob("*.jsonl") if p not in before]
    (cut,) = new
    data = cut.read_bytes()
    assert data.endswith(b"\n") and len(data) <= limit
    assert sum(len(b) for b in read_jsonl(cut)) == data.count(b"\n")  # every line whole
    assert not list(out.rglob("*.part"))
    assert cut.stat().st_size > 1000
