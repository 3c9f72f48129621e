"""Exact fixed-point prices and sizes.

Kalshi sends prices as dollar strings with up to 4 decimal places (``"0.0110"``, sub-cent
ticks exist) and sizes as fixed-point strings with 2 decimal places (``"91.74"``, fractional
contracts). Captures older than 2026-03-12 carry integer cents and integer contracts instead.
kcap holds both as integers and never as floats:

* prices in **centi-cents** (``*_cc``): 1 cc = $0.0001, so $1 = ``ONE_DOLLAR_CC`` = 10,000;
* sizes in **centi-contracts** (``*_cx``): 1 cx = 0.01 contract, so 1 contract = 100.

Sources: docs.kalshi.com "Fixed-point migration" and "Subpenny pricing" (up to 4 dp for
dollars, 2 dp for counts; "multiply _fp by 100 internally"); kalshi-protocol.md section 5.
"""

from __future__ import annotations

from kcap.errors import FixedPointError

ONE_DOLLAR_CC = 10_000
"""One dollar in centi-cents (price units)."""
ONE_CENT_CC = 100
"""One cent in centi-cents."""
ONE_CONTRACT_CX = 100
"""One contract in centi-contracts (size units)."""

PRICE_CC_CACHE: dict[str, int] = {}
"""Memo of :func:`price_cc` (text -> centi-cents), read directly by the book's hot path."""
SIZE_CX_CACHE: dict[str, int] = {}
"""Memo of :func:`size_cx` (text -> centi-contracts, bounded), read by the book's hot path."""
_CACHE_MAX = 1 << 16


def _parse_decimal(text: str, places: int, what: str) -> int:
    """Parse a plain decimal string into an integer scaled by ``10**places``, exactly."""
    if not isinstance(text, str):
        raise FixedPointError(text, f"a {what} string")
    body = text.strip()
    negative = body.startswith("-")
    if negative or body.startswith("+"):
        body = body[1:]
    whole, _, frac = body.partition(".")
    if not whole and not frac:
        raise FixedPointError(text, f"a {what} with digits")
    if not body.isascii() or not (whole or "0").isdigit() or (frac and not frac.isdigit()):
        raise FixedPointError(text, f"a plain decimal {what} such as '0.0110'")
    if len(frac) > places:
        if frac[places:].strip("0"):
            raise FixedPointError(text, f"a {what} with at most {places} decimal places")
        frac = frac[:places]
    scale: int = 10**places
    value = int(whole or "0") * scale + int((frac + "0" * places)[:places])
    return -value if negative else value


def price_cc(text: str) -> int:
    """Parse a Kalshi dollar price string into centi-cents.

    Args:
        text: a dollar string as Kalshi sends it, ``"0.0110"``, ``"0.960"`` or ``"1"``.

    Returns:
        The price in centi-cents (``"0.0110"`` -> 110). Memoised: prices repeat.

    Raises:
        FixedPointError: not a decimal string, or more than 4 significant decimal places.
    """
    try:
        return PRICE_CC_CACHE[text]
    except KeyError:
        value = _parse_decimal(text, 4, "dollar price")
        if len(PRICE_CC_CACHE) >= _CACHE_MAX:
            PRICE_CC_CACHE.clear()
        PRICE_CC_CACHE[text] = value
        return value


def size_cx(text: str) -> int:
    """Parse a Kalshi fixed-point count string (``*_fp``) into centi-contracts.

    Args:
        text: a count as Kalshi sends it, ``"91.74"``, ``"-54.00"`` or ``"3"``.

    Returns:
        The signed size in centi-contracts (``"91.74"`` -> 9174). Memoised (bounded).

    Raises:
        FixedPointError: not a decimal string, or more than 2 significant decimal places.
    """
    try:
        return SIZE_CX_CACHE[text]
    except KeyError:
        value = _parse_decimal(text, 2, "contract count")
        if len(SIZE_CX_CACHE) >= _CACHE_MAX:
            SIZE_CX_CACHE.clear()
        SIZE_CX_CACHE[text] = value
        return value


def cents_to_cc(cents: int) -> int:
    """Convert a legacy integer-cents price (pre 2026-03-12 frames, ``price: 96``) to centi-cents."""
    if type(cents) is not int:
        raise FixedPointError(cents, "an integer number of cents")
    return cents * ONE_CENT_CC


def contracts_to_cx(contracts: int) -> int:
    """Convert a legacy integer contract count (``delta: -54``, ``count: 10``) to centi-contracts."""
    if type(contracts) is not int:
        raise FixedPointError(contracts, "an integer number of contracts")
    return contracts * ONE_CONTRACT_CX


def format_price(price: int) -> str:
    """Format centi-cents as Kalshi's 4-decimal dollar string: 110 -> ``"0.0110"``."""
    sign = "-" if price < 0 else ""
    whole, frac = divmod(abs(price), ONE_DOLLAR_CC)
    return f"{sign}{whole}.{frac:04d}"


def format_size(size: int) -> str:
    """Format centi-contracts as Kalshi's 2-decimal count string: 9174 -> ``"91.74"``."""
    sign = "-" if size < 0 else ""
    whole, frac = divmod(abs(size), ONE_CONTRACT_CX)
    return f"{sign}{whole}.{frac:02d}"


def price_float(price: int) -> float:
    """Centi-cents as float dollars, for the edges only (plots, observation vectors)."""
    return price / ONE_DOLLAR_CC


def size_float(size: int) -> float:
    """Centi-contracts as float contracts, for the edges only."""
    return size / ONE_CONTRACT_CX
