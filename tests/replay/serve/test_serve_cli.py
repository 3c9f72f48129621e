from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from pathlib import Path

import pytest
import websockets
from click.testing import CliRunner

from kcap.cli import main
from serve_captures import B385, mixed_records, write_records


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "pass --public-key PATH"),
        (["--no-auth", "--public-key", "k.pem"], "exclude each other"),
        (["--no-auth", "--drop", "2"], "--drop: expected a fraction"),
        (["--no-auth", "--drop", "0.7", "--reorder", "0.7"], "add up to 1.4"),
        (["--no-auth", "--close-code", "soon"], "--close-code"),
        (["--no-auth", "--speed", "fast"], "expected a speed"),
        (["--no-auth", "--heartbeat", "often"], "expected a duration"),
        (
            ["--no-auth", "--from", "2025-12-20", "--to", "2025-12-19"],
            "--to is earlier than --from",
        ),
        (["--public-key", "missing.pem"], "cannot read public key file"),
    ],
)
def test_usage_errors_print_kcap_message(args: list[str], message: str, tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    result = CliRunner().invoke(main, ["serve", str(path), *args])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("kcap: ") and message in result.output


def test_missing_capture_is_a_kcap_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["serve", str(tmp_path / "nope.jsonl"), "--no-auth", "--port", "0"]
    )
    assert result.exit_code == 1 and "kcap: no such capture file" in result.output


async def test_kcap_serve_prints_a_url_that_serves(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    command = [
        sys.executable,
        "-m",
        "kcap.cli",
        "serve",
        str(path),
        "--no-auth",
        "--port",
        "0",
        "--speed",
        "max",
    ]
    proc = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        match = re.fullmatch(r"kcap serve: (ws://127\.0\.0\.1:\d+/trade-api/ws/v2)\n", line)
        assert match, line
        rest_line = (await asyncio.wait_for(proc.stdout.readline(), 5)).decode()
        assert rest_line.startswith("kcap serve: REST http://127.0.0.1:")
        async with websockets.connect(match.group(1), open_timeout=5) as ws:
            await ws.send(
                json.dumps(
                    {
                        "id": 1,
                        "cmd": "subscribe",
                        "params": {"channels": ["orderbook_delta"], "market_ticker": B385},
                    }
                )
            )
            first = json.loads(await asyncio.wait_for(ws.recv(), 5))
            snapshot = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert first["type"] == "subscribed" and snapshot["type"] == "orderbook_snapshot"
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 10) == 0
