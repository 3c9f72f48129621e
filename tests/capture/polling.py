"""Waiting for effects by polling with a deadline (never a fixed sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(condition: Callable[[], bool], timeout_secs: float = 10.0) -> None:
    """Poll ``condition`` every 10 ms until it holds; fail after ``timeout_secs``."""
    deadline = time.monotonic() + timeout_secs
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_secs} s")
        await asyncio.sleep(0.01)
