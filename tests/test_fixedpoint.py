from __future__ import annotations

import pytest

from kcap.errors import FixedPointError
from kcap.fixedpoint import format_price, format_size, price_cc, size_cx


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0110", 110),
        ("0.960", 9600),
        ("0.96", 9600),
        ("1", 10_000),
        ("0.010000", 100),
        ("0.0000", 0),
    ],
)
def test_price_cc_parses_every_dollar_shape(text: str, expected: int) -> None:
    assert price_cc(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("91.74", 9174), ("-54.00", -5400), ("3", 300), ("0.01", 1)]
)
def test_size_cx_parses_fixed_point_counts(text: str, expected: int) -> None:
    assert size_cx(text) == expected


@pytest.mark.parametrize("bad", ["0.01234", "abc", "", "1e5", "0.0 1", "١", "0..1", "--1"])
def test_bad_prices_name_what_was_found(bad: str) -> None:
    with pytest.raises(FixedPointError) as info:
        price_cc(bad)
    assert repr(bad) in str(info.value)


def test_format_round_trips() -> None:
    assert format_price(110) == "0.0110"
    assert format_size(-5400) == "-54.00"
    assert price_cc(format_price(9999)) == 9999
    assert size_cx(format_size(9174)) == 9174
