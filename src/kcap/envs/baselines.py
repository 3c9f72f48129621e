"""Scripted baselines for ``KalshiWeather-v0``: what a learned policy has to beat.

Each policy maps the ``Dict`` observation and the action mask to a ``MultiDiscrete`` action,
and keeps no state between episodes beyond :meth:`Policy.reset`.

* :class:`DoNothing` - holds: P&L 0, the floor every agent must clear.
* :class:`ForecastFavorite` - once a forecast is known, buys YES on the bracket the forecast
  makes most likely, a lot a step up to ``target_cx``, and holds it to settlement.
* :class:`MarketFavorite` - the same on the market's favourite (highest YES mid): needs no
  forecast, so it is the reference where forecasts are unknown.
* :class:`ForecastEdge` - a taker: buys YES on a bracket when its forecast probability beats
  the YES ask by ``margin`` (plus the fee per contract), buys NO when ``1 - p`` beats the NO
  ask by as much; holds to settlement.

Without a known forecast (``forecast_known`` = 0, e.g. the July 2026 REST books) the forecast
policies do nothing.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from kcap.envs.weather import ACTIONS, BUY_NO, BUY_YES, HOLD

Observation = dict[str, npt.NDArray[np.float32]]


def taker_fee_per_contract(price: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Kalshi's taker fee of a one-contract order at ``price`` dollars (rounded up to the cent)."""
    return np.ceil(np.round(0.07 * price * (1.0 - price) * 100.0, 6)) / 100.0


class Policy(Protocol):
    """A scripted policy."""

    name: str

    def reset(self) -> None:
        """Forget the last episode."""

    def act(self, obs: Observation, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """The action for ``obs``; ``mask`` is ``env.action_masks()`` (``(n * 4,)``)."""


class DoNothing:
    """Hold everything, always."""

    name = "do_nothing"

    def reset(self) -> None:
        """Nothing to forget."""

    def act(self, obs: Observation, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """All holds."""
        return np.full(len(obs["active"]), HOLD, dtype=np.int64)


class ForecastFavorite:
    """Buy the forecast's most likely bracket and hold it to settlement.

    Args:
        target_cx: position to build on the favourite, centi-contracts (default 10 contracts).
        max_position_cx: the env's ``max_position_cx`` (to read ``position`` back in cx).
    """

    name = "forecast_favorite"

    def __init__(self, *, target_cx: int = 1000, max_position_cx: int = 1000) -> None:
        self.target_cx = target_cx
        self.max_position_cx = max_position_cx
        self.choice: int | None = None

    def reset(self) -> None:
        """Choose again in the next episode."""
        self.choice = None

    def choose(self, obs: Observation) -> int | None:
        """The bracket to buy, or None to wait."""
        if not obs["forecast_known"][0]:
            return None
        return int(np.argmax(np.where(obs["active"] > 0, obs["forecast_prob"], -1.0)))

    def act(self, obs: Observation, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """Buy YES on the favourite while below the target."""
        action = np.full(len(obs["active"]), HOLD, dtype=np.int64)
        if self.choice is None:
            self.choice = self.choose(obs)
            if self.choice is None:
                return action
        b = self.choice
        held = float(obs["position"][b]) * self.max_position_cx
        if held < self.target_cx - 0.5 and mask[b * len(ACTIONS) + BUY_YES]:
            action[b] = BUY_YES
        return action


class MarketFavorite(ForecastFavorite):
    """Buy the market's favourite (the highest YES mid price at the start) and hold it.

    Needs no forecast: a reference for the forecast policies, and the one baseline that trades
    where forecasts are unknown.
    """

    name = "market_favorite"

    def choose(self, obs: Observation) -> int | None:
        """The bracket with the highest YES mid among those with a valid book."""
        ok = (obs["active"] > 0) & (obs["book_valid"] > 0)
        if not ok.any():
            return None
        mid = (obs["yes_bid"] + obs["yes_ask"]) / 2
        return int(np.argmax(np.where(ok, mid, -1.0)))


class ForecastEdge:
    """Take when the forecast probability beats the price by a margin; hold to settlement.

    Args:
        margin: required edge per contract after the fee, dollars (default 0.05).
    """

    name = "forecast_edge"

    def __init__(self, *, margin: float = 0.05) -> None:
        self.margin = margin

    def reset(self) -> None:
        """Nothing to forget."""

    def act(self, obs: Observation, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """Buy YES / NO on brackets with enough edge (one order per bracket a step)."""
        n = len(obs["active"])
        action = np.full(n, HOLD, dtype=np.int64)
        if not obs["forecast_known"][0]:
            return action
        p = obs["forecast_prob"].astype(np.float64)
        ask = obs["yes_ask"].astype(np.float64)
        no_ask = 1.0 - obs["yes_bid"].astype(np.float64)
        m = mask.reshape(n, len(ACTIONS))
        yes_edge = p - ask - taker_fee_per_contract(ask)
        no_edge = (1.0 - p) - no_ask - taker_fee_per_contract(no_ask)
        buy_yes = (yes_edge > self.margin) & m[:, BUY_YES] & (obs["active"] > 0)
        buy_no = (no_edge > self.margin) & m[:, BUY_NO] & (obs["active"] > 0) & ~buy_yes
        action[buy_yes] = BUY_YES
        action[buy_no] = BUY_NO
        return action


BASELINES: dict[str, Any] = {
    DoNothing.name: DoNothing,
    MarketFavorite.name: MarketFavorite,
    ForecastFavorite.name: ForecastFavorite,
    ForecastEdge.name: ForecastEdge,
}
"""Baseline name -> class."""
