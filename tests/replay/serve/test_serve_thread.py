"""The background-thread harness, driven from synchronous code (websockets' sync client)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from websockets.sync.client import connect

from kcap.errors import CaptureNotFoundError
from kcap.replay.serve import FaultConfig, ServeConfig
from kcap.replay.serve.thread import ServerThread
from serve_captures import B385, mixed_records, write_records


def test_sync_client_against_a_server_thread(tmp_path: Path) -> None:
    path = write_records(tmp_path / "m.jsonl", mixed_records())
    cfg = ServeConfig(
        paths=[path], start="manual", heartbeat_secs=None, faults=FaultConfig(drop=1.0)
    )
    with ServerThread(cfg) as served, connect(served.url, open_timeout=5) as ws:
        params = {"channels": ["orderbook_delta"], "market_ticker": B385}
        ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": params}))
        assert json.loads(ws.recv(timeout=5))["type"] == "subscribed"
        served.call(served.server.start_feed)
        assert served.wait_finished(timeout_secs=10)
        ws.send(json.dumps({"id": 2, "cmd": "list_subscriptions"}))
        assert json.loads(ws.recv(timeout=5))["id"] == 2  # every data frame was dropped
        assert {r.fault for r in served.fault_records()} == {"drop"}
        assert served.rest_url.endswith("/trade-api/v2")


def test_start_errors_reach_the_caller(tmp_path: Path) -> None:
    with (
        pytest.raises(CaptureNotFoundError),
        ServerThread(ServeConfig(paths=[tmp_path / "x.jsonl"])),
    ):
        pass
