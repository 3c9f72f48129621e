"""Kalshi trading fees, exact: integer centi-cents, rates in a schedule keyed by date.

Kalshi's general trading fee (kalshi-protocol.md section 8; Kalshi fee schedule, the update
effective 2025-07-01)::

    taker fee = round up to the cent ( 0.07   x C x P x (1 - P) )   per order
    maker fee = round up to the cent ( 0.0175 x C x P x (1 - P) )   per order, only on series
                                                                      whose fee_type is
                                                                      quadratic_with_maker_fees

with C the number of contracts and P the price in dollars. Buying NO at ``1 - P`` costs the
same fee as buying YES at ``P``: the formula is symmetric. An order that fills at several
prices pays on the sum: each fill's fee is first rounded up to $0.0001 (Kalshi's trade-fee
precision) and the order's total is then rounded up to the cent (docs.kalshi.com
"fee_rounding": the per-order accumulator makes many small fills cost what one fill costs).
For an order filled at one price this is exactly ``ceil_to_cent(0.07 x C x P x (1 - P))``.

Everything here is integer arithmetic: prices in centi-cents (``_cc``, $1 = 10,000), sizes in
centi-contracts (``_cx``, 1 contract = 100), rates as :class:`fractions.Fraction`. A fill's
fee in centi-cents before rounding is ``rate x size_cx x price_cc x (10_000 - price_cc) /
10**6``.

Example:
    >>> from kcap.envs.fees import KALSHI_FEES
    >>> import datetime as dt
    >>> rates = KALSHI_FEES.rates("KXHIGHNY", dt.date(2025, 12, 6))
    >>> taker_fee_cc(rates, [(5_000, 100)])  # 1 contract at $0.50: 1.75 cents -> 2 cents
    200
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final

from kcap.errors import UsageError
from kcap.fixedpoint import ONE_CENT_CC, ONE_DOLLAR_CC

QUADRATIC: Final = "quadratic"
"""Kalshi ``fee_type`` of series with the general (taker-only) fee: every weather series."""
QUADRATIC_WITH_MAKER_FEES: Final = "quadratic_with_maker_fees"
"""Kalshi ``fee_type`` of series that also charge makers."""

_SCALE: Final = ONE_DOLLAR_CC * 100  # size_cx x price_cc x (1 - price)_cc / _SCALE = dollars x 10^4


@dataclass(frozen=True)
class FeeRates:
    """The fee coefficients that apply to one series on one day.

    Attributes:
        taker: coefficient of ``C x P x (1 - P)`` for orders that take liquidity.
        maker: the same for resting orders that are filled (0 when the series charges none).
    """

    taker: Fraction
    maker: Fraction = Fraction(0)


@dataclass(frozen=True)
class FeePeriod:
    """Rates by Kalshi ``fee_type`` from ``effective`` (inclusive) until the next period.

    Attributes:
        effective: first day (America/New_York date of the event) the rates apply.
        rates: ``fee_type -> FeeRates``.
        source: where the rates come from.
    """

    effective: dt.date
    rates: Mapping[str, FeeRates]
    source: str = ""


@dataclass(frozen=True)
class FeeSchedule:
    """Fee periods keyed by date, each series' ``fee_type`` and ``fee_multiplier``.

    Attributes:
        periods: fee periods, any order (looked up by date).
        fee_types: ``series_ticker -> fee_type``; series not listed use ``default_fee_type``.
        multipliers: ``series_ticker -> fee_multiplier`` (Kalshi's series field; 1 if absent).
        default_fee_type: the fee type of unlisted series.
    """

    periods: tuple[FeePeriod, ...]
    fee_types: Mapping[str, str] = field(default_factory=dict)
    multipliers: Mapping[str, Fraction] = field(default_factory=dict)
    default_fee_type: str = QUADRATIC

    def rates(self, series: str, day: dt.date) -> FeeRates:
        """The rates for ``series`` on ``day`` (multiplier applied).

        Raises:
            UsageError: no period covers ``day``, or the period has no rates for the series'
                fee type.
        """
        covering = [p for p in self.periods if p.effective <= day]
        if not covering:
            first = min((p.effective for p in self.periods), default=None)
            raise UsageError(
                f"expected a fee period covering {day}, found none (the schedule starts "
                f"{first}); pass a fee_schedule with an earlier period"
            )
        period = max(covering, key=lambda p: p.effective)
        fee_type = self.fee_types.get(series, self.default_fee_type)
        try:
            base = period.rates[fee_type]
        except KeyError:
            raise UsageError(
                f"expected rates for fee_type {fee_type!r} (series {series}) in the fee period "
                f"from {period.effective}, found {sorted(period.rates)}"
            ) from None
        multiplier = self.multipliers.get(series, Fraction(1))
        return FeeRates(base.taker * multiplier, base.maker * multiplier)


KALSHI_FEES: Final = FeeSchedule(
    periods=(
        FeePeriod(
            effective=dt.date(2025, 7, 1),
            rates={
                QUADRATIC: FeeRates(taker=Fraction(7, 100)),
                QUADRATIC_WITH_MAKER_FEES: FeeRates(
                    taker=Fraction(7, 100), maker=Fraction(175, 10_000)
                ),
            },
            source="kalshi-protocol.md section 8: Kalshi fee schedule, update effective 2025-07-01",
        ),
    ),
)
"""Kalshi's fees as documented from 2025-07-01. Every weather series has ``fee_type``
``quadratic`` and ``fee_multiplier`` 1 (series metadata captured 2026-07-17), so weather
orders pay the taker fee only. Earlier dates are not covered: pass your own schedule."""


def fill_fee_cc(rate: Fraction, price_cc: int, size_cx: int) -> int:
    """One fill's fee rounded up to $0.0001 (one centi-cent).

    Args:
        rate: the fee coefficient (0.07 for takers).
        price_cc: the fill price, centi-cents (YES or NO price: the fee is symmetric).
        size_cx: the filled size, centi-contracts (> 0).
    """
    numerator = rate.numerator * size_cx * price_cc * (ONE_DOLLAR_CC - price_cc)
    return -(-numerator // (rate.denominator * _SCALE))


def order_fee_cc(rate: Fraction, fills: Iterable[tuple[int, int]]) -> int:
    """The fee of one order: fills' fees (each up to $0.0001) summed, then up to the cent.

    Args:
        rate: the fee coefficient.
        fills: ``(price_cc, size_cx)`` of each fill of the order.

    Returns:
        The fee in centi-cents, a whole number of cents (a multiple of 100); 0 for no fills.
    """
    num, den = rate.numerator, rate.denominator * _SCALE
    total = 0
    for price, size in fills:  # fill_fee_cc, inlined: this runs for every order
        total -= -(num * size * price * (ONE_DOLLAR_CC - price)) // den
    return -(-total // ONE_CENT_CC) * ONE_CENT_CC


def taker_fee_cc(rates: FeeRates, fills: Iterable[tuple[int, int]]) -> int:
    """The taker fee of one order, centi-cents (see :func:`order_fee_cc`)."""
    return order_fee_cc(rates.taker, fills)


def maker_fee_cc(rates: FeeRates, fills: Iterable[tuple[int, int]]) -> int:
    """The maker fee of one order, centi-cents (0 on series without a maker fee)."""
    if not rates.maker:
        return 0
    return order_fee_cc(rates.maker, fills)
