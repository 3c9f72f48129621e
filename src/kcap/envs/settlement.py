"""Settlement of bracket markets: which bracket's YES pays $1, by strike type, floor and cap.

Kalshi's ``Market`` object gives ``strike_type`` with ``floor_strike`` ("minimum expiration
value that leads to a YES settlement") and ``cap_strike`` (the maximum); weather brackets use
(kalshi-protocol.md sections 6.2 and 7.2)::

    between            floor <= x <= cap     B78.5: "78° to 79°", floor 78, cap 79 (inclusive)
    less               x <  cap              T68:   "67° or below", cap 68
    less_or_equal      x <= cap
    greater            x >  floor            T75:   "76° or above", floor 75
    greater_or_equal   x >= floor

``x`` is the settlement value: the NWS Daily Climate Report high in whole degrees F, which
Kalshi does not round further. Strikes and values are exact :class:`fractions.Fraction`
numbers; ``functional``, ``custom`` and ``structured`` strikes are not supported.

A YES contract pays $1 (10,000 centi-cents) when its bracket wins, a NO contract when it loses.
Positions are signed YES counts in centi-contracts: ``+n`` is n YES, ``-n`` is n NO.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from kcap.errors import DataError
from kcap.fixedpoint import ONE_CONTRACT_CX, ONE_DOLLAR_CC

STRIKE_TYPES: Final = ("between", "less", "less_or_equal", "greater", "greater_or_equal")
"""The strike types kcap settles."""

_PAYOUT_CC_PER_CX: Final = ONE_DOLLAR_CC // ONE_CONTRACT_CX  # $1 a contract = 100 cc per cx


def check_strikes(strike_type: str, floor: Fraction | None, cap: Fraction | None) -> None:
    """Check that a market's strikes are those its strike type needs.

    Raises:
        DataError: an unsupported strike type, a missing strike, or floor > cap.
    """
    if strike_type not in STRIKE_TYPES:
        raise DataError(f"expected a strike type in {STRIKE_TYPES}, found {strike_type!r}")
    if strike_type in ("between", "greater", "greater_or_equal") and floor is None:
        raise DataError(f"expected a floor strike for strike type {strike_type!r}, found none")
    if strike_type in ("between", "less", "less_or_equal") and cap is None:
        raise DataError(f"expected a cap strike for strike type {strike_type!r}, found none")
    if strike_type == "between" and floor is not None and cap is not None and floor > cap:
        raise DataError(f"expected floor <= cap for a between bracket, found {floor} > {cap}")


def yes_wins(
    strike_type: str, floor: Fraction | None, cap: Fraction | None, value: Fraction | int
) -> bool:
    """True when a bracket settles YES at the settlement ``value``.

    Args:
        strike_type: Kalshi's ``strike_type``.
        floor: ``floor_strike`` (None when absent).
        cap: ``cap_strike`` (None when absent).
        value: the settlement value (the day's high, whole degrees F).

    Raises:
        DataError: strikes that do not fit the strike type (see :func:`check_strikes`).
    """
    check_strikes(strike_type, floor, cap)
    if strike_type == "between":
        assert floor is not None and cap is not None
        return floor <= value <= cap
    if strike_type == "less":
        assert cap is not None
        return value < cap
    if strike_type == "less_or_equal":
        assert cap is not None
        return value <= cap
    assert floor is not None
    if strike_type == "greater":
        return value > floor
    return value >= floor


def payout_cc(position_cx: int, yes: bool) -> int:
    """What a position receives at settlement, centi-cents.

    Args:
        position_cx: signed YES position (``+`` YES contracts, ``-`` NO contracts), centi-contracts.
        yes: the bracket settled YES.

    Returns:
        $1 per winning contract: YES contracts when ``yes``, NO contracts otherwise.
    """
    if yes:
        return _PAYOUT_CC_PER_CX * position_cx if position_cx > 0 else 0
    return -_PAYOUT_CC_PER_CX * position_cx if position_cx < 0 else 0
