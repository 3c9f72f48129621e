"""The ``kcap serve`` server: the thin asyncio/websockets layer over the pure feed, session
protocol, fault plan and REST answers.

One server plays one capture timeline for everyone, like a live exchange: the **playback**
task reads the capture (the readers and merge ``kcap replay`` uses), paces it (its
:class:`~kcap.replay.pacing.Pacer`), steps the :class:`~kcap.replay.serve.feed.Feed` and hands
each event to every connection. A client that subscribes gets the books as they are at the
current replay time, then the changes.

When the timeline runs (decisions of kcap serve, not Kalshi's):

* It starts at the first ``subscribe`` of any client (``start="subscribe"``), when the server
  starts listening (``"listen"``), or when :meth:`KalshiServer.start_feed` is called
  (``"manual"``, for tests that want every subscription in place first). Records before
  ``from_ns`` are applied before the server listens.
* Paced (``speed`` a factor), it follows the wall clock whether or not anyone listens. Flat out
  (``speed=None``) it goes as fast as the slowest subscriber reads, and waits while no client
  holds a subscription (with no reader there is no pace).
* It ends after ``to_ns`` or the last record; with ``loop`` it starts over, sids and seqs
  continuing. Connections stay open after the end (a quiet market).

HTTP on the same port (``process_request``, before any upgrade): the WebSocket path
``/trade-api/ws/v2`` (handshake faults first, then authentication: 401 before the upgrade),
and the REST discovery endpoints under ``/trade-api/v2`` (same authentication, signed with the
request's own method and path). Anything else is 404.
"""

from __future__ import annotations

import asyncio
import http
import importlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from kcap.capture.signing import WS_PATH
from kcap.errors import CaptureNotFoundError, ServeError
from kcap.replay.pacing import Pacer
from kcap.replay.player import Player, ReplayConfig, decoded_chunks
from kcap.replay.readers import expand_paths
from kcap.replay.serve import rest
from kcap.replay.serve.auth import Authenticator
from kcap.replay.serve.connection import Connection
from kcap.replay.serve.encode import Wire
from kcap.replay.serve.faults import FaultConfig, FaultLog, FaultPlan, FaultRecord
from kcap.replay.serve.feed import Feed
from kcap.replay.serve.markets import MarketCatalog
from kcap.replay.serve.protocol import Session

log = logging.getLogger("kcap.serve")

Record = tuple[str, str, Any, Any, int]
"""``(kind, conn, decoded message or None, frame bytes or None, recv_ns)``."""
_YIELD_EVERY = 256
CHUNK_EVENTS = 64
"""Feed events handed to the connections at once (an outbox exceeds its high-water mark by at
most one chunk)."""


@dataclass
class ServeConfig:
    """What ``kcap serve`` serves and how (see the module docstring for the timeline).

    Attributes:
        paths: capture files, directories or globs; empty: the embedded sample.
        host, port: where to listen (port 0: any free port).
        speed: replay speed factor, or None for flat out.
        max_gap_ns: longest quiet stretch of capture time played when paced.
        loop: start over at the end.
        from_ns, to_ns: receive-time window of the capture (Unix ns, inclusive).
        start: ``subscribe``, ``listen`` or ``manual`` (see the module docstring).
        wire: ``current`` or ``legacy`` frames.
        auth: request authentication, or None to accept every request.
        heartbeat_secs: ping interval (None: no heartbeat). heartbeat_timeout_secs: pong wait.
        close_timeout_secs: how long a closing handshake may take before the TCP connection
            is aborted.
        faults: fault injection. fault_log: also write each fault as a JSON line here.
        high_water: outbox frames per connection before the feed waits for that client.
        skip_damaged: report and skip damaged capture lines instead of stopping.
    """

    paths: Sequence[str | Path] = ()
    host: str = "127.0.0.1"
    port: int = 0
    speed: float | None = None
    max_gap_ns: int | None = None
    loop: bool = False
    from_ns: int | None = None
    to_ns: int | None = None
    start: Literal["subscribe", "listen", "manual"] = "subscribe"
    wire: Wire = "current"
    auth: Authenticator | None = None
    heartbeat_secs: float | None = 10.0
    heartbeat_timeout_secs: float = 10.0
    close_timeout_secs: float = 2.0
    faults: FaultConfig = field(default_factory=FaultConfig)
    fault_log: Path | None = None
    high_water: int = 1024
    skip_damaged: bool = False


def capture_files(paths: Sequence[str | Path]) -> list[Path]:
    """The capture files to serve: ``paths`` expanded, or the embedded sample's.

    Raises:
        CaptureNotFoundError: nothing matches, or no paths and no embedded sample.
    """
    if not paths:
        try:
            sample = importlib.import_module("kcap.sample")  # imported lazily: data files
            paths = list(sample.capture_paths())
        except (ImportError, AttributeError):
            raise CaptureNotFoundError(
                "no capture given and this kcap has no embedded sample (kcap.sample); "
                "pass capture files, directories or globs"
            ) from None
    return expand_paths(paths)


class KalshiServer:
    """A local Kalshi-compatible WebSocket + REST server playing a capture back.

    Use as ``async with KalshiServer(config) as server:``; :attr:`url` is the WebSocket URL.

    Args:
        config: what to serve.
        now_ms: wall clock for authentication timestamps, Unix ms (injectable for tests).

    Attributes:
        feed: the canonical stream and its books (None before :meth:`start`).
        fault_log: every fault injected.
        connections: the open connections.
        finished: set when the timeline has ended (never with ``loop``).
        counts: ``attempts``, ``accepted``, ``unauthorized``, ``rest`` requests.
    """

    def __init__(self, config: ServeConfig, *, now_ms: Callable[[], int] | None = None) -> None:
        config.faults.check()
        self.config = config
        self.now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self.feed: Feed | None = None
        self.files: list[Path] = []
        self.connections: list[Connection] = []
        self.finished = asyncio.Event()
        self.counts: dict[str, int] = dict.fromkeys(
            ("attempts", "accepted", "unauthorized", "rest"), 0
        )
        self._fault_file: BinaryIO | None = None
        self.fault_log = FaultLog()
        self._server: Server | None = None
        self._play_task: asyncio.Task[None] | None = None
        self._go = asyncio.Event()
        self._anyone = asyncio.Event()
        self._full: list[Connection] = []
        self._pending: Record | None = None
        self._records: Iterator[Record] = iter(())

    # -- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> KalshiServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Read the capture's markets, apply records before ``from_ns``, then listen.

        Raises:
            CaptureNotFoundError, CaptureFormatError: the capture cannot be read.
            ServeError: the address cannot be listened on.
        """
        cfg = self.config
        self.files = capture_files(cfg.paths)
        catalog = MarketCatalog()
        for batch, messages in decoded_chunks(self._player().batches()):
            catalog.scan(messages, batch.recv_ns)
        self.feed = Feed(catalog, cfg.wire)
        log.info("serving %s from %d file(s)", catalog.describe(), len(self.files))
        self._records = self._iter_records()
        self._fast_forward()
        if cfg.fault_log is not None:
            fault_file = self._fault_file = cfg.fault_log.open("ab", buffering=0)
            self.fault_log.sink = lambda line: _write(fault_file, line)
        try:
            self._server = await serve(
                self._handle,
                cfg.host,
                cfg.port,
                process_request=self._process_request,
                ping_interval=None,
                close_timeout=cfg.close_timeout_secs,
                compression=None,
                max_size=64 << 20,  # Kalshi accepts frames up to 64 MiB (section 1.5)
            )
        except OSError as exc:
            raise ServeError(
                f"cannot listen on {cfg.host}:{cfg.port}: {exc.strerror or exc}"
            ) from None
        if cfg.start == "listen":
            self._go.set()
        self._play_task = asyncio.create_task(self._play(), name="kcap-serve-playback")

    async def close(self) -> None:
        """Stop playback, close every connection (1001) and stop listening."""
        if self._play_task is not None:
            self._play_task.cancel()
            await asyncio.gather(self._play_task, return_exceptions=True)
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
        if self._fault_file is not None:
            self._fault_file.close()

    async def serve_forever(self) -> None:
        """Run until cancelled."""
        assert self._server is not None
        await self._server.serve_forever()

    def start_feed(self) -> None:
        """Start the timeline now (``start="manual"``; harmless otherwise)."""
        self._go.set()

    @property
    def port(self) -> int:
        """The port listened on."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def base(self) -> str:
        """``127.0.0.1:PORT`` (IPv6 hosts in brackets)."""
        host = self.config.host
        return f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The WebSocket URL to connect to: ``ws://127.0.0.1:PORT/trade-api/ws/v2``."""
        return f"ws://{self.base}{WS_PATH}"

    @property
    def rest_url(self) -> str:
        """The REST base URL: ``http://127.0.0.1:PORT/trade-api/v2``."""
        return f"http://{self.base}{rest.REST_PREFIX}"

    # -- playback -----------------------------------------------------------------------------

    def _player(self) -> Player:
        return Player(ReplayConfig(paths=self.files, skip_damaged=self.config.skip_damaged))

    def _iter_records(self) -> Iterator[Record]:
        for batch, messages in decoded_chunks(self._player().batches()):
            yield from zip(
                batch.kind, batch.conn, messages, batch.frame, batch.recv_ns, strict=True
            )

    def _fast_forward(self) -> None:
        """Apply the records before ``from_ns`` (no client exists yet, nothing is sent)."""
        assert self.feed is not None
        from_ns = self.config.from_ns
        step = self.feed.step
        for record in self._records:
            if from_ns is None or record[4] >= from_ns:
                self._pending = record
                return
            step(*record)

    async def _play(self) -> None:
        assert self.feed is not None
        await self._go.wait()
        while True:
            await self._play_records(self._timeline())
            if not self.config.loop:
                break
            self.feed.restart()
            self._records = self._iter_records()
        self.finished.set()
        for conn in list(self.connections):
            conn.flush()
        log.info("end of capture: %s", dict(self.feed.counts))

    def _timeline(self) -> Iterator[Record]:
        """This pass's records from ``from_ns`` (the first pass resumes after the fast-forward)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            yield pending
            yield from self._records
            return
        from_ns = self.config.from_ns
        for record in self._records:
            if from_ns is None or record[4] >= from_ns:
                yield record
            else:
                self._broadcast(self.feed.step(*record) if self.feed else ())

    async def _play_records(self, records: Iterator[Record]) -> None:
        """Step the feed through ``records``, paced or flat out, handing events to clients.

        Events are handed over in chunks, always before any ``await``: a command is handled
        only at an ``await``, so it sees every event stepped before it already queued.
        """
        assert self.feed is not None
        cfg = self.config
        pacer = Pacer(cfg.speed, cfg.max_gap_ns) if cfg.speed else None
        loop = asyncio.get_running_loop()
        start_secs: float | None = None
        step = self.feed.step
        to_ns = cfg.to_ns
        pending: list[Any] = []
        for n, record in enumerate(records):
            recv_ns = record[4]
            if to_ns is not None and recv_ns > to_ns:
                break
            if pacer is not None:
                due_secs = pacer.due_ns(recv_ns) / 1e9
                if start_secs is None:
                    start_secs = loop.time() - due_secs
                delay = start_secs + due_secs - loop.time()
                if delay > 0:
                    pending = self._broadcast(pending)
                    await asyncio.sleep(delay)
            elif not self._anyone.is_set():
                pending = self._broadcast(pending)
                await self._anyone.wait()
            events = step(*record)
            if events:
                pending += events
                if len(pending) >= CHUNK_EVENTS:
                    pending = self._broadcast(pending)
            if self._full:
                await self._wait_for_room()
            elif n % _YIELD_EVERY == 0:
                pending = self._broadcast(pending)
                await asyncio.sleep(0)
        self._broadcast(pending)

    def _broadcast(self, events: Sequence[Any]) -> list[Any]:
        """Hand ``events`` to every connection; returns a fresh empty list."""
        if events:
            for conn in self.connections:
                conn.deliver(events)
        return []

    async def _wait_for_room(self) -> None:
        while self._full:
            await self._full.pop().room.wait()

    def _on_full(self, conn: Connection) -> None:
        self._full.append(conn)

    def _subscriptions_changed(self) -> None:
        if any(c.session.subs for c in self.connections):
            self._anyone.set()
            if self.config.start == "subscribe":
                self._go.set()
        else:
            self._anyone.clear()

    # -- connections --------------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        assert self.feed is not None
        cfg = self.config
        self.counts["accepted"] += 1
        number = self.counts["accepted"]
        plan = FaultPlan(cfg.faults, number, self.fault_log)
        conn = Connection(
            ws, number, Session(self.feed), plan, high_water=cfg.high_water, on_full=self._on_full
        )
        self.connections.append(conn)
        tasks = [asyncio.create_task(conn.write())]
        if cfg.heartbeat_secs:
            tasks.append(
                asyncio.create_task(conn.heartbeat(cfg.heartbeat_secs, cfg.heartbeat_timeout_secs))
            )
        log.info("connection %d from %s", number, ws.remote_address)
        try:
            await conn.read(self._subscriptions_changed)
        finally:
            conn.mark_closed()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.connections.remove(conn)
            self._subscriptions_changed()
            log.info("connection %d closed (%s)", number, ws.close_code)

    async def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        path, _, query = request.path.partition("?")
        if path == WS_PATH:
            return await self._upgrade(ws, request)
        if path.startswith(rest.REST_PREFIX):
            refused = self._authenticate(ws, request.headers, path)
            if refused is not None:
                return refused
            self.counts["rest"] += 1
            assert self.feed is not None
            status, body = rest.answer(path, query, self.feed)
            return _json(ws, status, body)
        return _json(ws, 404, _error_body("not_found", f"no such path: {path}"))

    async def _upgrade(self, ws: ServerConnection, request: Request) -> Response | None:
        self.counts["attempts"] += 1
        attempt = self.counts["attempts"]
        delay_ns, status = self.config.faults.handshake(attempt)
        if delay_ns:
            self.fault_log.add(
                FaultRecord("handshake_delay", attempt=attempt, detail={"delay_ns": delay_ns})
            )
            await asyncio.sleep(delay_ns / 1e9)
        if status is not None:
            self.fault_log.add(
                FaultRecord("handshake_status", attempt=attempt, detail={"status": status})
            )
            phrase = http.HTTPStatus(status).phrase
            return _json(
                ws, status, _error_body(phrase.lower().replace(" ", "_"), f"injected {status}")
            )
        return self._authenticate(ws, request.headers, WS_PATH)

    def _authenticate(self, ws: ServerConnection, headers: Headers, path: str) -> Response | None:
        auth = self.config.auth
        if auth is None:
            return None
        reason = auth.check(headers, "GET", path, self.now_ms())
        if reason is None:
            return None
        self.counts["unauthorized"] += 1
        log.info("401 for %s: %s", path, reason)
        return _json(ws, 401, _error_body("authentication_error", reason))


_encode = msgspec.json.Encoder().encode


def _write(file: BinaryIO, line: bytes) -> None:
    file.write(line)


def _error_body(code: str, message: str) -> bytes:
    return _encode({"error": {"code": code, "message": message, "service": "kcap-serve"}})


def _json(ws: ServerConnection, status: int, body: bytes) -> Response:
    response = ws.respond(status, body.decode("utf-8"))
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = "application/json"
    return response
