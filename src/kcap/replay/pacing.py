"""Pacing math for replays on the wall clock: pure, time is always an argument.

A replay at speed ``s`` plays a record whose receive time is ``d`` nanoseconds after the
previous one ``d / s`` nanoseconds later on the wall clock. Weather markets sit quiet for
hours, so a gap longer than ``max_gap_ns`` (in capture time) is shortened to ``max_gap_ns``
before scaling. ``--speed max`` has no pacing at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kcap.errors import UsageError

_SPEED = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*x?\s*$", re.IGNORECASE)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|m|h)?\s*$")
_UNIT_NS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}


def parse_speed(text: str) -> float | None:
    """Parse ``--speed``: ``"max"`` -> None (flat out), ``"10x"`` / ``"0.5x"`` / ``"2"`` -> factor.

    Raises:
        UsageError: not ``max`` nor a positive factor.
    """
    if text.strip().lower() == "max":
        return None
    match = _SPEED.match(text)
    factor = float(match.group(1)) if match else 0.0
    if factor <= 0:
        raise UsageError(f"expected a speed such as 1x, 10x, 0.5x or max, got {text!r}")
    return factor


def parse_duration_ns(text: str) -> int:
    """Parse a duration such as ``"5s"``, ``"250ms"``, ``"2m"``, ``"1h"`` (bare number = seconds).

    Raises:
        UsageError: not a non-negative duration.
    """
    match = _DURATION.match(text)
    if not match:
        raise UsageError(f"expected a duration such as 500ms, 5s, 2m or 1h, got {text!r}")
    return round(float(match.group(1)) * _UNIT_NS[match.group(2) or "s"])


@dataclass
class Pacer:
    """Maps receive times to wall-clock offsets from the start of a paced replay.

    Args:
        speed: replay speed factor (> 0); 10.0 plays ten times faster than recorded.
        max_gap_ns: longest stretch of capture time played between two records, or None.

    Example:
        >>> p = Pacer(speed=10.0, max_gap_ns=None)
        >>> p.due_ns(1_000_000_000), p.due_ns(3_000_000_000)
        (0, 200000000)
    """

    speed: float
    max_gap_ns: int | None = None
    _last_recv_ns: int | None = None
    _capture_ns: int = 0

    def due_ns(self, recv_ns: int) -> int:
        """Wall-clock nanoseconds after the start at which the record received at ``recv_ns``
        is due. Records must be passed in replay order; a record older than its predecessor
        is due at once (no time runs backwards)."""
        if self._last_recv_ns is not None:
            gap = recv_ns - self._last_recv_ns
            if gap > 0:
                if self.max_gap_ns is not None and gap > self.max_gap_ns:
                    gap = self.max_gap_ns
                self._capture_ns += gap
        if self._last_recv_ns is None or recv_ns > self._last_recv_ns:
            self._last_recv_ns = recv_ns
        return int(self._capture_ns / self.speed)
