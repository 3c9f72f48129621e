"""Settlement by strike type, floor and cap; payouts of signed positions."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kcap.envs.settlement import payout_cc, yes_wins
from kcap.errors import DataError

F = Fraction


@pytest.mark.parametrize(
    ("strike_type", "floor", "cap", "wins", "loses"),
    [
        ("between", F(78), F(79), [78, 79], [77, 80]),  # inclusive both ends
        ("less", None, F(68), [67, 0, -5], [68, 69]),  # "67 or below"
        ("less_or_equal", None, F(68), [68, 67], [69]),
        ("greater", F(75), None, [76, 100], [75, 74]),  # "76 or above"
        ("greater_or_equal", F(75), None, [75, 76], [74]),
    ],
)
def test_strike_types(
    strike_type: str, floor: F | None, cap: F | None, wins: list[int], loses: list[int]
) -> None:
    assert all(yes_wins(strike_type, floor, cap, v) for v in wins)
    assert not any(yes_wins(strike_type, floor, cap, v) for v in loses)


def test_real_ladder_has_exactly_one_winner() -> None:
    # KXHIGHTATL-26JUL16 settled at 93.00: only B92.5 (92-93) resolved yes (kalshi-protocol 7.2)
    ladder = [
        ("less", None, F(86)),
        ("between", F(86), F(87)),
        ("between", F(88), F(89)),
        ("between", F(90), F(91)),
        ("between", F(92), F(93)),
        ("greater", F(93), None),
    ]
    for value in range(60, 120):
        assert sum(yes_wins(t, lo, hi, value) for t, lo, hi in ladder) == 1
    assert [yes_wins(t, lo, hi, F("93.00")) for t, lo, hi in ladder] == [0, 0, 0, 0, 1, 0]


def test_bad_strikes_are_data_errors() -> None:
    with pytest.raises(DataError, match="floor strike"):
        yes_wins("greater", None, F(3), 1)
    with pytest.raises(DataError, match="strike type"):
        yes_wins("functional", F(1), F(3), 1)
    with pytest.raises(DataError, match="floor <= cap"):
        yes_wins("between", F(5), F(3), 4)


def test_payouts() -> None:
    assert payout_cc(250, True) == 25_000  # 2.5 YES win $2.50
    assert payout_cc(250, False) == 0
    assert payout_cc(-300, False) == 30_000  # 3 NO win when the bracket loses
    assert payout_cc(-300, True) == 0
    assert payout_cc(0, True) == 0
