"""``kcap record``: recover, discover, connect, subscribe, record, reconnect, stop.

:class:`Recorder` ties the parts together:

1. seal files a crash left behind (:mod:`kcap.capture.recover`) and queue their compaction;
2. resolve markets through the REST API (:mod:`kcap.capture.discovery`);
3. loop: backoff delay (:mod:`kcap.capture.backoff`), sign (a new timestamp every attempt),
   connect (:mod:`kcap.capture.transport`), run a :class:`~kcap.capture.session.Session`
   until the connection ends, is idle too long, or a command goes unanswered;
4. on stop (SIGINT / SIGTERM / ``--duration``): stop reading, write the disconnect, flush and
   seal the open file, finish compaction, return.

Every frame goes to the :class:`~kcap.capture.writer.CaptureWriter` first, from the socket
read, and only then to the session; every command sent and every control event (connect,
connect_failed, subscription, gap, resnapshot, error, disconnect) is a record too, as are
``stats`` and ``clock`` records every ``stats_secs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kcap.capture.backoff import Backoff, classify
from kcap.capture.clock import Clock, SystemClock, clock_info
from kcap.capture.compactor import Compactor
from kcap.capture.config import RecordConfig, header_metadata
from kcap.capture.discovery import Discovery, HttpClient
from kcap.capture.envelope import peek
from kcap.capture.recover import recover
from kcap.capture.rotate import RotationPolicy
from kcap.capture.session import Note, Output, Send, Session
from kcap.capture.signing import WS_PATH, auth_headers, key_file_warning, load_private_key
from kcap.capture.status import StatusSnapshot, StatusView
from kcap.capture.telemetry import RateMeter, RecordResult, log_note, stats_info, status_snapshot
from kcap.capture.transport import RecordingConnection, open_connection
from kcap.capture.writer import CaptureWriter, Conn, write_error
from kcap.errors import (
    AuthRejectedError,
    CaptureWriteError,
    ConnectFatalError,
    CredentialsError,
    DiscoveryError,
)
from kcap.schemas.record import CLOCK, CONNECT, CONNECT_FAILED, DISCONNECT, SENT, STATS

log = logging.getLogger("kcap.record")

Connector = Callable[[str, dict[str, str]], Awaitable[RecordingConnection]]
"""``connect(url, headers)``: opens one connection (injected in tests)."""

REDISCOVER_SECS = 1800.0
"""How often followed series and events are looked up again (besides every reconnect)."""


class Recorder:
    """One ``kcap record`` run (see the module docstring).

    Args:
        config: what to record and how.
        clock: wall/monotonic time and the backoff sleep.
        http: REST client for discovery (default: urllib).
        status: where status snapshots go (None: nowhere).
        connect: opens a connection (default: :func:`open_connection`).
        backoff: reconnect delays (default from the config).

    Raises:
        CredentialsError: (at construction) no key id, or an unusable private key file.
    """

    def __init__(
        self,
        config: RecordConfig,
        *,
        clock: Clock | None = None,
        http: HttpClient | None = None,
        status: StatusView | None = None,
        connect: Connector | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if not config.key_id:
            raise CredentialsError("no API key id: pass --key-id or set KALSHI_API_KEY_ID")
        self.config = config
        self.key = load_private_key(config.private_key_path)
        warning = key_file_warning(config.private_key_path)
        if warning:
            log.warning("%s", warning)
        self.clock = clock or SystemClock()
        self.status = status
        self._connect = connect or open_connection
        self.backoff = backoff or Backoff(config.backoff_initial_secs, config.backoff_max_secs)
        self.session_id = secrets.token_hex(4)
        self.result = RecordResult(self.session_id)
        self.discovery = Discovery(config.rest_url, self._sign, http)
        self.follow = (*config.follow_series, *config.events)
        self.markets: set[str] = set(config.markets)
        self.compactor = Compactor(config.compact, keep_jsonl=config.keep_jsonl)
        self.writer = CaptureWriter(
            config.out_dir,
            self.session_id,
            {},
            rotation=RotationPolicy(config.rotate_ns, config.rotate_bytes),
            flush_records=config.flush_records,
            flush_ms=config.flush_ms,
            fsync=config.fsync,
            fsync_ms=config.fsync_ms,
            queue_records=config.queue_records,
            on_sealed=self._sealed,
            on_error=self._write_failed,
        )
        self.session: Session | None = None
        self.connection: RecordingConnection | None = None
        self.state = "starting"
        self._live: tuple[Conn, Session, asyncio.Queue[bytes]] | None = None
        self._write_error: tuple[BaseException, Path | None] | None = None
        self._stop = asyncio.Event()
        self._failed = asyncio.Event()
        self._reconnect = asyncio.Event()
        self._reconnect_reason = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started_mono = 0
        self._rate = RateMeter()
        self._last_discovery_mono = 0

    # -- control ------------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop: finish the current file and return from :meth:`run` (signal-safe via the loop)."""
        if not self._stop.is_set():
            log.info("stopping: flushing, sealing and compacting")
            self.state = "stopping"
        self._stop.set()

    @property
    def stopping(self) -> bool:
        """True once a stop was requested or the writer failed."""
        return self._stop.is_set() or self._failed.is_set()

    async def run(self) -> RecordResult:
        """Record until stopped; see the module docstring.

        Returns:
            What was recorded.

        Raises:
            AuthRejectedError: Kalshi refused the key (HTTP 401 / 403).
            ConnectFatalError: a connection error retrying cannot fix.
            DiscoveryError: the REST API gave an answer kcap cannot use.
            CaptureWriteError: the disk failed; every file closed is intact.
        """
        self._loop = asyncio.get_running_loop()
        self._started_mono = self.clock.mono_ns()
        with contextlib.suppress(ValueError):  # not the main thread: the caller handles it
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a size limit is an error, not death
        housekeeping: asyncio.Task[None] | None = None
        try:
            await self._recover()
            await self._discover_first()
            if not self.stopping:
                self._start_writer()
                housekeeping = asyncio.create_task(self._housekeeping())
                await self._connect_loop()
        finally:
            if housekeeping is not None:
                housekeeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await housekeeping
            await self._shutdown()
        if self._write_error is not None:
            raise self._write_error_message()
        return self.result

    # -- phases -------------------------------------------------------------------------------

    async def _recover(self) -> None:
        found = await asyncio.to_thread(
            recover, self.config.out_dir, drop_kept_jsonl=not self.config.keep_jsonl
        )
        for repair in found.repairs:
            if repair.cut_bytes:
                log.warning(
                    "recovered %s after a crash: cut %d bytes of torn tail",
                    repair.sealed or repair.path,
                    repair.cut_bytes,
                )
        for path in found.to_finalize:
            self.compactor.submit(path)

    async def _discover_first(self) -> None:
        if not self.follow:
            return
        failures = Backoff(1.0, 60.0)
        while not self.stopping:
            try:
                await self._discover()
                return
            except DiscoveryError as exc:
                if not exc.retryable:
                    raise
                delay = failures.next_delay_secs() or 1.0
                log.warning("market discovery failed (%s); retrying in %.1f s", exc, delay)
                await self._sleep_or_stop(delay)

    async def _discover(self) -> set[str]:
        """Look followed series and events up; add what is new. Returns the new markets."""
        series, events = self.config.follow_series, self.config.events
        log.info(
            "looking up the open markets of %s through %s",
            ", ".join((*series, *events)),
            self.config.rest_url,
        )
        task = asyncio.create_task(
            asyncio.to_thread(self.discovery.open_markets, series=series, events=events)
        )
        stop = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not task.done():
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # abandoned
            return set()
        found = task.result()
        self._last_discovery_mono = self.clock.mono_ns()
        for name, tickers in found.items():
            if not tickers:
                log.warning(
                    "%s has no open market now; its new markets are added when created", name
                )
        new = {t for tickers in found.values() for t in tickers} - self.markets
        self.markets |= new
        return new

    def _start_writer(self) -> None:
        config = self.config
        self.writer.metadata = header_metadata(config, self.follow, self.markets)
        now, mono = self.clock.wall_ns(), self.clock.mono_ns()
        self.writer.start(now, mono)
        self.writer.record(CLOCK, self.writer.control, now, mono, info=clock_info(self.clock))
        log.info(
            "recording session %s: %d markets, channels %s, to %s",
            self.session_id,
            len(self.markets),
            ",".join(config.all_channels),
            config.out_dir,
        )

    async def _connect_loop(self) -> None:
        attempt = 0
        while not self.stopping:
            delay = self.backoff.next_delay_secs()
            if delay > 0:
                self.state = f"reconnecting in {delay:.1f} s"
                if await self._sleep_or_stop(delay):
                    return
            attempt += 1
            if attempt > 1 and self.follow:
                await self._rediscover()
            conn = Conn(f"{self.session_id}.{attempt}")
            self.state = "connecting"
            url = self.config.ws_url
            try:
                ws = await self._connect(url, self._sign("GET", urlsplit(url).path or WS_PATH))
            except Exception as exc:
                self._connect_failed(conn, url, exc)
                continue
            opened = self.clock.mono_ns()
            self.result.connections += 1
            await self._record_connection(ws, conn, url)
            if self.clock.mono_ns() - opened >= self.config.healthy_secs * 1e9:
                self.backoff.reset()
            if not self.stopping:
                self.result.reconnects += 1

    def _connect_failed(self, conn: Conn, url: str, exc: Exception) -> None:
        try:
            verdict = classify(exc)
        except TypeError:
            raise exc from None
        info = {
            "url": url,
            "status": verdict.status,
            "error": verdict.reason,
            "fatal": not verdict.retry,
        }
        self.writer.record(
            CONNECT_FAILED, conn, self.clock.wall_ns(), self.clock.mono_ns(), info=info
        )
        if verdict.auth and verdict.status is not None:
            raise AuthRejectedError(verdict.status, url) from None
        if not verdict.retry:
            raise ConnectFatalError(f"cannot connect to {url}: {verdict.reason}") from None
        log.warning("connection to %s failed: %s", url, verdict.reason)

    async def _record_connection(self, ws: RecordingConnection, conn: Conn, url: str) -> None:
        writer, clock = self.writer, self.clock
        now, mono = clock.wall_ns(), clock.mono_ns()
        status = ws.response.status_code if ws.response is not None else None
        writer.record(CONNECT, conn, now, mono, info={"url": url, "status": status})
        session = Session(
            self.config.all_channels,
            self.markets,
            follow=self.follow,
            resnapshot=self.config.resnapshot,
            ack_timeout_ns=int(self.config.ack_timeout_secs * 1e9),
        )
        outgoing: asyncio.Queue[bytes] = asyncio.Queue()
        self.session, self._live = session, (conn, session, outgoing)
        self.connection = ws
        self._reconnect.clear()
        dispatch = self._dispatch
        write_frame = writer.frame
        receive = session.receive_envelope

        def sink(data: bytes, binary: bool, recv_ns: int, mono_ns: int) -> None:
            # one JSON pass decides how the frame is stored and gives the session its
            # envelope; the frame is queued for the disk before the session acts on it
            env, splice = peek(data)
            if write_frame(conn, recv_ns, mono_ns, data, binary, splice):
                outputs = receive(env, data, recv_ns)
                if outputs:
                    dispatch(outputs, conn, recv_ns, mono_ns, outgoing)

        ws.attach(sink)
        self.state = "connected"
        log.info("connected to %s (%s)", url, conn.id)
        dispatch(session.start(now), conn, now, mono, outgoing)
        sender = asyncio.create_task(self._send_loop(ws, outgoing))
        try:
            cause, error = await self._watch(ws, session, conn, outgoing)
        finally:
            ws.detach()
            self._live = None
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
        await self._close(ws, cause)
        self._account(session)
        info = {"code": ws.close_code, "reason": ws.close_reason, "cause": cause, "error": error}
        writer.record(DISCONNECT, conn, clock.wall_ns(), clock.mono_ns(), info=info)
        if not self.stopping:
            log.warning("disconnected (%s%s); reconnecting", cause, f": {error}" if error else "")
        if ws.sink_error is not None:
            raise ws.sink_error

    async def _send_loop(self, ws: RecordingConnection, outgoing: asyncio.Queue[bytes]) -> None:
        while True:
            data = await outgoing.get()
            try:
                await ws.send(data, text=True)
            except Exception as exc:  # the connection is going away; _watch sees it close
                log.debug("send failed: %s", exc)
                return

    async def _watch(
        self, ws: RecordingConnection, session: Session, conn: Conn, outgoing: asyncio.Queue[bytes]
    ) -> tuple[str, str | None]:
        """Wait until the connection must end; returns ``(cause, detail)``."""
        config = self.config
        idle_ns = int(config.idle_timeout_secs * 1e9)
        tick = min(0.5, config.idle_timeout_secs / 5, config.ack_timeout_secs / 5)
        waits = {
            "closed": asyncio.ensure_future(ws.wait_closed()),
            "shutdown": asyncio.ensure_future(self._stop.wait()),
            "writer failed": asyncio.ensure_future(self._failed.wait()),
            "reconnect": asyncio.ensure_future(self._reconnect.wait()),
        }
        try:
            while True:
                done, _ = await asyncio.wait(
                    waits.values(), timeout=tick, return_when=asyncio.FIRST_COMPLETED
                )
                for cause, future in waits.items():
                    if future in done:
                        detail = self._reconnect_reason if cause == "reconnect" else None
                        return cause, detail
                idle = asyncio.get_running_loop().time() * 1e9 - ws.last_read_mono_ns
                if idle > idle_ns:
                    return "idle", f"nothing received for {config.idle_timeout_secs:g} s"
                outputs = session.tick(self.clock.wall_ns())
                if outputs:
                    self._dispatch(
                        outputs, conn, self.clock.wall_ns(), self.clock.mono_ns(), outgoing
                    )
        finally:
            for future in waits.values():
                future.cancel()

    async def _close(self, ws: RecordingConnection, cause: str) -> None:
        if cause in ("shutdown", "writer failed"):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(1000, "kcap record stopping"), 2.0)
        if ws.transport is not None and not ws.transport.is_closing():
            ws.transport.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.wait_closed(), 2.0)

    def _dispatch(
        self,
        outputs: list[Output],
        conn: Conn,
        recv_ns: int,
        mono_ns: int,
        outgoing: asyncio.Queue[bytes],
    ) -> None:
        """Record and send the session's outputs, in order."""
        for out in outputs:
            if isinstance(out, Send):
                self.writer.record(SENT, conn, recv_ns, mono_ns, frame=out.data)
                outgoing.put_nowait(out.data)
            elif isinstance(out, Note):
                self.writer.record(out.kind, conn, recv_ns, mono_ns, info=out.info)
                log_note(out)
            else:
                self._reconnect_reason = out.reason
                self._reconnect.set()

    # -- housekeeping -------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        """Status updates, stats/clock records, quiet-time rotation, periodic rediscovery."""
        stats_every_ns = int(self.config.stats_secs * 1e9)
        next_stats = self.clock.mono_ns() + stats_every_ns
        while True:
            await asyncio.sleep(0.25)
            now, mono = self.clock.wall_ns(), self.clock.mono_ns()
            self.writer.rotate_if_due(now, mono)
            if mono >= next_stats:
                next_stats = mono + stats_every_ns
                self._stats_records(now, mono)
            if self.status is not None:
                self.status.update(self.snapshot(mono))
            if self.follow and mono - self._last_discovery_mono > REDISCOVER_SECS * 1e9:
                await self._rediscover()

    async def _rediscover(self) -> None:
        try:
            new = await self._discover()
        except DiscoveryError as exc:
            log.warning("market discovery failed (%s); keeping the current markets", exc)
            self._last_discovery_mono = self.clock.mono_ns()
            return
        if new and self._live is not None:
            conn, session, outgoing = self._live
            now, mono = self.clock.wall_ns(), self.clock.mono_ns()
            self._dispatch(session.add_markets(sorted(new), now), conn, now, mono, outgoing)
        if new:
            log.info("discovered %d new markets: %s", len(new), ", ".join(sorted(new)[:10]))

    def _stats_records(self, now: int, mono: int) -> None:
        writer = self.writer
        control = writer.control
        writer.record(STATS, control, now, mono, info=self._stats_info(mono))
        writer.record(CLOCK, control, now, mono, info=clock_info(self.clock))

    def _stats_info(self, mono: int) -> dict[str, Any]:
        session = self.session
        markets = len(session.markets) if session else len(self.markets)
        return stats_info(self.writer, self.result, session, markets, mono)

    def snapshot(self, mono: int) -> StatusSnapshot:
        """The status line's content now."""
        session = self.session
        return status_snapshot(
            self.state,
            (mono - self._started_mono) / 1e9,
            self.writer,
            self.result,
            session if self._live is not None else None,
            len(session.markets) if session else len(self.markets),
            self._rate.per_sec(self.writer.records, mono),
            mono,
        )

    # -- endings ------------------------------------------------------------------------------

    def _account(self, session: Session) -> None:
        self.result.gaps += session.gaps
        self.result.errors += session.errors
        self.result.resnapshots += session.resnapshots
        self.result.types.update(session.counts)
        self.markets = set(session.markets)

    async def _shutdown(self) -> None:
        writer = self.writer
        if writer.current_path is not None:
            now, mono = self.clock.wall_ns(), self.clock.mono_ns()
            if writer.failure is None:
                self._stats_records(now, mono)
            await asyncio.to_thread(writer.close)
        await asyncio.to_thread(self.compactor.close)
        result = self.result
        result.records, result.bytes, result.dropped = (
            writer.records,
            writer.queued_bytes,
            writer.dropped,
        )
        result.markets = sorted(self.markets)
        result.compacted = list(self.compactor.done)
        result.compaction_failures = list(self.compactor.failed)
        if self.status is not None:
            self.status.update(self.snapshot(self.clock.mono_ns()))
            self.status.close()

    async def _sleep_or_stop(self, secs: float) -> bool:
        """Sleep ``secs`` (injected clock) unless a stop comes first; True when stopping."""
        sleep = asyncio.ensure_future(self.clock.sleep(secs))
        stop = asyncio.ensure_future(self._stop.wait())
        failed = asyncio.ensure_future(self._failed.wait())
        try:
            await asyncio.wait({sleep, stop, failed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (sleep, stop, failed):
                future.cancel()
        return self.stopping

    def _sign(self, method: str, path: str) -> dict[str, str]:
        """Fresh ``KALSHI-ACCESS-*`` headers: signed now (every attempt, every request)."""
        return auth_headers(
            self.config.key_id,
            self.key,
            self.clock.wall_ns() // 1_000_000,
            method=method,
            path=path,
        )

    def _sealed(self, path: Path) -> None:  # writer thread
        self.result.files.append(path)
        self.compactor.submit(path)

    def _write_failed(self, exc: BaseException, path: Path | None) -> None:  # writer thread
        self._write_error = (exc, path)
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._failed.set)

    def _write_error_message(self) -> CaptureWriteError:
        assert self._write_error is not None
        exc, sealed = self._write_error
        return write_error(exc, self.writer.current_path or sealed, sealed, self.writer.records)
