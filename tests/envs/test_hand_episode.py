"""A hand-computed episode on real data: three scripted trades, cash, fees and P&L to the cent.

Event KXHIGHNY-25DEC06 (embedded sample; the day's high was 42 F, so B41.5 "41 to 42" settles
YES and B39.5 settles NO). Env: 15-contract lots, 2-cent slippage, 1 s latency, 60 s steps;
the episode starts at 12:00:00Z (07:00 ET, the sample's first snapshot).

Books (from the replay, checked below):

* 12:00:01Z B41.5 NO bids 0.52 x 10, 0.51 x 10 -> YES asks 0.48 x 10, 0.49 x 10.
* 13:00:01Z B39.5 YES bids 0.41 x 10, 0.40 x 10.
* 15:00:01Z B39.5 NO bids 0.73 x 11, 0.72 x 11 -> YES asks 0.27 x 11, 0.28 x 11.

Trades (fee per order = ceil to the cent of the fills' fees, each up to $0.0001):

1. step 0, buy YES B41.5, 15: 10 @ 0.48 + 5 @ 0.49 = $7.25. Fee: 0.07 x 10 x 0.48 x 0.52 =
   $0.17472 -> 0.1748; 0.07 x 5 x 0.49 x 0.51 = $0.087465 -> 0.0875; sum 0.2623 -> $0.27.
   Cash 100 - 7.25 - 0.27 = $92.48.
2. step 60, buy NO B39.5, 15 (= sell YES): YES bids 10 @ 0.41 + 5 @ 0.40, so NO costs
   10 x 0.59 + 5 x 0.60 = $8.90. Fee: 0.07 x 10 x 0.41 x 0.59 = 0.16933 -> 0.1694;
   0.07 x 5 x 0.4 x 0.6 = 0.0840; sum 0.2534 -> $0.26. Cash 92.48 - 8.90 - 0.26 = $83.32.
3. step 180, flatten B39.5 (buy 15 YES against the 15 NO): 11 @ 0.27 + 4 @ 0.28 = $4.09,
   and 15 YES+NO pairs pay $15: +$10.91. Fee: 0.07 x 11 x 0.27 x 0.73 = 0.151767 -> 0.1518;
   0.07 x 4 x 0.28 x 0.72 = 0.056448 -> 0.0565; sum 0.2083 -> $0.21. Cash $94.02.
4. hold 15 YES B41.5 to the close; it settles YES: +$15. Final cash $109.02.

P&L +$9.02; fees $0.74.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from envtools import make_env

from kcap import sample
from kcap.replay.player import Player, ReplayConfig

S = 1_000_000_000
T0 = int(dt.datetime(2025, 12, 6, 12, 0, tzinfo=dt.UTC).timestamp()) * S
EVENT = "KXHIGHNY-25DEC06"
B39, B41 = 1, 2  # ladder order: T39, B39.5, B41.5, B43.5, B45.5, T46


def book_at(ticker: str, t_ns: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Best two YES and NO bids of ``ticker`` after replaying the records up to ``t_ns``."""
    player = Player(ReplayConfig([sample.directory() / f"{EVENT}.parquet"], to_ns=t_ns))
    player.run()
    book = player.builder.books[f"{EVENT}-{ticker}"]
    return [tuple(x) for x in book.bids("yes", 2)], [tuple(x) for x in book.bids("no", 2)]


def test_the_books_used_by_hand() -> None:
    assert book_at("B41.5", T0 + S)[1] == [(5_200, 1_000), (5_100, 1_000)]
    assert book_at("B39.5", T0 + 3_600 * S + S)[0] == [(4_100, 1_000), (4_000, 1_000)]
    assert book_at("B39.5", T0 + 10_800 * S + S)[1] == [(7_300, 1_100), (7_200, 1_100)]


def test_hand_computed_episode() -> None:
    env = make_env(lot_cx=1_500, max_position_cx=5_000, slippage_cc=200)
    _, info = env.reset(options={"event": EVENT})
    assert info["time_ns"] == T0
    script = {0: (B41, 1), 60: (B39, 2), 180: (B39, 3)}
    infos, rewards = {}, []
    step, done = 0, False
    while not done:
        action = np.zeros(env.n, dtype=np.int64)
        if step in script:
            bracket, order = script[step]
            action[bracket] = order
        _obs, reward, terminated, truncated, info = env.step(action)
        rewards.append(reward)
        infos[step] = info
        step += 1
        done = terminated or truncated
    assert infos[0]["fills"] == ((B41, 1, 4_800, 1_000), (B41, 1, 4_900, 500))
    assert infos[0]["fees_cc"] == 2_700 and infos[0]["cash_cc"] == 924_800
    assert infos[60]["fills"] == ((B39, 0, 4_100, 1_000), (B39, 0, 4_000, 500))
    assert infos[60]["fees_cc"] == 2_600 and infos[60]["cash_cc"] == 833_200
    assert infos[180]["fills"] == ((B39, 1, 2_700, 1_100), (B39, 1, 2_800, 400))
    assert infos[180]["fees_cc"] == 2_100 and infos[180]["cash_cc"] == 940_200
    last = infos[step - 1]
    assert terminated and not truncated
    assert last["outcome_f"] == 42.0 and last["payout_cc"] == 150_000
    assert last["cash_cc"] == 1_090_200 and last["total_fees_cc"] == 7_400
    assert last["pnl_dollars"] == 9.02
    assert round(sum(rewards), 9) == 9.02  # the rewards add up to the P&L
    # realized P&L once everything is settled: the same $9.02
    assert round(last["realized_pnl_dollars"], 9) == 9.02
    # the close: 04:59Z on Dec 7, 1019 steps of 60 s from 12:00Z (the last one shorter)
    assert step == 1_019 and last["time_ns"] == T0 + (16 * 3_600 + 59 * 60) * S
