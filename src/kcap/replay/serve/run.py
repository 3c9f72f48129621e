"""``kcap serve``: options as typed on the command line -> :class:`ServeConfig` -> a running server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from kcap.errors import UsageError
from kcap.replay.pacing import parse_duration_ns, parse_speed
from kcap.replay.serve.auth import Authenticator, load_public_key
from kcap.replay.serve.encode import WIRES
from kcap.replay.serve.faults import FaultConfig
from kcap.replay.serve.server import KalshiServer, ServeConfig

NS_PER_S = 1_000_000_000


@dataclass
class ServeOptions:
    """``kcap serve`` options as typed (see ``kcap serve --help``); durations are text."""

    paths: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8765
    speed: str = "1x"
    max_gap: str | None = None
    loop: bool = False
    from_ns: int | None = None
    to_ns: int | None = None
    start: str = "subscribe"
    wire: str = "current"
    public_key: Path | None = None
    no_auth: bool = False
    key_id: str | None = None
    auth_window: str = "30s"
    heartbeat: str = "10s"
    heartbeat_timeout: str = "10s"
    seed: int = 0
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    malformed: float = 0.0
    close_after: int | None = None
    close_every: int | None = None
    close_code: str = "1011"
    stall_after: int | None = None
    faulty_connections: int | None = None
    handshake_delay: str | None = None
    handshake_status: int | None = None
    handshake_attempts: int | None = None
    fault_log: Path | None = None
    skip_damaged: bool = False


def _close_code(text: str) -> int | None:
    if text.strip().lower() == "abort":
        return None
    if not text.strip().isdigit():
        raise UsageError(f"--close-code: expected a WebSocket close code or 'abort', got {text!r}")
    return int(text)


def _auth(options: ServeOptions) -> Authenticator | None:
    if options.no_auth:
        if options.public_key is not None:
            raise UsageError("--no-auth and --public-key exclude each other")
        return None
    if options.public_key is None:
        raise UsageError(
            "kcap serve authenticates like Kalshi: pass --public-key PATH (the PEM public key "
            "your client's API key signs for) or --no-auth"
        )
    window_ms = parse_duration_ns(options.auth_window) // 1_000_000
    return Authenticator(load_public_key(options.public_key), window_ms, options.key_id)


def build_config(options: ServeOptions) -> ServeConfig:
    """The server config for ``options``.

    Raises:
        UsageError: a bad speed, duration, window, wire format, start mode or fault option.
        CredentialsError: the public key cannot be used.
    """
    if (
        options.from_ns is not None
        and options.to_ns is not None
        and options.to_ns < options.from_ns
    ):
        raise UsageError("--to is earlier than --from")
    if options.wire not in WIRES:
        raise UsageError(f"--wire: expected current or legacy, got {options.wire!r}")
    if options.start not in ("subscribe", "listen"):
        raise UsageError(f"--start: expected subscribe or listen, got {options.start!r}")
    heartbeat_ns = parse_duration_ns(options.heartbeat)
    faults = FaultConfig(
        seed=options.seed,
        drop=options.drop,
        duplicate=options.duplicate,
        reorder=options.reorder,
        malformed=options.malformed,
        close_after_frames=options.close_after,
        close_every_frames=options.close_every,
        close_code=_close_code(options.close_code),
        stall_after_frames=options.stall_after,
        faulty_connections=options.faulty_connections,
        handshake_delay_ns=parse_duration_ns(options.handshake_delay)
        if options.handshake_delay
        else 0,
        handshake_status=options.handshake_status,
        handshake_attempts=options.handshake_attempts,
    )
    faults.check()
    return ServeConfig(
        paths=options.paths,
        host=options.host,
        port=options.port,
        speed=parse_speed(options.speed),
        max_gap_ns=None if options.max_gap is None else parse_duration_ns(options.max_gap),
        loop=options.loop,
        from_ns=options.from_ns,
        to_ns=options.to_ns,
        start=cast(Literal["subscribe", "listen"], options.start),
        wire=options.wire,
        auth=_auth(options),
        heartbeat_secs=heartbeat_ns / NS_PER_S if heartbeat_ns else None,
        heartbeat_timeout_secs=parse_duration_ns(options.heartbeat_timeout) / NS_PER_S,
        faults=faults,
        fault_log=options.fault_log,
        skip_damaged=options.skip_damaged,
    )


def run_serve(config: ServeConfig, *, announce: Callable[[KalshiServer], None]) -> None:
    """Serve until interrupted (Ctrl-C); ``announce`` is called once the server listens."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    async def main() -> None:
        async with KalshiServer(config) as server:
            announce(server)
            await server.serve_forever()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
