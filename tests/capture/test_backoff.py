"""Reconnect policy: classify() decides retry vs stop; Backoff gives capped, jittered delays."""

from __future__ import annotations

import random

import pytest
from websockets.datastructures import Headers
from websockets.exceptions import (
    ConnectionClosedError,
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
    InvalidURI,
)
from websockets.frames import Close
from websockets.http11 import Response

from kcap.capture.backoff import Backoff, classify


def status(code: int) -> InvalidStatus:
    return InvalidStatus(Response(code, "x", Headers(), b"body"))


@pytest.mark.parametrize("code", [401, 403])
def test_refused_key_is_fatal_and_says_so(code: int) -> None:
    verdict = classify(status(code))
    assert not verdict.retry and verdict.auth and verdict.status == code
    assert "refused the API key" in verdict.reason


@pytest.mark.parametrize("code", [408, 425, 429, 500, 502, 503, 504, 520])
def test_overload_and_server_errors_retry(code: int) -> None:
    verdict = classify(status(code))
    assert verdict.retry and not verdict.auth and verdict.status == code


@pytest.mark.parametrize("code", [400, 404, 301])
def test_other_client_errors_are_fatal(code: int) -> None:
    verdict = classify(status(code))
    assert not verdict.retry and not verdict.auth
    assert "is the URL right" in verdict.reason


@pytest.mark.parametrize(
    "exc",
    [
        TimeoutError(),
        ConnectionResetError(104, "Connection reset by peer"),
        ConnectionRefusedError(111, "Connection refused"),
        OSError(101, "Network is unreachable"),
        ConnectionClosedError(Close(1011, "bye"), None),
        InvalidMessage("did not receive a valid HTTP response"),
        InvalidHandshake("odd"),
        EOFError(),
    ],
)
def test_network_failures_retry(exc: BaseException) -> None:
    assert classify(exc).retry


def test_invalid_url_is_fatal_and_bugs_are_not_classified() -> None:
    assert not classify(InvalidURI("ws//x", "no scheme")).retry
    with pytest.raises(TypeError):
        classify(KeyError("a bug"))


def test_backoff_is_capped_exponential_with_jitter_and_resets() -> None:
    backoff = Backoff(0.5, 8.0, rng=random.Random(1))
    delays = [backoff.next_delay_secs() for _ in range(8)]
    assert delays[0] == 0.0  # the first attempt does not wait
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    for delay, ceiling in zip(delays[1:], ceilings, strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert len(set(delays[5:])) == 3  # jittered, not a fixed cap
    backoff.reset()
    assert backoff.next_delay_secs() == 0.0
    assert 0.25 <= backoff.next_delay_secs() <= 0.5
    for _ in range(5000):  # no overflow after a long outage
        assert backoff.next_delay_secs() <= 8.0


def test_backoff_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="expected 0 < initial_secs <= max_secs"):
        Backoff(0.0, 1.0)
