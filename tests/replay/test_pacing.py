from __future__ import annotations

import pytest

from kcap.errors import UsageError
from kcap.replay.pacing import Pacer, parse_duration_ns, parse_speed

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "speed"),
    [("1x", 1.0), ("10x", 10.0), ("0.5x", 0.5), ("2", 2.0), ("MAX", None), (".5X", 0.5)],
)
def test_parse_speed(text: str, speed: float | None) -> None:
    assert parse_speed(text) == speed


@pytest.mark.parametrize("bad", ["0x", "-1x", "fast", "", "1xx"])
def test_bad_speed_says_what_is_expected(bad: str) -> None:
    with pytest.raises(UsageError, match="expected a speed"):
        parse_speed(bad)


def test_parse_duration() -> None:
    assert parse_duration_ns("5s") == 5 * S
    assert parse_duration_ns("250ms") == S // 4
    assert parse_duration_ns("2m") == 120 * S
    assert parse_duration_ns("1.5") == 3 * S // 2
    with pytest.raises(UsageError):
        parse_duration_ns("soon")


def test_pacer_scales_and_caps_gaps() -> None:
    p = Pacer(speed=10.0, max_gap_ns=5 * S)
    assert p.due_ns(100 * S) == 0
    assert p.due_ns(102 * S) == S // 5  # 2 s at 10x
    assert p.due_ns(3_702 * S) == S // 5 + S // 2  # an hour of quiet capped to 5 s -> 0.5 s
    assert p.due_ns(3_701 * S) == S // 5 + S // 2  # a record from the past is due at once


def test_half_speed_is_slower() -> None:
    p = Pacer(speed=0.5)
    p.due_ns(0)
    assert p.due_ns(S) == 2 * S
