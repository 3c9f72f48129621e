"""What ``kcap record`` records and how: endpoints, channels, markets, durability options.

Pure parsing and validation (no I/O): every option the CLI takes becomes a field of
:class:`RecordConfig`, and every mistake a :class:`kcap.errors.UsageError` that says what was
expected.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from kcap import __version__
from kcap.errors import UsageError
from kcap.schemas.series import DAILY_HIGH_SERIES
from kcap.schemas.wire import CHANNEL_TYPES


@dataclass(frozen=True)
class Endpoint:
    """A Kalshi environment: WebSocket URL and REST base URL."""

    ws_url: str
    rest_url: str


ENVIRONMENTS: Final[dict[str, Endpoint]] = {
    "prod": Endpoint(
        "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
        "https://external-api.kalshi.com/trade-api/v2",
    ),
    "demo": Endpoint(
        "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
        "https://external-api.demo.kalshi.co/trade-api/v2",
    ),
}
"""The recommended hosts of kalshi-protocol.md section 1.1 (docs.kalshi.com "API environments")."""

DEFAULT_SERIES: Final = DAILY_HIGH_SERIES
"""The default universe: daily-high weather series of seven cities (kalshi-protocol.md 7.1)."""

DEFAULT_CHANNELS: Final = ("orderbook_delta", "trade")

LIFECYCLE_CHANNEL: Final = "market_lifecycle_v2"

MARKET_CHANNELS: Final = frozenset(
    {"orderbook_delta", "ticker", "trade", "fill", "market_positions", "user_orders"}
)
"""Channels that take ``market_tickers`` (kalshi-protocol.md 4.1); the others are global."""

_MISSPELLINGS: Final = {
    "trades": "trade",
    "orderbook": "orderbook_delta",
    "orderbook_snapshot": "orderbook_delta",
    "market_position": "market_positions",
    "user_order": "user_orders",
    "fills": "fill",
    "tickers": "ticker",
    "market_lifecycle": "market_lifecycle_v2",
    "lifecycle": "market_lifecycle_v2",
}

RESNAPSHOT_METHODS: Final = ("get_snapshot", "resubscribe")
FSYNC_POLICIES: Final = ("always", "interval", "close")


def parse_channels(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Kalshi channel names from ``"orderbook_delta,trade"`` (or a sequence of such strings).

    Returns:
        The channels, de-duplicated, in the order given.

    Raises:
        UsageError: an unknown channel (the message lists the valid ones and a likely fix,
            such as ``trade`` for ``trades``), or no channel at all.
    """
    items = [text] if isinstance(text, str) else list(text)
    names = [n.strip() for item in items for n in item.split(",") if n.strip()]
    if not names:
        raise UsageError("--channels: expected at least one channel")
    for name in names:
        if name not in CHANNEL_TYPES:
            hint = _MISSPELLINGS.get(name)
            did_you_mean = f" (did you mean {hint!r}?)" if hint else ""
            raise UsageError(
                f"--channels: unknown Kalshi channel {name!r}{did_you_mean}; valid channels: "
                + ", ".join(sorted(CHANNEL_TYPES))
            )
    return tuple(dict.fromkeys(names))


def split_tickers(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Tickers from repeated and/or comma-separated options, upper-cased, de-duplicated."""
    out = [v.strip().upper() for item in values for v in item.split(",") if v.strip()]
    return tuple(dict.fromkeys(out))


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d)?\s*$", re.IGNORECASE)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)\s*$", re.IGNORECASE)
_DURATION_NS = {
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "min": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
}
_SIZE_BYTES = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_duration_ns(text: str, option: str) -> int:
    """``"90s"``, ``"15m"``, ``"1h"``, ``"250ms"``, ``"2d"`` (bare number = seconds) to ns.

    Raises:
        UsageError: not a positive duration.
    """
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"{option}: expected a duration such as 15m, 1h or 30s, got {text!r}")
    value = float(match.group(1)) * _DURATION_NS[(match.group(2) or "s").lower()]
    if value <= 0:
        raise UsageError(f"{option}: expected a positive duration, got {text!r}")
    return int(value)


def parse_rotate(text: str) -> tuple[int | None, int | None]:
    """``--rotate``: a duration, a size, or both comma-separated (``"1h,512MB"``).

    Returns:
        ``(max_age_ns, max_bytes)``; None for the limit not given.

    Raises:
        UsageError: a part that is neither a duration nor a size.
    """
    age_ns: int | None = None
    size: int | None = None
    for part in (p for p in text.split(",") if p.strip()):
        sized = _SIZE.match(part)
        if sized:
            size = int(float(sized.group(1)) * _SIZE_BYTES[sized.group(2).lower()])
            if size < 4096:
                raise UsageError(f"--rotate: a file size below 4 KiB makes no sense, got {part!r}")
        elif _DURATION.match(part):
            age_ns = parse_duration_ns(part, "--rotate")
        else:
            age_ns = None
            size = None
            break
    if age_ns is None and size is None:
        raise UsageError(
            "--rotate: expected a duration and/or a size, comma-separated (15m, 1h, 512MB, "
            f"1h,1GiB), got {text!r}"
        )
    return age_ns, size


def rest_base_for(ws_url: str) -> str:
    """The REST base matching a WebSocket URL: ``ws[s]://host/trade-api/ws/v2`` ->
    ``http[s]://host/trade-api/v2`` (any other path: ``http[s]://host/trade-api/v2``)."""
    parts = urlsplit(ws_url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
    path = parts.path
    path = path[: -len("/ws/v2")] + "/v2" if path.endswith("/ws/v2") else "/trade-api/v2"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def check_url(url: str, option: str, schemes: tuple[str, ...]) -> str:
    """Check that ``url`` has one of ``schemes`` and a host.

    Raises:
        UsageError: another scheme or no host.
    """
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc:
        raise UsageError(
            f"{option}: expected a {' or '.join(schemes)} URL with a host, got {url!r}"
        )
    return url


@dataclass(frozen=True)
class RecordConfig:
    """Everything ``kcap record`` needs (the CLI builds it; tests build it directly).

    Attributes:
        key_id: Kalshi API key id (``KALSHI-ACCESS-KEY``).
        private_key_path: the RSA private key (PEM) used to sign.
        ws_url / rest_url: endpoints (from ``--env`` or ``--url`` / ``--rest-url``).
        env: ``prod``, ``demo`` or ``custom`` (``--url`` given), kept in file headers.
        channels: Kalshi channel names to subscribe.
        markets / events / series: what to record; all empty = :data:`DEFAULT_SERIES`.
        out_dir: capture root; files go to ``out_dir/YYYY-MM-DD/`` (UTC).
        rotate_ns / rotate_bytes: close the file after this age / size (None = no limit);
            files always close at UTC midnight.
        flush_records / flush_ms: records reach the OS (``write(2)``) when this many are
            pending or the oldest pending one is this old, whichever is first.
        fsync: ``always`` (after every write), ``interval`` (every ``fsync_ms``) or ``close``
            (when a file is sealed; always done then).
        queue_records: capacity of the queue between the socket reader and the writer.
        idle_timeout_secs: reconnect when nothing (heartbeats included) arrives for this long.
        ack_timeout_secs: reconnect when a command gets no answer for this long.
        backoff_initial_secs / backoff_max_secs: reconnect delays (capped exponential, jitter).
        healthy_secs: a connection that lasted this long resets the backoff.
        resnapshot: ``get_snapshot`` (``update_subscription``) or ``resubscribe``.
        keep_jsonl: keep the sealed JSONL next to its Parquet (else delete it once the Parquet
            is verified against the manifest).
        compact: ``process`` (a child process), ``thread`` or ``off`` (JSONL only).
        duration_secs: stop by itself after this long (None = until SIGINT / SIGTERM).
        stats_secs: interval of in-band ``stats`` and ``clock`` records.
        status: show the live status line.
    """

    key_id: str
    private_key_path: Path
    ws_url: str = ENVIRONMENTS["demo"].ws_url
    rest_url: str = ENVIRONMENTS["demo"].rest_url
    env: str = "demo"
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    markets: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    series: tuple[str, ...] = ()
    out_dir: Path = field(default_factory=lambda: Path("captures"))
    rotate_ns: int | None = 3_600_000_000_000
    rotate_bytes: int | None = None
    flush_records: int = 1000
    flush_ms: float = 5.0
    fsync: str = "interval"
    fsync_ms: float = 1000.0
    queue_records: int = 250_000
    idle_timeout_secs: float = 30.0
    ack_timeout_secs: float = 15.0
    backoff_initial_secs: float = 0.5
    backoff_max_secs: float = 60.0
    healthy_secs: float = 30.0
    resnapshot: str = "get_snapshot"
    keep_jsonl: bool = False
    compact: str = "process"
    duration_secs: float | None = None
    stats_secs: float = 10.0
    status: bool = True

    def __post_init__(self) -> None:
        if self.fsync not in FSYNC_POLICIES:
            raise UsageError(
                f"--fsync: expected one of {', '.join(FSYNC_POLICIES)}, got {self.fsync!r}"
            )
        if self.resnapshot not in RESNAPSHOT_METHODS:
            raise UsageError(
                f"--resnapshot: expected one of {', '.join(RESNAPSHOT_METHODS)}, got {self.resnapshot!r}"
            )
        if self.flush_records < 1 or self.queue_records < self.flush_records:
            raise UsageError(
                f"expected 1 <= --flush-records <= --queue-size, got {self.flush_records} and "
                f"{self.queue_records}"
            )
        if not 0 < self.backoff_initial_secs <= self.backoff_max_secs:
            raise UsageError(
                f"--backoff-max: expected at least {self.backoff_initial_secs:g} s, got "
                f"{self.backoff_max_secs:g} s"
            )
        for name in ("flush_ms", "fsync_ms", "idle_timeout_secs", "ack_timeout_secs"):
            if getattr(self, name) <= 0:
                raise UsageError(f"{name}: expected a positive number, got {getattr(self, name)}")

    @property
    def follow_series(self) -> tuple[str, ...]:
        """Series whose open markets are recorded (and new ones added while running)."""
        if self.series or self.events or self.markets:
            return self.series
        return DEFAULT_SERIES

    @property
    def all_channels(self) -> tuple[str, ...]:
        """The channels subscribed: :attr:`channels`, plus ``market_lifecycle_v2`` when series or
        events are followed (it announces their new markets)."""
        if (self.follow_series or self.events) and LIFECYCLE_CHANNEL not in self.channels:
            return (*self.channels, LIFECYCLE_CHANNEL)
        return self.channels


def header_metadata(
    config: RecordConfig, follow: Iterable[str], markets: Iterable[str]
) -> dict[str, Any]:
    """Capture metadata kept in every file's header record (never the key id or the key)."""
    return {
        "kcap_version": __version__,
        "env": config.env,
        "url": config.ws_url,
        "rest_url": config.rest_url,
        "channels": list(config.all_channels),
        "follow": list(follow),
        "markets_at_start": sorted(markets),
        "use_yes_price": None,  # not sent: Kalshi's default applies (kalshi-protocol.md 2.1)
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "durability": {
            "flush_records": config.flush_records,
            "flush_ms": config.flush_ms,
            "fsync": config.fsync,
            "fsync_ms": config.fsync_ms,
            "rotate_ns": config.rotate_ns,
            "rotate_bytes": config.rotate_bytes,
        },
    }
