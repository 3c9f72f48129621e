"""Taker fills against the replayed book, the agent's liquidity consumption, and its ledger.

Pure and exact: integers only (prices centi-cents, sizes centi-contracts, times Unix ns of
*replay* time; nothing here reads a clock).

**Book sides.** Kalshi books hold bids only. Buying YES lifts YES asks, which are NO bids at
``$1 - p``; selling YES (the same as buying NO at ``$1 - p``) hits YES bids. A *slot* is one
bracket's bid ladder: ``2 b`` its YES bids, ``2 b + 1`` its NO bids.

**Walk.** A taker order is an immediate-or-cancel limit order: it walks the visible levels of
the ladder it hits best first, takes ``min(remaining, level size)`` at each level whose price
is within its limit, and the rest is cancelled. It never takes more than the displayed size.

**Depletion.** What the agent takes is removed from the book it sees: the size taken at a price
level is subtracted from that level in every later view of the replayed book, and comes back
at ``refill_cx_per_min`` centi-contracts per minute of replay time (linear, per level, from the
last take at that level). So repeating a trade does not find the same liquidity again.

**Ledger.** Positions are signed YES counts (``+`` YES, ``-`` NO). Buying YES at p while
holding NO first closes NO contracts: a YES and a NO pair pays back $1, so closing NO by buying
YES at p receives ``1 - p`` each, as selling NO at ``1 - p`` would. Buying YES costs p per new
contract, buying NO ``1 - p``: that is the collateral, paid from cash, which may not go
negative (fees included). Money amounts inside an order are exact in centi-cent x
centi-contract units (10^-6 dollars); the order's cash change is floored to a centi-cent (it is
already exact for whole-cent prices or whole-contract sizes, which covers all Kalshi weather
data). The cost basis of each position is kept in the same units.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Final

from kcap.envs.fees import order_fee_cc
from kcap.fixedpoint import ONE_CONTRACT_CX, ONE_DOLLAR_CC

NS_PER_MIN: Final = 60_000_000_000

Fill = tuple[int, int]
"""``(yes_price_cc, size_cx)`` of one fill."""


class Depletion:
    """The agent's consumption of each bid level, recovering in replay time.

    Args:
        slots: number of bid ladders (2 per bracket).
        refill_cx_per_min: centi-contracts per minute that come back at each level (0: never).
    """

    __slots__ = ("expires_ns", "rate", "taken")

    def __init__(self, slots: int, refill_cx_per_min: int) -> None:
        self.rate = refill_cx_per_min
        self.taken: list[dict[int, tuple[int, int]]] = [{} for _ in range(slots)]
        self.expires_ns = [0] * slots  # every level of the slot is back by then

    def clear(self) -> None:
        """Forget everything (a new episode)."""
        for taken in self.taken:
            taken.clear()
        self.expires_ns = [0] * len(self.taken)

    def active(self, slot: int, t_ns: int) -> bool:
        """True when some level of ``slot`` is still short at ``t_ns``."""
        taken = self.taken[slot]
        if taken and self.rate and t_ns >= self.expires_ns[slot]:
            taken.clear()
        return bool(taken)

    def left(self, slot: int, price_cc: int, t_ns: int) -> int:
        """Size still missing at ``price_cc`` of ``slot`` at time ``t_ns``, centi-contracts."""
        entry = self.taken[slot].get(price_cc)
        if entry is None:
            return 0
        size, since = entry
        left = size - self.rate * (t_ns - since) // NS_PER_MIN
        if left <= 0:
            del self.taken[slot][price_cc]
            return 0
        return left

    def visible(self, slot: int, levels: Sequence[Fill], t_ns: int) -> Sequence[Fill]:
        """The ladder as the agent sees it: replayed sizes minus what is still missing.

        Args:
            slot: the ladder.
            levels: the replayed ``(bid price, size)`` levels, best first.
            t_ns: replay time.

        Returns:
            ``(bid price, size)`` levels with size > 0, best first (``levels`` itself when
            nothing is missing).
        """
        if not self.active(slot, t_ns):
            return levels
        out = []
        for price, size in levels:
            size -= self.left(slot, price, t_ns)
            if size > 0:
                out.append((price, size))
        return out

    def take(self, slot: int, price_cc: int, size_cx: int, t_ns: int) -> None:
        """Record ``size_cx`` taken at ``price_cc`` of ``slot`` at ``t_ns``."""
        left = self.left(slot, price_cc, t_ns) + size_cx
        self.taken[slot][price_cc] = (left, t_ns)
        if self.rate:
            back = t_ns + -(-left * NS_PER_MIN // self.rate)
            if back > self.expires_ns[slot]:
                self.expires_ns[slot] = back


def walk(levels: Sequence[Fill], limit_cc: int, size_cx: int) -> list[Fill]:
    """Fills of an immediate-or-cancel order hitting a bid ladder (best, highest, first).

    Args:
        levels: ``(bid price, size)`` levels the order hits, best first.
        limit_cc: lowest bid price accepted.
        size_cx: size wanted.

    Returns:
        ``(bid price, size)`` fills, best first; empty when no bid is within the limit.
    """
    fills = []
    remaining = size_cx
    for price, size in levels:
        if price < limit_cc:
            break
        if size < remaining:
            fills.append((price, size))
            remaining -= size
        else:
            fills.append((price, remaining))
            break
    return fills


def truncate(fills: Sequence[Fill], size_cx: int) -> list[Fill]:
    """The first ``size_cx`` of ``fills`` (what a smaller order would have got)."""
    out = []
    for price, size in fills:
        if size_cx <= 0:
            break
        take = size if size < size_cx else size_cx
        out.append((price, take))
        size_cx -= take
    return out


class Ledger:
    """Cash, positions, cost bases and fees of one agent.

    Attributes:
        cash_cc: free cash, centi-cents (never negative).
        position_cx: per bracket, signed YES position, centi-contracts.
        basis: per bracket, what the open position cost (YES price for YES, NO price for NO),
            in centi-cent x centi-contract units.
        fees_cc: fees paid so far, centi-cents.
        initial_cash_cc: cash at the start.
    """

    __slots__ = ("basis", "cash_cc", "fees_cc", "initial_cash_cc", "position_cx")

    def __init__(self, brackets: int, cash_cc: int) -> None:
        self.initial_cash_cc = cash_cc
        self.cash_cc = cash_cc
        self.position_cx = [0] * brackets
        self.basis = [0] * brackets
        self.fees_cc = 0

    def cash_change_cc(self, bracket: int, buy: bool, fills: Sequence[Fill]) -> int:
        """The cash an order's fills pay (negative) or receive, fees excluded, centi-cents."""
        pos = self.position_cx[bracket]
        net = 0
        for price, size in fills:
            if buy:
                closed = min(size, -pos) if pos < 0 else 0
                net += ONE_DOLLAR_CC * closed - price * size
                pos += size
            else:
                closed = min(size, pos) if pos > 0 else 0
                net += ONE_DOLLAR_CC * closed - (ONE_DOLLAR_CC - price) * size
                pos -= size
        return net // ONE_CONTRACT_CX

    def closable_cx(self, bracket: int, buy: bool) -> int:
        """Contracts of the other side an order in direction ``buy`` closes first."""
        pos = self.position_cx[bracket]
        if buy:
            return -pos if pos < 0 else 0
        return pos if pos > 0 else 0

    def apply(
        self,
        bracket: int,
        buy: bool,
        fills: Sequence[Fill],
        fee_cc: int,
        cash_cc: int | None = None,
    ) -> None:
        """Book an order's fills and fee (``cash_cc``: their :meth:`cash_change_cc`, if known)."""
        if cash_cc is None:
            cash_cc = self.cash_change_cc(bracket, buy, fills)
        self.cash_cc += cash_cc - fee_cc
        self.fees_cc += fee_cc
        pos, basis = self.position_cx[bracket], self.basis[bracket]
        for price, size in fills:
            own = -pos if buy else pos  # contracts of the other side this order closes
            closed = min(size, own) if own > 0 else 0
            if closed:
                released = basis * closed // own
                basis -= released
            opened = size - closed
            if opened:
                basis += (price if buy else ONE_DOLLAR_CC - price) * opened
            pos += size if buy else -size
        self.position_cx[bracket], self.basis[bracket] = pos, basis

    def settle(self, bracket: int, yes: bool) -> int:
        """Pay the position of ``bracket`` out ($1 a winning contract) and close it."""
        pos = self.position_cx[bracket]
        won = (pos > 0) == yes
        paid = abs(pos) * (ONE_DOLLAR_CC // ONE_CONTRACT_CX) if pos and won else 0
        self.cash_cc += paid
        self.position_cx[bracket] = 0
        self.basis[bracket] = 0
        return paid

    def realized_pnl_ccx(self) -> int:
        """Profit of what is closed or settled, net of fees, in centi-cent x centi-contract units.

        Equals ``(cash - initial cash) x 100 + cost basis of the open positions``.
        """
        return (self.cash_cc - self.initial_cash_cc) * ONE_CONTRACT_CX + sum(self.basis)

    def average_cost_cc(self, bracket: int) -> float:
        """Average price paid for the open position (YES price if long YES, NO if long NO)."""
        pos = self.position_cx[bracket]
        return self.basis[bracket] / abs(pos) if pos else 0.0


def execute(
    ledger: Ledger,
    bracket: int,
    buy: bool,
    levels: Sequence[Fill],
    limit_cc: int,
    size_cx: int,
    taker_rate: Fraction,
) -> tuple[list[Fill], int, int]:
    """Walk a ladder for an order and cut it to what the cash pays for (collateral + fee).

    Args:
        ledger: the agent's ledger (read only here).
        bracket: the bracket.
        buy: buy YES (hits the NO bids) or sell YES = buy NO (hits the YES bids).
        levels: the visible bid levels hit, best first: NO bids for a buy, YES bids for a sell.
        limit_cc: worst YES price accepted (highest for a buy, lowest for a sell).
        size_cx: size wanted (position limit already applied).
        taker_rate: the taker fee coefficient.

    Returns:
        ``(fills in YES prices, fee_cc, cash_cc)``: the largest prefix of the walk whose cost
        and fee the cash covers, its fee, and its :meth:`Ledger.cash_change_cc`.
    """
    if buy:
        fills = [(ONE_DOLLAR_CC - p, s) for p, s in walk(levels, ONE_DOLLAR_CC - limit_cc, size_cx)]
    else:
        fills = walk(levels, limit_cc, size_cx)
    if not fills:
        return [], 0, 0
    cash = ledger.cash_cc
    fee, change = order_fee_cc(taker_rate, fills), ledger.cash_change_cc(bracket, buy, fills)
    if cash + change - fee >= 0:
        return fills, fee, change

    def left(part: list[Fill]) -> int:  # cash after the part and its fee
        return cash + ledger.cash_change_cc(bracket, buy, part) - order_fee_cc(taker_rate, part)

    full = sum(size for _, size in fills)
    # Cash after n cx rises while the order closes contracts (each pays back) and falls once
    # it opens new ones, so the best cut is at least the closing part: search from there.
    lo = min(full, ledger.closable_cx(bracket, buy))
    if lo and left(truncate(fills, lo)) < 0:
        return [], 0, 0
    hi = full  # lo is affordable, hi is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if left(truncate(fills, mid)) >= 0:
            lo = mid
        else:
            hi = mid
    part = truncate(fills, lo)
    if not part:
        return [], 0, 0
    return part, order_fee_cc(taker_rate, part), ledger.cash_change_cc(bracket, buy, part)
