"""``KalshiWeather-v0``: trade a whole Kalshi daily-high bracket ladder over replayed books."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final, SupportsFloat

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from kcap.envs import features
from kcap.envs.config import EnvConfig, check_choice, parse_dates, parse_series
from kcap.envs.dataset import Dataset, Plan, grid, load_dataset, plan_event, resolve_sources
from kcap.envs.fees import KALSHI_FEES, FeeSchedule, order_fee_cc
from kcap.envs.fills import Depletion, Fill, Ledger, execute
from kcap.envs.render import ladder_image
from kcap.errors import UsageError
from kcap.fixedpoint import ONE_CONTRACT_CX, ONE_DOLLAR_CC

HOLD, BUY_YES, BUY_NO, FLATTEN = 0, 1, 2, 3
ACTIONS: Final = ("hold", "buy_yes", "buy_no", "flatten")
_NS: Final = 1_000_000_000

Obs = dict[str, npt.NDArray[np.float32]] | npt.NDArray[np.float32]


class KalshiWeatherEnv(gym.Env[Obs, npt.NDArray[np.int64]]):
    """Trade every bracket of one Kalshi daily-high-temperature event over its replayed books.

    ## Description

    An episode is one event (series x date, e.g. ``KXHIGHNY-25DEC06``) with all its bracket
    markets. Its books are the captures replayed once through kcap's replay path (readers, merge,
    decoder, the one ``BookBuilder``) and sampled as of each step time. The agent starts flat
    with ``initial_cash_cc`` and takes liquidity: each step it may, per bracket, buy YES, buy NO
    or flatten ``lot_cx``. Orders reach the book ``latency_ms`` after the observation they were
    decided on and fill against the replayed levels, which the agent's own fills deplete. Fees
    are Kalshi's taker fee, to the cent. At the close the contracts settle at the real outcome.
    Every amount is an exact integer (centi-cents, centi-contracts); floats only appear in the
    observation and the reward. See the README section ``KalshiWeather-v0``.

    ## Action Space

    ``MultiDiscrete([4] * n)``, one entry per bracket slot (ladder order, lowest strike first):

    | value | action  | order                                                               |
    |-------|---------|---------------------------------------------------------------------|
    | 0     | hold    | none                                                                |
    | 1     | buy YES | ``min(lot, max_position - position)`` YES, limit = seen ask + slippage |
    | 2     | buy NO  | the same in NO (= sell YES at ``$1 - p``), limit = seen bid - slippage |
    | 3     | flatten | close the whole position at the seen best price -/+ slippage        |

    ``action_masks()`` (for MaskablePPO) marks what cannot fill: an invalid book, no opposite
    liquidity, the position limit, not enough cash for the collateral and fee, nothing to
    flatten, or the market closing before the order arrives. Unmasked impossible actions are
    not errors: they do not fill. Padded slots (``active`` = 0) ignore their action.

    ## Observation Space

    A ``Dict`` of float32 ``Box`` spaces (one level; keys sorted as Gymnasium sorts them). Per
    bracket keys have shape ``(n,)``, the others ``(1,)``:

    | key | meaning | unit | range |
    |-----|---------|------|-------|
    | active | slot holds a bracket | flag | [0, 1] |
    | yes_bid / yes_ask | best YES bid / ask the agent sees (0 / 1: none) | $ | [0, 1] |
    | spread | yes_ask - yes_bid | $ | [-1, 1] |
    | yes_bid_size / yes_ask_size | size at the top | log(1 + contracts) | [0, 25] |
    | bid_depth / ask_depth | size over the top ``depth`` levels | log(1 + contracts) | [0, 25] |
    | book_age | since the book last changed | log(1 + seconds) | [0, 20] |
    | book_valid | book follows a snapshot with no break | flag | [0, 1] |
    | floor_vs_forecast / cap_vs_forecast | strike - latest forecast (open end: -/+100) | F | [-100, 100] |
    | forecast_prob | bracket probability under the forecast distribution | | [0, 1] |
    | position | signed YES position / max position (- = NO) | | [-1, 1] |
    | avg_cost | average price paid for the open position | $ | [0, 1] |
    | cash | free cash / initial cash | | [0, 100] |
    | time_to_close | until trading closes | hours | [0, 100] |
    | forecast_known | a forecast is known (else forecast features are 0) | flag | [0, 1] |
    | forecast_high | latest known forecast of the high | F | [-100, 200] |
    | forecast_lead | its lead | days | [0, 10] |
    | forecast_age | since it became known | hours | [0, 240] |
    | forecast_revision | latest - previous forecast | F | [-100, 100] |
    | yes_ask_sum / yes_bid_sum | ladder sums of the YES asks / bids | $ | [0, 100] |

    With ``observation="flat"`` (``KalshiWeatherFlat-v0``) the same values come as one ``Box``,
    in the order ``gymnasium.spaces.flatten`` gives.

    ## Rewards

    ``reward_mode="mark_to_market"`` (default): the change, in dollars, of cash plus the open
    positions valued at the best bid one could sell them at (YES at the best YES bid, NO at
    the best NO bid; 0 without a bid), net of fees; at the terminal step the positions are paid
    $1 per winning contract instead. ``"cash"``: the change in cash only (trades cost at once,
    settlement pays at the end). Both sum to the episode's P&L when it settles. With
    ``shaping_gamma`` set, ``gamma * phi(s') - phi(s)`` is added, ``phi`` being the positions'
    value under the forecast probabilities (0 at termination): potential-based, so it does
    not change the optimal policy (Ng et al. 1999).

    ## Starting State

    Flat, with ``initial_cash_cc``, at the event's start (the market's open, or when every
    bracket has a book if the data starts later); with ``episode_start="random"`` at a random
    step of the grid; with ``episode_start=n`` (an int) at the first step ``n`` seconds or less
    before the close. The event is drawn uniformly with ``self.np_random``;
    ``reset(options={"event": ticker, "start_ns": t})`` picks both (``start_ns`` is rounded up
    to the grid; ``"start_step"`` is also accepted).

    ## Episode End

    Steps are ``step_secs`` of replay time. The episode ends at the close, or when the data
    ends if that is earlier. If the outcome is known the contracts settle and ``terminated``
    is True; otherwise ``truncated`` is True. An episode always has at least two steps.

    ## Arguments

    All keyword-only. Data: ``data_dir``, ``captures`` (paths or globs), ``markets``,
    ``forecasts``, ``outcomes`` (formats in :mod:`kcap.envs.data`; nothing: the embedded
    sample), ``series``, ``dates`` (inclusive ``(first, last)``). Clock: ``step_secs`` (60),
    ``latency_ms`` (1000, less than a step), ``episode_start``. Orders: ``lot_cx`` (100 = one
    contract), ``max_position_cx`` (1000 a bracket), ``initial_cash_cc`` (1,000,000 = $100),
    ``slippage_cc`` (100 = 1 cent past the seen price), ``depth`` (5 levels). Fills:
    ``refill_cx_per_min`` (300: taken liquidity returns at 3 contracts a minute per level).
    Fees: ``fee_schedule`` (:data:`kcap.envs.fees.KALSHI_FEES`). Reward: ``reward_mode``,
    ``shaping_gamma`` (None: off). Features: ``forecast_sigma_f`` (sigma by lead),
    ``max_brackets`` (slots; default the largest event). ``observation`` ("dict" or "flat"),
    ``render_mode`` ("ansi": the ladder as text; "rgb_array": a small picture of it, see
    :mod:`kcap.envs.render`; or None).

    ## Version History

    * v0: first version.
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        *,
        data_dir: str | Path | None = None,
        captures: str | Path | Sequence[str | Path] | None = None,
        markets: str | Path | None = None,
        forecasts: str | Path | None = None,
        outcomes: str | Path | None = None,
        series: str | Sequence[str] | None = None,
        dates: tuple[dt.date | str, dt.date | str] | None = None,
        step_secs: int = 60,
        latency_ms: int = 1000,
        episode_start: str | int = "open",
        lot_cx: int = 100,
        max_position_cx: int = 1000,
        initial_cash_cc: int = 1_000_000,
        slippage_cc: int = 100,
        depth: int = 5,
        refill_cx_per_min: int = 300,
        fee_schedule: FeeSchedule = KALSHI_FEES,
        reward_mode: str = "mark_to_market",
        shaping_gamma: float | None = None,
        forecast_sigma_f: Mapping[int, float] | None = None,
        max_brackets: int | None = None,
        observation: str = "dict",
        render_mode: str | None = None,
    ) -> None:
        config = EnvConfig(
            step_secs=step_secs,
            latency_ms=latency_ms,
            episode_start=episode_start,
            lot_cx=lot_cx,
            max_position_cx=max_position_cx,
            initial_cash_cc=initial_cash_cc,
            slippage_cc=slippage_cc,
            depth=depth,
            refill_cx_per_min=refill_cx_per_min,
            fee_schedule=fee_schedule,
            reward_mode=reward_mode,
            shaping_gamma=shaping_gamma,
            forecast_sigma_f=forecast_sigma_f or features.FORECAST_SIGMA_F,
            max_brackets=max_brackets,
            observation=observation,
        )
        if render_mode is not None:
            check_choice("render_mode", render_mode, tuple(self.metadata["render_modes"]))
        self.render_mode = render_mode
        self.config = config
        sources = resolve_sources(
            data_dir=data_dir,
            captures=captures,
            markets=markets,
            forecasts=forecasts,
            outcomes=outcomes,
        )
        self.dataset: Dataset = load_dataset(
            sources, series=parse_series(series), dates=parse_dates(dates), depth=depth
        )
        self._setup(config)

    def _setup(self, config: EnvConfig) -> None:
        """Events, spaces and the agent's state holders (hot settings copied to attributes)."""
        self.step_ns, self.latency_ns = config.step_ns, config.latency_ns
        self.lot_cx, self.max_position_cx = config.lot_cx, config.max_position_cx
        self.initial_cash_cc, self.slippage_cc = config.initial_cash_cc, config.slippage_cc
        self.reward_mode, self.shaping_gamma = config.reward_mode, config.shaping_gamma
        self.tapes = [t for t in self.dataset.tapes if len(grid(t, self.step_ns)) >= 3]
        if not self.tapes:
            raise UsageError(
                f"expected an event with at least two {config.step_secs} s steps, found none"
            )
        self.events = tuple(t.event.ticker for t in self.tapes)
        widest = max(len(t.event.brackets) for t in self.tapes)
        self.n = widest if config.max_brackets is None else config.max_brackets
        if self.n < widest:
            raise UsageError(f"expected max_brackets >= {widest} (the widest event), got {self.n}")
        self.layout = features.Layout(self.n)
        self.flat = config.observation == "flat"
        self.observation_space: spaces.Space[Obs] = (
            self.layout.flat if self.flat else self.layout.space  # type: ignore[assignment]
        )
        self.action_space: spaces.Space[npt.NDArray[np.int64]] = spaces.MultiDiscrete(
            [len(ACTIONS)] * self.n
        )
        self._slice = {k: (s.start, s.stop) for k, s in self.layout.slices.items()}
        self._plan: Plan | None = None
        self._rows: dict[int, tuple[Fill, ...]] = {}
        self._ledger = Ledger(self.n, self.initial_cash_cc)
        self._depletion = Depletion(2 * self.n, config.refill_cx_per_min)
        self._k = self._k0 = 0
        self._equity_cc = self.initial_cash_cc
        self._phi = 0.0
        self._done = True

    # -- episode ----------------------------------------------------------------------------

    def plan(self, event: str) -> Plan:
        """The step plan of ``event`` (computed once per process and settings, then shared)."""
        tape = self.tapes[self.events.index(event)]
        return plan_event(self.dataset, tape, self.layout, self.config)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Obs, dict[str, Any]]:
        """Start an episode (see the class docstring, Starting State)."""
        super().reset(seed=seed)
        options = options or {}
        event = options.get("event")
        if event is None:
            event = self.events[int(self.np_random.integers(len(self.events)))]
        elif event not in self.events:
            raise UsageError(f"expected an event among {len(self.events)} loaded, got {event!r}")
        plan = self.plan(event)
        if plan is not self._plan:
            self._rows = {}
        self._plan = plan
        self._tape = plan.tape
        self._k = self._k0 = self._start_step(plan, options)
        self._ledger = Ledger(self.n, self.initial_cash_cc)
        self._depletion.clear()
        self._depleted: set[int] = set()
        self._nb = len(plan.tape.event.brackets)
        self._winners = plan.winners
        self._rates = self.config.fee_schedule.rates(plan.tape.event.series, plan.tape.event.date)
        self._pos_obs = np.zeros(self.n, dtype=np.float32)
        self._cost_obs = np.zeros(self.n, dtype=np.float32)
        self._done = False
        vector = self._observe()
        self._equity_cc = self._equity()
        self._phi = self._potential()
        info = {"event": event, "step": 0, "time_ns": int(plan.times_ns[self._k])}
        return self._out(vector), info

    def _start_step(self, plan: Plan, options: Mapping[str, Any]) -> int:
        last = plan.steps - 2  # at least two steps remain
        if "start_step" in options:
            k = int(options["start_step"])
        elif "start_ns" in options:
            k = -(-(int(options["start_ns"]) - int(plan.times_ns[0])) // self.step_ns)
        elif self.config.episode_start == "random":
            k = int(self.np_random.integers(last + 1))
        elif isinstance(self.config.episode_start, int):
            at = plan.tape.event.close_ns - self.config.episode_start * _NS
            k = -(-(at - int(plan.times_ns[0])) // self.step_ns)
        else:
            k = 0
        return min(max(k, 0), last)

    # -- step -------------------------------------------------------------------------------

    def step(
        self, action: npt.NDArray[np.int64]
    ) -> tuple[Obs, SupportsFloat, bool, bool, dict[str, Any]]:
        """Send the orders, advance one step, and settle at the end (class docstring)."""
        if self._done or self._plan is None:
            raise UsageError("expected reset() before step() (the episode is over or not begun)")
        plan = self._plan
        k = self._k
        cash_before = self._ledger.cash_cc
        fills: list[tuple[int, int, int, int]] = []
        fees_cc = 0
        acts = action.tolist() if isinstance(action, np.ndarray) else list(action)
        t_fill = int(plan.times_ns[k]) + self.latency_ns
        if t_fill < plan.tape.event.close_ns and any(acts[: self._nb]):
            fees_cc = self._send(acts, plan.fill_ids[k].tolist(), t_fill, fills)
        self._k = k = k + 1
        end = k == plan.steps
        settled = end and self._winners is not None
        payout = 0
        if settled:
            assert self._winners is not None
            for b in range(self._nb):
                payout += self._ledger.settle(b, self._winners[b])
            self._pos_obs[:] = 0
            self._cost_obs[:] = 0
        vector = self._observe()
        equity = self._equity()
        if self.reward_mode == "mark_to_market":
            reward_cc = equity - self._equity_cc
        else:
            reward_cc = self._ledger.cash_cc - cash_before
        self._equity_cc = equity
        reward = reward_cc / ONE_DOLLAR_CC
        shaping = 0.0
        if self.shaping_gamma is not None:
            phi = 0.0 if settled else self._potential()
            shaping = self.shaping_gamma * phi - self._phi
            self._phi = phi
            reward += shaping
        self._done = end
        info = self._info(fills, fees_cc, shaping)
        if end:
            info["settled"] = settled
            info["payout_cc"] = payout
            info["pnl_dollars"] = (equity - self.initial_cash_cc) / ONE_DOLLAR_CC
            if settled:
                assert plan.outcome is not None
                info["outcome_f"] = float(plan.outcome.value)
        return self._out(vector), float(reward), bool(settled), bool(end and not settled), info

    def _send(
        self, acts: list[int], sids: list[int], t_fill: int, out: list[tuple[int, int, int, int]]
    ) -> int:
        """Send the step's orders (bracket order) against the states ``sids``; return the fees."""
        bid_cc, ask_cc = self._best_cc
        pos, limit, valid = self._ledger.position_cx, self.max_position_cx, self._valid
        fees = 0
        for b in range(self._nb):
            act = acts[b]
            # what surely cannot fill is skipped here; _order checks everything again
            if (
                not act
                or not valid[b]
                or (act == BUY_YES and (not ask_cc[b] or pos[b] >= limit))
                or (act == BUY_NO and (not bid_cc[b] or pos[b] <= -limit))
                or (act == FLATTEN and not pos[b])
            ):
                continue
            fees += self._order(b, act, bid_cc[b], ask_cc[b], sids[b], t_fill, out)
        return fees

    def _order(
        self,
        b: int,
        act: int,
        bid_cc: int,
        ask_cc: int,
        sid: int,
        t_fill: int,
        out: list[tuple[int, int, int, int]],
    ) -> int:
        """Send one bracket's order, filled against book state ``sid``; return its fee (cc)."""
        ledger = self._ledger
        pos = ledger.position_cx[b]
        if act == BUY_YES:
            buy, size = True, min(self.lot_cx, self.max_position_cx - pos)
        elif act == BUY_NO:
            buy, size = False, min(self.lot_cx, self.max_position_cx + pos)
        elif act == FLATTEN:
            buy, size = pos < 0, abs(pos)
        else:
            return 0
        ref = ask_cc if buy else bid_cc
        if size <= 0 or not ref or not self._valid[b]:
            return 0
        if not self._tape.valid[sid]:
            return 0
        slot = 2 * b + 1 if buy else 2 * b
        levels = self._depletion.visible(slot, self._levels(sid, buy), t_fill)
        limit = ref + self.slippage_cc if buy else ref - self.slippage_cc
        got, fee, cash = execute(ledger, b, buy, levels, limit, size, self._rates.taker)
        if not got:
            return 0
        ledger.apply(b, buy, got, fee, cash)
        take = self._depletion.take
        for price, filled in got:
            take(slot, ONE_DOLLAR_CC - price if buy else price, filled, t_fill)
            out.append((b, int(buy), price, filled))
        self._depleted.add(b)
        self._pos_obs[b] = ledger.position_cx[b] / self.max_position_cx
        self._cost_obs[b] = ledger.average_cost_cc(b) / ONE_DOLLAR_CC
        return fee

    def _levels(self, sid: int, no: bool) -> tuple[Fill, ...]:
        """A state's YES (or NO) bid levels as a tuple (memoized for the episode's event)."""
        key = 2 * sid + no
        levels = self._rows.get(key)
        if levels is None:
            tape = self._tape
            px, sz = (tape.no_px, tape.no_sz) if no else (tape.yes_px, tape.yes_sz)
            levels = self._rows[key] = _pairs(px[sid].tolist(), sz[sid].tolist())
        return levels

    # -- observation, value, info ------------------------------------------------------------

    def _observe(self) -> npt.NDArray[np.float32]:
        """The observation at the current step; also the integer best prices and validity."""
        plan = self._plan
        assert plan is not None
        k = self._k
        vector: npt.NDArray[np.float32] = plan.static[k].copy()
        bid_cc = plan.best_bid_cc[k].tolist()
        ask_cc = plan.best_ask_cc[k].tolist()
        if self._depleted:
            self._see_depletion(vector, bid_cc, ask_cc)
        a, z = self._slice["position"]
        vector[a:z] = self._pos_obs
        a, z = self._slice["avg_cost"]
        vector[a:z] = self._cost_obs
        cash = self._ledger.cash_cc / self.initial_cash_cc
        vector[self._slice["cash"][0]] = cash if cash < 100.0 else 100.0
        self._best_cc = (bid_cc, ask_cc)
        self._valid = plan.valid[k].tolist()
        return vector

    def _see_depletion(
        self, vector: npt.NDArray[np.float32], bid_cc: list[int], ask_cc: list[int]
    ) -> None:
        """Patch the book features of brackets whose levels the agent has depleted."""
        plan = self._plan
        assert plan is not None
        dep, sl = self._depletion, self._slice
        t = int(plan.times_ns[self._k])
        sid_row = plan.ids[self._k]
        sums = [0.0, 0.0]  # change of yes_ask_sum, yes_bid_sum
        for b in sorted(self._depleted):
            short_yes, short_no = dep.active(2 * b, t), dep.active(2 * b + 1, t)
            if not short_yes and not short_no:
                self._depleted.discard(b)
                continue
            sid = int(sid_row[b])
            if short_yes:
                bids = dep.visible(2 * b, self._levels(sid, False), t)
                bid_cc[b] = bids[0][0] if bids else 0
                sums[1] += self._write_side(vector, b, bids, False)
            if short_no:
                nos = dep.visible(2 * b + 1, self._levels(sid, True), t)
                ask_cc[b] = ONE_DOLLAR_CC - nos[0][0] if nos else 0
                sums[0] += self._write_side(vector, b, nos, True)
            i = sl["spread"][0] + b
            vector[i] = vector[sl["yes_ask"][0] + b] - vector[sl["yes_bid"][0] + b]
        vector[sl["yes_ask_sum"][0]] += sums[0]
        vector[sl["yes_bid_sum"][0]] += sums[1]

    def _write_side(
        self, vector: npt.NDArray[np.float32], b: int, levels: Sequence[Fill], ask: bool
    ) -> float:
        """Write one side's top price, size and depth; return the change of the top price."""
        sl = self._slice
        names = (
            ("yes_ask", "yes_ask_size", "ask_depth")
            if ask
            else ("yes_bid", "yes_bid_size", "bid_depth")
        )
        price, size, depth = features.side_features(levels, ask)
        i = sl[names[0]][0] + b
        change = price - float(vector[i])
        vector[i] = price
        vector[sl[names[1]][0] + b] = size
        vector[sl[names[2]][0] + b] = depth
        return change

    def _equity(self) -> int:
        """Cash plus the open positions at the best bids seen now, centi-cents."""
        ledger = self._ledger
        value = 0
        bid_cc, ask_cc = self._best_cc
        for b, pos in enumerate(ledger.position_cx):
            if pos > 0:
                value += bid_cc[b] * pos // ONE_CONTRACT_CX
            elif pos < 0 and ask_cc[b]:
                value += (ONE_DOLLAR_CC - ask_cc[b]) * -pos // ONE_CONTRACT_CX
        return ledger.cash_cc + value

    def _potential(self) -> float:
        """Positions' value under the forecast probabilities, dollars (shaping only)."""
        if self.shaping_gamma is None or self._plan is None:
            return 0.0
        probs = self._plan.forecast_prob[self._k]
        phi = 0.0
        for b, pos in enumerate(self._ledger.position_cx[: self._nb]):
            if pos:
                p = float(probs[b])
                phi += (pos * p if pos > 0 else -pos * (1.0 - p)) / ONE_CONTRACT_CX
        return phi

    def _info(
        self, fills: list[tuple[int, int, int, int]], fees_cc: int, shaping: float
    ) -> dict[str, Any]:
        plan = self._plan
        assert plan is not None
        ledger = self._ledger
        return {
            "event": plan.tape.event.ticker,
            "step": self._k - self._k0,
            "time_ns": int(plan.times_ns[self._k]),
            "fills": tuple(fills),
            "fees_cc": fees_cc,
            "total_fees_cc": ledger.fees_cc,
            "cash_cc": ledger.cash_cc,
            "equity_cc": self._equity_cc,
            "realized_pnl_dollars": ledger.realized_pnl_ccx() / (ONE_DOLLAR_CC * ONE_CONTRACT_CX),
            "shaping": shaping,
        }

    def _out(self, vector: npt.NDArray[np.float32]) -> Obs:
        return vector if self.flat else self.layout.as_dict(vector)

    # -- masks, render, close ----------------------------------------------------------------

    def action_masks(self) -> npt.NDArray[np.bool_]:
        """Which actions can fill now, flattened ``(n * 4,)`` bracket-major (MaskablePPO)."""
        mask = np.zeros((self.n, len(ACTIONS)), dtype=np.bool_)
        mask[:, HOLD] = True
        plan = self._plan
        if self._done or plan is None:
            return mask.ravel()
        if int(plan.times_ns[self._k]) + self.latency_ns >= plan.tape.event.close_ns:
            return mask.ravel()
        bid_cc, ask_cc = self._best_cc
        ledger = self._ledger
        for b in range(self._nb):
            if not self._valid[b]:
                continue
            pos = ledger.position_cx[b]
            buy = min(self.lot_cx, self.max_position_cx - pos)
            sell = min(self.lot_cx, self.max_position_cx + pos)
            mask[b, BUY_YES] = self._affordable(b, True, ask_cc[b], buy)
            mask[b, BUY_NO] = self._affordable(b, False, bid_cc[b], sell)
            if pos:
                price = ask_cc[b] if pos < 0 else bid_cc[b]
                mask[b, FLATTEN] = self._affordable(b, pos < 0, price, abs(pos))
        return mask.ravel()

    def _affordable(self, b: int, buy: bool, price_cc: int, size_cx: int) -> bool:
        """Whether the cash pays for some fill of the order at ``price_cc`` and its fee.

        Orders larger than the cash covers are cut, not refused, so this tests the best cut:
        the part that closes contracts (it pays back), or else the smallest fill (0.01).
        """
        if not price_cc or size_cx <= 0:
            return False
        ledger = self._ledger
        fills = [(price_cc, min(size_cx, ledger.closable_cx(b, buy)) or 1)]
        fee = order_fee_cc(self._rates.taker, fills)
        return ledger.cash_cc + ledger.cash_change_cc(b, buy, fills) - fee >= 0

    def render(self) -> str | npt.NDArray[np.uint8] | None:
        """``ansi``: the ladder, positions and cash as text; ``rgb_array``: a picture of it."""
        if self.render_mode is None or self._plan is None:
            return None
        if self.render_mode == "rgb_array":
            return self._render_image()
        plan, ledger = self._plan, self._ledger
        event = plan.tape.event
        t = dt.datetime.fromtimestamp(int(plan.times_ns[self._k]) // _NS, dt.UTC)
        lines = [f"{event.ticker}  {t:%Y-%m-%d %H:%M:%S}Z  step {self._k - self._k0}"]
        bid_cc, ask_cc = self._best_cc
        for b, bracket in enumerate(event.brackets):
            lo = "" if bracket.floor is None else str(bracket.floor)
            hi = "" if bracket.cap is None else str(bracket.cap)
            lines.append(
                f"  {bracket.strike_type:>16} {lo:>5}..{hi:<5} bid {_cents(bid_cc[b])} "
                f"ask {_cents(ask_cc[b])}  pos {ledger.position_cx[b] / 100:+8.2f}"
            )
        lines.append(
            f"  cash ${ledger.cash_cc / ONE_DOLLAR_CC:.2f}  equity ${self._equity() / ONE_DOLLAR_CC:.2f}"
            f"  fees ${ledger.fees_cc / ONE_DOLLAR_CC:.2f}"
        )
        return "\n".join(lines) + "\n"

    def _render_image(self) -> npt.NDArray[np.uint8]:
        assert self._plan is not None
        bid_cc, ask_cc = self._best_cc
        steps = max(len(self._plan.times_ns) - 1 - self._k0, 1)
        return ladder_image(
            [int(p) for p in bid_cc],
            [int(p) for p in ask_cc],
            [bool(v) for v in self._valid],
            [int(p) for p in self._ledger.position_cx],
            max_position_cx=self.max_position_cx,
            progress=(self._k - self._k0) / steps,
        )

    def close(self) -> None:
        """Nothing to release (the data is shared); safe to call more than once."""
        self._plan = None
        self._done = True


def _pairs(prices: list[int], sizes: list[int]) -> tuple[Fill, ...]:
    return tuple((p, s) for p, s in zip(prices, sizes, strict=True) if p)


def _cents(price_cc: int) -> str:
    return f"{price_cc / 100:5.1f}c" if price_cc else "    - "
