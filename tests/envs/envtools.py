"""Helpers for the environment tests: envs on the embedded sample (data loaded once).

A module of its own, not ``conftest``: test modules import it by name, and ``conftest`` names
several modules of the test tree."""

from __future__ import annotations

from typing import Any

import numpy as np

from kcap.envs.weather import KalshiWeatherEnv

SAMPLE_EVENT = "KXHIGHNY-25DEC06"


def make_env(**kwargs: Any) -> KalshiWeatherEnv:
    """A sample env; the sample's tapes are cached per process, so this is cheap after the first."""
    return KalshiWeatherEnv(**kwargs)


def run_episode(
    env: KalshiWeatherEnv, actions: np.ndarray, **reset: Any
) -> list[tuple[Any, float, bool, bool, dict[str, Any]]]:
    """Step through one episode with ``actions[i]`` at step i (cycled); return every step."""
    obs, info = env.reset(**reset)
    out: list[tuple[Any, float, bool, bool, dict[str, Any]]] = [(obs, 0.0, False, False, info)]
    i = 0
    while True:
        obs, reward, terminated, truncated, info = env.step(actions[i % len(actions)])
        out.append((obs, float(reward), terminated, truncated, info))
        i += 1
        if terminated or truncated:
            return out
