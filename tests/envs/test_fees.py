"""Kalshi fees: the formula to the cent, per-order rounding, the schedule by date and series."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcap.envs.fees import (
    KALSHI_FEES,
    QUADRATIC_WITH_MAKER_FEES,
    FeePeriod,
    FeeRates,
    FeeSchedule,
    fill_fee_cc,
    maker_fee_cc,
    order_fee_cc,
    taker_fee_cc,
)
from kcap.errors import UsageError

DAY = dt.date(2025, 12, 6)
TAKER = KALSHI_FEES.rates("KXHIGHNY", DAY)


def decimal_fee_cents(rate: str, contracts: str, price: str) -> int:
    """round_up_to_cent(rate x C x P x (1 - P)) with Decimal, in cents."""
    p = Decimal(price)
    raw = Decimal(rate) * Decimal(contracts) * p * (1 - p) * 100
    return int(raw.to_integral_value(ROUND_CEILING))


@pytest.mark.parametrize(
    ("contracts", "price", "cents"),
    [
        ("1", "0.50", 2),  # 1.75 c -> 2 c: the maximum per contract
        ("1", "0.01", 1),  # 0.0693 c -> 1 c
        ("1", "0.99", 1),
        ("100", "0.50", 175),  # exactly 175 c: no rounding
        ("10", "0.30", 15),  # 14.7 c -> 15 c
        ("3", "0.42", 6),  # 5.1156 c -> 6 c
        ("2.50", "0.42", 5),  # fractional contracts: 4.263 c -> 5 c
    ],
)
def test_taker_fee_examples(contracts: str, price: str, cents: int) -> None:
    size_cx = int(Decimal(contracts) * 100)
    price_cc = int(Decimal(price) * 10_000)
    assert taker_fee_cc(TAKER, [(price_cc, size_cx)]) == cents * 100
    assert decimal_fee_cents("0.07", contracts, price) == cents


@given(
    st.integers(min_value=1, max_value=9_999),
    st.integers(min_value=1, max_value=10_000_000),
)
def test_taker_fee_matches_decimal_formula(price_cc: int, size_cx: int) -> None:
    contracts = str(Decimal(size_cx) / 100)
    price = str(Decimal(price_cc) / 10_000)
    assert taker_fee_cc(TAKER, [(price_cc, size_cx)]) == 100 * decimal_fee_cents(
        "0.07", contracts, price
    )


@given(st.integers(min_value=1, max_value=9_999), st.integers(min_value=1, max_value=100_000))
def test_fee_is_symmetric_in_yes_and_no(price_cc: int, size_cx: int) -> None:
    assert fill_fee_cc(Fraction(7, 100), price_cc, size_cx) == fill_fee_cc(
        Fraction(7, 100), 10_000 - price_cc, size_cx
    )


def test_an_order_pays_on_the_sum_of_its_fills() -> None:
    # two fills of 1 contract at 0.42 and 0.43: 1.7052 c + 1.7157 c = 3.4209 c -> 4 c (one
    # order), where two separate orders would pay 2 c + 2 c
    fills = [(4_200, 100), (4_300, 100)]
    assert [fill_fee_cc(Fraction(7, 100), p, s) for p, s in fills] == [171, 172]
    assert order_fee_cc(Fraction(7, 100), fills) == 400
    assert order_fee_cc(Fraction(7, 100), []) == 0


def test_maker_fee_only_on_series_that_charge_it() -> None:
    assert maker_fee_cc(TAKER, [(5_000, 10_000)]) == 0  # weather: quadratic, taker only
    schedule = FeeSchedule(KALSHI_FEES.periods, fee_types={"KXNBA": QUADRATIC_WITH_MAKER_FEES})
    rates = schedule.rates("KXNBA", DAY)
    # 0.0175 x 100 x 0.5 x 0.5 = $0.4375 -> 44 c
    assert maker_fee_cc(rates, [(5_000, 10_000)]) == 4_400
    assert taker_fee_cc(rates, [(5_000, 10_000)]) == 17_500


def test_schedule_is_keyed_by_date_and_applies_the_multiplier() -> None:
    later = FeePeriod(dt.date(2026, 1, 1), {"quadratic": FeeRates(Fraction(5, 100))}, "test")
    schedule = FeeSchedule((*KALSHI_FEES.periods, later), multipliers={"KXHIGHCHI": Fraction(1, 2)})
    assert schedule.rates("KXHIGHNY", dt.date(2025, 12, 31)).taker == Fraction(7, 100)
    assert schedule.rates("KXHIGHNY", dt.date(2026, 1, 1)).taker == Fraction(5, 100)
    assert schedule.rates("KXHIGHCHI", dt.date(2026, 1, 2)).taker == Fraction(5, 200)


def test_dates_before_the_schedule_are_an_error() -> None:
    with pytest.raises(UsageError, match=r"covering 2024-05-01.*starts 2025-07-01"):
        KALSHI_FEES.rates("KXHIGHNY", dt.date(2024, 5, 1))
    with pytest.raises(UsageError, match="fee_type 'flat'"):
        FeeSchedule(KALSHI_FEES.periods, default_fee_type="flat").rates("X", DAY)
