"""Variants of ``KalshiWeather-v0``: one ``Discrete`` action, and the opt-in outcome oracle.

* :class:`DiscreteActions` - ``Discrete(1 + 3 n)``: 0 holds everything; ``1 + 3 b + i`` sends
  order ``i`` (0 buy YES, 1 buy NO, 2 flatten) on bracket ``b`` and holds the others. For
  algorithms that only take ``Discrete`` actions (DQN). ``action_masks()`` follows.
* :class:`OracleObservation` - **leaks the outcome** into the observation: key
  ``outcome_yes`` (per bracket, 1 if it settles YES; all 0 when the outcome is unknown). Only
  for checking that the reward, fill and fee plumbing can be learned: an agent that sees the
  answer must beat doing nothing by a wide margin. Never train a real agent with it.
* :func:`make_discrete` - the entry point of ``KalshiWeatherDiscrete-v0`` (flat observation,
  discrete action).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from kcap.envs.weather import ACTIONS, HOLD, KalshiWeatherEnv

ORACLE_KEY = "outcome_yes"


def _weather(env: gym.Env[Any, Any]) -> KalshiWeatherEnv:
    base = env.unwrapped
    if not isinstance(base, KalshiWeatherEnv):
        raise TypeError(f"expected a KalshiWeatherEnv inside, found {type(base).__name__}")
    return base


class DiscreteActions(gym.ActionWrapper[Any, np.int64, npt.NDArray[np.int64]]):
    """One order a step: ``Discrete(1 + 3 n)`` over (bracket, order), 0 = hold all."""

    def __init__(self, env: gym.Env[Any, npt.NDArray[np.int64]]) -> None:
        super().__init__(env)
        self.n = _weather(env).n
        self.action_space = spaces.Discrete(1 + (len(ACTIONS) - 1) * self.n)

    def action(self, action: np.int64 | int) -> npt.NDArray[np.int64]:
        """The ``MultiDiscrete`` action for a ``Discrete`` one."""
        out = np.zeros(self.n, dtype=np.int64)
        a = int(action)
        if a:
            b, i = divmod(a - 1, len(ACTIONS) - 1)
            out[b] = i + 1
        return out

    def action_masks(self) -> npt.NDArray[np.bool_]:
        """Which discrete actions can fill (hold always can)."""
        multi = _weather(self.env).action_masks().reshape(self.n, len(ACTIONS))
        return np.concatenate([[True], multi[:, HOLD + 1 :].ravel()])


class OracleObservation(gym.ObservationWrapper[Any, Any, Any]):
    """Adds ``outcome_yes`` (the settled bracket, leaked on purpose) to a ``Dict`` observation."""

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        if not isinstance(env.observation_space, spaces.Dict):
            raise TypeError("expected a Dict observation (KalshiWeather-v0); flatten after this")
        self.n = _weather(env).n
        boxes = dict(env.observation_space.spaces)
        boxes[ORACLE_KEY] = spaces.Box(0.0, 1.0, shape=(self.n,), dtype=np.float32)
        self.observation_space = spaces.Dict(boxes)

    def observation(self, observation: dict[str, Any]) -> dict[str, Any]:
        """The observation with the outcome added."""
        plan = _weather(self.env)._plan
        leak = np.zeros(self.n, dtype=np.float32)
        if plan is not None and plan.winners is not None:
            leak[: len(plan.winners)] = plan.winners
        return {**observation, ORACLE_KEY: leak}


def make_discrete(**kwargs: Any) -> gym.Env[Any, Any]:
    """``KalshiWeatherDiscrete-v0``: flat observation, :class:`DiscreteActions`."""
    kwargs.setdefault("observation", "flat")
    return DiscreteActions(KalshiWeatherEnv(**kwargs))
