"""The live status line of ``kcap record`` (rich), and its plain-log fallback.

:func:`render` is pure (a :class:`StatusSnapshot` in, a rich ``Text`` out); :class:`RichStatus`
shows it in place on a terminal, :class:`LogStatus` logs it every minute when stderr is not a
terminal (a service, a pipe).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from rich.console import Console
from rich.live import Live
from rich.text import Text

from kcap.capture.session import TYPE_CHANNEL

log = logging.getLogger("kcap.record")


@dataclass
class StatusSnapshot:
    """What the recorder is doing, for the status line.

    Attributes:
        state: ``connecting``, ``connected``, ``reconnecting in 2.0 s``, ``stopping``.
        elapsed_secs: since the recorder started.
        records: records written (queued) so far; records_per_sec: over the last interval.
        bytes_written: bytes of JSONL so far.
        types: frames received per Kalshi message type (this connection and earlier ones).
        markets: markets recorded now.
        gaps / resnapshots / reconnects / errors: counts since start.
        last_error: the last error frame or failure, shortened.
        dropped: records lost to a full writer queue (should stay 0).
        lag_ms: age of the oldest record not yet written.
        write_p99_ms: receive-to-write latency, 99th percentile, since start.
        file: the file being written.
    """

    state: str = "starting"
    elapsed_secs: float = 0.0
    records: int = 0
    records_per_sec: float = 0.0
    bytes_written: int = 0
    types: dict[str, int] = field(default_factory=dict)
    markets: int = 0
    gaps: int = 0
    resnapshots: int = 0
    reconnects: int = 0
    errors: int = 0
    last_error: str | None = None
    dropped: int = 0
    lag_ms: float = 0.0
    write_p99_ms: float | None = None
    file: str | None = None

    def channels(self) -> dict[str, int]:
        """Frames per channel (message types folded into their channel; others kept)."""
        out: dict[str, int] = {}
        for kind, n in self.types.items():
            name = TYPE_CHANNEL.get(kind, kind)
            out[name] = out.get(name, 0) + n
        return dict(sorted(out.items()))


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def render(s: StatusSnapshot) -> Text:
    """The status line (two lines: totals, then per-channel counts and the file)."""
    text = Text()
    style = "green" if s.state == "connected" else "yellow"
    text.append(f"{s.state}", style=style)
    text.append(
        f"  {s.records:,} records  {s.records_per_sec:,.0f}/s  {_size(s.bytes_written)}"
        f"  {s.markets} markets  gaps {s.gaps}  resnapshots {s.resnapshots}"
        f"  reconnects {s.reconnects}  lag {s.lag_ms:.1f} ms"
    )
    if s.write_p99_ms is not None:
        text.append(f"  p99 {s.write_p99_ms:.1f} ms")
    if s.dropped:
        text.append(f"  DROPPED {s.dropped:,}", style="bold red")
    if s.errors:
        text.append(f"  errors {s.errors}", style="red")
        if s.last_error:
            text.append(f" ({s.last_error[:60]})", style="red")
    channels = "  ".join(f"{name} {n:,}" for name, n in s.channels().items())
    text.append(f"\n  {channels or 'no frames yet'}", style="dim")
    if s.file:
        text.append(f"  -> {s.file}", style="dim")
    return text


class StatusView(Protocol):
    """Where status snapshots go."""

    def update(self, snapshot: StatusSnapshot) -> None:
        """Show the latest snapshot."""

    def close(self) -> None:
        """Stop showing (the last snapshot stays visible)."""


class RichStatus:
    """The status line kept in place at the bottom of a terminal (log lines scroll above)."""

    def __init__(self, console: Console) -> None:
        self._live = Live(Text("starting"), console=console, refresh_per_second=4)
        self._live.start()

    def update(self, snapshot: StatusSnapshot) -> None:
        self._live.update(render(snapshot))

    def close(self) -> None:
        self._live.stop()


class LogStatus:
    """The status as an INFO log line every ``every_secs`` (for non-terminals)."""

    def __init__(self, every_secs: float = 60.0) -> None:
        self.every_secs = every_secs
        self._last = time.monotonic()

    def update(self, snapshot: StatusSnapshot) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_secs:
            self._last = now
            log.info("%s", render(snapshot).plain.replace("\n", " |"))

    def close(self) -> None:
        pass
