"""``kcap record``: options as typed -> :class:`RecordConfig` -> one recording run.

:func:`build_config` validates everything before any connection (credentials included, by
the :class:`~kcap.capture.run.Recorder` constructor); :func:`run_record` installs the
SIGINT / SIGTERM handlers (first signal: stop cleanly; second: the default action), the
status line and logging, and runs the recorder in an asyncio loop.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

from kcap.capture.config import (
    DEFAULT_CHANNELS,
    ENVIRONMENTS,
    RecordConfig,
    check_url,
    parse_channels,
    parse_duration_ns,
    parse_rotate,
    rest_base_for,
    split_tickers,
)
from kcap.capture.run import Recorder
from kcap.capture.status import LogStatus, RichStatus, StatusView
from kcap.capture.telemetry import RecordResult
from kcap.errors import CredentialsError

log = logging.getLogger("kcap.record")


@dataclass
class RecordOptions:
    """``kcap record`` options as typed (see ``kcap record --help``)."""

    key_id: str | None = None
    private_key: Path | None = None
    env: str = "demo"
    url: str | None = None
    rest_url: str | None = None
    channels: str = ",".join(DEFAULT_CHANNELS)
    markets: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    out: Path = Path("captures")
    rotate: str = "1h"
    flush_records: int = 1000
    flush_ms: float = 5.0
    fsync: str = "interval"
    fsync_ms: float = 1000.0
    queue_size: int = 250_000
    idle_timeout: str = "30s"
    ack_timeout: str = "15s"
    backoff_max: str = "60s"
    resnapshot: str = "get_snapshot"
    keep_jsonl: bool = False
    compact: bool = True
    duration: str | None = None
    status: bool | None = None


def build_config(options: RecordOptions) -> RecordConfig:
    """The recorder config for ``options``.

    Raises:
        CredentialsError: no key id or no private key path (given or in the environment).
        UsageError: an unknown channel, a bad URL, duration, size or number.
    """
    if not options.key_id:
        raise CredentialsError(
            "no API key id: pass --key-id or set KALSHI_API_KEY_ID (Kalshi's API keys page)"
        )
    if options.private_key is None:
        raise CredentialsError(
            "no private key: pass --private-key PATH or set KALSHI_PRIVATE_KEY_PATH"
        )
    if options.url:
        ws_url = check_url(options.url, "--url", ("wss", "ws"))
        env = "custom"
        rest_url = options.rest_url or rest_base_for(ws_url)
    else:
        endpoint = ENVIRONMENTS[options.env]
        ws_url, env = endpoint.ws_url, options.env
        rest_url = options.rest_url or endpoint.rest_url
    check_url(rest_url, "--rest-url", ("https", "http"))
    rotate_ns, rotate_bytes = parse_rotate(options.rotate)
    duration = options.duration
    return RecordConfig(
        key_id=options.key_id,
        private_key_path=options.private_key,
        ws_url=ws_url,
        rest_url=rest_url,
        env=env,
        channels=parse_channels(options.channels),
        markets=split_tickers(options.markets),
        events=split_tickers(options.events),
        series=split_tickers(options.series),
        out_dir=options.out,
        rotate_ns=rotate_ns,
        rotate_bytes=rotate_bytes,
        flush_records=options.flush_records,
        flush_ms=options.flush_ms,
        fsync=options.fsync,
        fsync_ms=options.fsync_ms,
        queue_records=options.queue_size,
        idle_timeout_secs=parse_duration_ns(options.idle_timeout, "--idle-timeout") / 1e9,
        ack_timeout_secs=parse_duration_ns(options.ack_timeout, "--ack-timeout") / 1e9,
        backoff_max_secs=parse_duration_ns(options.backoff_max, "--backoff-max") / 1e9,
        resnapshot=options.resnapshot,
        keep_jsonl=options.keep_jsonl,
        compact="process" if options.compact else "off",
        duration_secs=None if duration is None else parse_duration_ns(duration, "--duration") / 1e9,
        status=options.status is not False,
    )


def setup_logging(console: Console, *, verbose: int) -> None:
    """Log to stderr: rich on a terminal, plain lines (with UTC times) elsewhere."""
    level = logging.DEBUG if verbose > 1 else logging.INFO
    root = logging.getLogger()
    root.setLevel(level)
    if console.is_terminal:
        handler: logging.Handler = RichHandler(console=console, show_path=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]
    logging.getLogger("websockets").setLevel(logging.WARNING)  # headers are never logged


def run_record(config: RecordConfig, console: Console) -> RecordResult:
    """Record until SIGINT / SIGTERM / ``--duration``; return what was recorded.

    Raises:
        KcapError: credentials, refused key, bad endpoint, disk failure (see
            :meth:`kcap.capture.run.Recorder.run`).
    """
    status: StatusView | None = None
    if config.status:
        status = RichStatus(console) if console.is_terminal else LogStatus()
    recorder = Recorder(config, status=status)
    return asyncio.run(_main(recorder, config))


async def _main(recorder: Recorder, config: RecordConfig) -> RecordResult:
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        log.info("%s received", signal.Signals(signum).name)
        loop.remove_signal_handler(signum)  # a second one takes the default action
        recorder.request_stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    if config.duration_secs is not None:
        loop.call_later(config.duration_secs, recorder.request_stop)
    return await recorder.run()


def summary(result: RecordResult) -> str:
    """The lines printed when a recording ends."""
    lines = [
        f"session {result.session}: {result.records:,} records, {result.bytes:,} bytes, "
        f"{len(result.files)} files, {result.connections} connections, "
        f"{result.reconnects} reconnects, {result.gaps} gaps, {result.resnapshots} resnapshots, "
        f"{result.errors} error frames, {result.dropped} records lost",
    ]
    lines += [f"  {path}" for path in result.files]
    for path, reason in result.compaction_failures:
        lines.append(f"  not compacted: {path}: {reason}")
    return "\n".join(lines)
