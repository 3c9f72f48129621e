"""Reconnect policy: which failures are worth retrying (:func:`classify`) and how long to wait
(:class:`Backoff`). Pure: the random source is an argument, nothing sleeps here.

Model: websockets' ``client.process_exception`` and ``client.backoff``. Kalshi specifics: a 401
or 403 on the upgrade means the key id, the key or the signature's timestamp is wrong; trying
again with the same key cannot help (kalshi-protocol.md 1.2).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
    ProtocolError,
    WebSocketException,
)

RETRY_STATUSES: Final = frozenset({408, 425, 429, 500, 502, 503, 504})
"""HTTP statuses on the upgrade that are worth another attempt (overload, timeouts, proxies)."""
AUTH_STATUSES: Final = frozenset({401, 403})


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to do after a connection failed.

    Attributes:
        retry: True to reconnect after a backoff delay, False to stop.
        auth: True when the server refused the credentials (HTTP 401 / 403).
        status: the HTTP status of a refused upgrade, if any.
        reason: a short description for logs and ``connect_failed`` / ``disconnect`` records
            (never contains credentials).
    """

    retry: bool
    reason: str
    auth: bool = False
    status: int | None = None


def classify(exc: BaseException) -> Verdict:
    """Decide retry vs stop for an exception raised while connecting or connected.

    Retried: timeouts, resets and other ``OSError``s, closed connections, protocol errors,
    handshakes cut short, HTTP 408/425/429/5xx. Fatal: HTTP 401/403 (``auth``), other HTTP 4xx
    or 3xx (a wrong URL), an invalid URI. Anything else is a bug and is not classified here
    (callers let it propagate with its traceback).

    Args:
        exc: the exception.

    Returns:
        The :class:`Verdict`.
    """
    if isinstance(exc, InvalidStatus):
        status = exc.response.status_code
        if status in AUTH_STATUSES:
            return Verdict(False, f"HTTP {status}: the server refused the API key", True, status)
        if status in RETRY_STATUSES or status >= 500:
            return Verdict(True, f"HTTP {status} on the upgrade", status=status)
        return Verdict(False, f"HTTP {status} on the upgrade (is the URL right?)", status=status)
    if isinstance(exc, InvalidURI):
        return Verdict(False, f"invalid URL: {exc}")
    if isinstance(exc, TimeoutError):
        return Verdict(True, "timed out")
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd is not None else None
        return Verdict(True, f"connection closed (code {code})")
    if isinstance(exc, OSError):
        return Verdict(True, f"{type(exc).__name__}: {exc.strerror or exc}")
    if isinstance(exc, (InvalidMessage, InvalidHandshake, ProtocolError, EOFError)):
        return Verdict(True, f"{type(exc).__name__}: {exc}")
    if isinstance(exc, WebSocketException):
        return Verdict(True, f"{type(exc).__name__}: {exc}")
    raise TypeError(f"classify: not a connection failure: {type(exc).__name__}")


class Backoff:
    """Capped exponential backoff with full jitter, reset after a healthy connection.

    Delay before attempt ``n`` (0-based count of failures since the last reset) is uniform in
    ``[initial * factor**n / 2, initial * factor**n]``, capped at ``max_secs``; the first
    attempt after a reset waits ``0`` seconds.

    Args:
        initial_secs: delay scale of the first retry, seconds.
        max_secs: cap, seconds.
        factor: growth per failure.
        rng: random source (inject a seeded :class:`random.Random` in tests).
    """

    def __init__(
        self,
        initial_secs: float = 0.5,
        max_secs: float = 60.0,
        *,
        factor: float = 2.0,
        rng: random.Random | None = None,
    ) -> None:
        if initial_secs <= 0 or max_secs < initial_secs or factor < 1:
            raise ValueError(
                f"expected 0 < initial_secs <= max_secs and factor >= 1, got {initial_secs}, "
                f"{max_secs}, {factor}"
            )
        self.initial_secs = initial_secs
        self.max_secs = max_secs
        self.factor = factor
        self.failures = 0
        self._rng = rng or random.Random()

    def next_delay_secs(self) -> float:
        """The delay before the next attempt, in seconds; counts one more failure."""
        if self.failures == 0:
            self.failures = 1
            return 0.0
        ceiling = min(self.max_secs, self.initial_secs * self.factor ** min(self.failures - 1, 64))
        self.failures += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        """A healthy connection: the next failure starts from the first delay again."""
        self.failures = 0
