"""Fills: the walk, depletion and recovery in replay time, the ledger and the cash limit."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from kcap.envs.fees import order_fee_cc
from kcap.envs.fills import Depletion, Ledger, execute, truncate, walk

S = 1_000_000_000
RATE = Fraction(7, 100)
BIDS = ((4_000, 300), (3_900, 150), (3_500, 1_000))


def test_walk_takes_levels_best_first_within_the_limit() -> None:
    assert walk(BIDS, 3_900, 400) == [(4_000, 300), (3_900, 100)]
    assert walk(BIDS, 3_950, 400) == [(4_000, 300)]  # 3,900 is below the limit: cancelled
    assert walk(BIDS, 4_100, 100) == []
    assert walk(BIDS, 0, 10_000) == list(BIDS)  # never more than displayed


@given(
    st.lists(st.tuples(st.integers(1, 9_999), st.integers(1, 5_000)), max_size=6),
    st.integers(0, 10_000),
    st.integers(1, 20_000),
)
def test_walk_never_exceeds_displayed_size(
    levels: list[tuple[int, int]], limit: int, size: int
) -> None:
    levels.sort(reverse=True)
    fills = walk(levels, limit, size)
    assert sum(s for _, s in fills) <= min(size, sum(s for _, s in levels))
    assert all(p >= limit for p, _ in fills)
    for (price, got), (lp, ls) in zip(fills, levels, strict=False):
        assert price == lp and 0 < got <= ls


def test_depletion_recovers_linearly_in_replay_time() -> None:
    dep = Depletion(2, refill_cx_per_min=100)  # a contract a minute per level
    t = 1_000 * S
    dep.take(1, 4_000, 250, t)
    assert dep.visible(1, BIDS, t) == [(4_000, 50), (3_900, 150), (3_500, 1_000)]
    assert dep.visible(1, BIDS, t + 60 * S)[0] == (4_000, 150)  # 1 contract back
    assert dep.visible(1, BIDS, t + 90 * S)[0] == (4_000, 200)
    assert dep.visible(0, BIDS, t) == BIDS  # the other ladder is untouched
    dep.take(1, 4_000, 300, t + 90 * S)  # 100 still short + 300 more
    assert dep.visible(1, BIDS, t + 90 * S)[0] == (3_900, 150)  # level gone from view
    assert dep.active(1, t + 90 * S + 239 * S)
    assert not dep.active(1, t + 90 * S + 240 * S)  # 400 cx at 100 cx/min: back in 240 s
    assert dep.visible(1, BIDS, t + 330 * S) == BIDS


def test_depletion_without_refill_never_recovers() -> None:
    dep = Depletion(2, refill_cx_per_min=0)
    dep.take(0, 3_500, 400, 0)
    assert dep.visible(0, BIDS, 10**15)[2] == (3_500, 600)


def test_ledger_buys_sells_and_pairs_yes_with_no() -> None:
    ledger = Ledger(1, cash_cc=100_000)  # $10
    ledger.apply(0, True, [(4_000, 300)], fee_cc=100)  # buy 3 YES at 0.40, 1 c fee
    assert ledger.cash_cc == 100_000 - 12_000 - 100
    assert ledger.position_cx == [300]
    assert ledger.average_cost_cc(0) == 4_000
    # buy 5 NO at 0.45 (= sell YES at 0.55): closes 3 YES (+0.55 each), opens 2 NO (-0.45 each)
    assert ledger.cash_change_cc(0, False, [(5_500, 500)]) == 3 * 5_500 - 2 * 4_500
    ledger.apply(0, False, [(5_500, 500)], fee_cc=200)
    assert ledger.position_cx == [-200]
    assert ledger.average_cost_cc(0) == 4_500  # NO bought at 0.45
    assert ledger.fees_cc == 300
    # realized: 3 x (0.55 - 0.40) - fees 0.03 = $0.42 (in cc x cx units)
    assert ledger.realized_pnl_ccx() == 4_200 * 100
    # buying 2 YES at 0.30 closes the 2 NO: a pair pays $1, so each returns 0.70
    ledger.apply(0, True, [(3_000, 200)], fee_cc=100)
    assert ledger.position_cx == [0] and ledger.basis == [0]
    assert ledger.cash_cc == 100_000 + 4_200 * 1 + 2 * (7_000 - 4_500) - 100
    assert ledger.settle(0, True) == 0


def test_settlement_pays_winners() -> None:
    ledger = Ledger(2, cash_cc=0)
    ledger.position_cx[:] = [250, -100]
    assert ledger.settle(0, True) == 25_000
    assert ledger.settle(1, True) == 0  # NO loses when the bracket wins
    assert ledger.cash_cc == 25_000 and ledger.position_cx == [0, 0]


def test_execute_cuts_the_order_to_the_cash() -> None:
    ledger = Ledger(1, cash_cc=10_000)  # $1
    # buy YES against NO bids 0.60 (YES ask 0.40): 3 contracts cost $1.20 + 2 c fee
    fills, fee, cash = execute(ledger, 0, True, [(6_000, 300)], 4_000, 300, RATE)
    # the largest size the cash covers, in centi-contracts: 2.38 contracts cost $0.952 plus
    # a fee of ceil(0.07 x 2.38 x 0.4 x 0.6 = 3.998 c) = 4 c: $0.992; 2.39 would cost $1.00
    assert fills == [(4_000, 238)]
    assert fee == 400 and cash == -9_520
    assert ledger.cash_cc + cash - fee >= 0
    poor = Ledger(1, cash_cc=50)
    assert execute(poor, 0, True, [(6_000, 300)], 4_000, 300, RATE) == ([], 0, 0)


def test_execute_limit_is_in_yes_prices() -> None:
    ledger = Ledger(1, cash_cc=10**7)
    no_bids = [(6_000, 100), (5_900, 100), (5_800, 100)]  # YES asks 0.40, 0.41, 0.42
    fills, _, _ = execute(ledger, 0, True, no_bids, 4_100, 300, RATE)
    assert fills == [(4_000, 100), (4_100, 100)]
    yes_bids = [(3_800, 100), (3_700, 100)]
    fills, _, _ = execute(ledger, 0, False, yes_bids, 3_800, 300, RATE)
    assert fills == [(3_800, 100)]
    assert truncate([(1, 5), (2, 5)], 7) == [(1, 5), (2, 2)]


def test_execute_lets_a_closing_order_pay_for_itself() -> None:
    # 1.62 NO held and 0.42 c of cash: buying YES closes NO first, which pays back 0.57 each
    ledger = Ledger(1, cash_cc=42)
    ledger.position_cx[0] = -162
    no_bids = [(5_700, 10_000)]  # YES ask 0.43
    fills, fee, cash = execute(ledger, 0, True, no_bids, 4_300, 5_000, RATE)
    (price, size) = fills[0]
    assert price == 4_300 and size > 162  # closes all, then opens what the cash allows
    assert ledger.cash_cc + cash - fee >= 0
    bigger = [(4_300, size + 1)]
    after = ledger.cash_cc + ledger.cash_change_cc(0, True, bigger)
    assert after - order_fee_cc(RATE, bigger) < 0
