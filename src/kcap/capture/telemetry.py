"""What the recorder tells about itself: its result, in-band ``stats``, the status line, logs.

Pure functions over the recorder's parts (the writer's counters, the live session, the
totals of past connections); :class:`kcap.capture.run.Recorder` calls them.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcap.capture.session import Note, Session
from kcap.capture.status import StatusSnapshot
from kcap.capture.writer import CaptureWriter

log = logging.getLogger("kcap.record")


@dataclass
class RecordResult:
    """What a recording did."""

    session: str
    files: list[Path] = field(default_factory=list)
    records: int = 0
    bytes: int = 0
    dropped: int = 0
    connections: int = 0
    reconnects: int = 0
    gaps: int = 0
    resnapshots: int = 0
    errors: int = 0
    types: Counter[str] = field(default_factory=Counter)
    markets: list[str] = field(default_factory=list)
    compacted: list[Path] = field(default_factory=list)
    compaction_failures: list[tuple[Path, str]] = field(default_factory=list)


class RateMeter:
    """Records per second, over windows of at least one second."""

    def __init__(self) -> None:
        self._mono = 0
        self._records = 0
        self._rate = 0.0

    def per_sec(self, records: int, mono_ns: int) -> float:
        """The rate over the last window (updated when a second has passed)."""
        if not self._mono:
            self._mono, self._records = mono_ns, records
        elif mono_ns - self._mono >= 1_000_000_000:
            self._rate = (records - self._records) / ((mono_ns - self._mono) / 1e9)
            self._mono, self._records = mono_ns, records
        return self._rate


def stats_info(
    writer: CaptureWriter,
    result: RecordResult,
    session: Session | None,
    markets: int,
    mono_ns: int,
) -> dict[str, Any]:
    """The ``info`` of a ``stats`` record: writer counters, lag and latency, connection totals."""
    latency = writer.latency
    return {
        "records": writer.records,
        "bytes": writer.queued_bytes,
        "dropped": writer.dropped,
        "queue_depth": writer.queue_depth,
        "writer_lag_ns": writer.lag_ns(mono_ns),
        "write_p50_ns": latency.percentile_ns(0.5),
        "write_p99_ns": latency.percentile_ns(0.99),
        "files": writer.files,
        "connections": result.connections,
        "reconnects": result.reconnects,
        "markets": markets,
        "gaps": result.gaps + (session.gaps if session else 0),
    }


def status_snapshot(
    state: str,
    elapsed_secs: float,
    writer: CaptureWriter,
    result: RecordResult,
    live: Session | None,
    markets: int,
    rate: float,
    mono_ns: int,
) -> StatusSnapshot:
    """The status line's content: totals of past connections plus the live session's."""
    types = result.types + (Counter(live.counts) if live else Counter())
    p99 = writer.latency.percentile_ns(0.99)
    return StatusSnapshot(
        state=state,
        elapsed_secs=elapsed_secs,
        records=writer.records,
        records_per_sec=rate,
        bytes_written=writer.queued_bytes,
        types=dict(types),
        markets=markets,
        gaps=result.gaps + (live.gaps if live else 0),
        resnapshots=result.resnapshots + (live.resnapshots if live else 0),
        reconnects=result.reconnects,
        errors=result.errors + (live.errors if live else 0),
        last_error=live.last_error if live else None,
        dropped=writer.dropped,
        lag_ms=writer.lag_ns(mono_ns) / 1e6,
        write_p99_ms=None if p99 is None else p99 / 1e6,
        file=writer.current_path.name if writer.current_path else None,
    )


def log_note(note: Note) -> None:
    """Log a control record of the session: gaps and error frames as warnings."""
    info = note.info
    if note.kind == "gap":
        log.warning(
            "seq %s on sid %s (%s): expected %s, got %s; %d books stale until a new snapshot",
            info.get("reason"),
            info.get("sid"),
            info.get("channel"),
            info.get("expected"),
            info.get("received"),
            len(info.get("markets", ())),
        )
    elif note.kind == "error":
        log.warning(
            "Kalshi error %s: %s (command %s id %s)",
            info.get("code"),
            info.get("message"),
            info.get("cmd"),
            info.get("id"),
        )
    elif note.kind == "resnapshot":
        log.info(
            "resnapshot sid %s by %s: %d markets",
            info.get("sid"),
            info.get("method"),
            len(info.get("markets", ())),
        )
    else:
        log.debug("%s %s", note.kind, info)
