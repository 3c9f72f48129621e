"""Clocks for the recorder: an injectable :class:`Clock`, and the host clock's sync state.

``clock`` records (one per stats interval and at every file start) carry
:func:`clock_info`: wall and monotonic readings taken together, their offset (a jump in it
means the wall clock was stepped), and, on Linux, the kernel's NTP state from
``adjtimex(2)``: synchronised or not, and the estimated and maximum error.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import sys
import time
from typing import Any, Protocol


class Clock(Protocol):
    """Time for the recorder: wall and monotonic nanoseconds, and an async sleep."""

    def wall_ns(self) -> int:
        """Unix time, nanoseconds."""

    def mono_ns(self) -> int:
        """Monotonic time, nanoseconds."""

    async def sleep(self, secs: float) -> None:
        """Sleep ``secs`` seconds (backoff delays go through here)."""


class SystemClock:
    """The real clocks and ``asyncio.sleep``."""

    def wall_ns(self) -> int:
        return time.time_ns()

    def mono_ns(self) -> int:
        return time.monotonic_ns()

    async def sleep(self, secs: float) -> None:
        await asyncio.sleep(secs)


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    # struct timex of <sys/timex.h> (glibc, Linux): 20 fields then 11 reserved ints
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("reserved", ctypes.c_int * 11),
    ]


_TIME_ERROR = 5
_STA_UNSYNC = 0x0040


def ntp_state() -> dict[str, Any]:
    """The kernel's clock discipline state (Linux ``adjtimex``, read only), or ``{}``.

    Returns:
        ``{"synchronized": bool, "est_error_ns": int, "max_error_ns": int}``.
    """
    if not sys.platform.startswith("linux"):
        return {}
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        timex = _Timex()
        state = libc.adjtimex(ctypes.byref(timex))  # modes = 0: read only
    except (OSError, AttributeError):
        return {}
    if state < 0:
        return {}
    return {
        "synchronized": state != _TIME_ERROR and not timex.status & _STA_UNSYNC,
        "est_error_ns": int(timex.esterror) * 1000,
        "max_error_ns": int(timex.maxerror) * 1000,
    }


def clock_info(clock: Clock) -> dict[str, Any]:
    """The ``info`` of a ``clock`` record: readings, their offset, and :func:`ntp_state`."""
    wall = clock.wall_ns()
    mono = clock.mono_ns()
    return {
        "wall_ns": wall,
        "mono_ns": mono,
        "wall_minus_mono_ns": wall - mono,
        "source": "system",
        **ntp_state(),
    }
