"""Fixtures for the environment tests: envs on the embedded sample (data loaded once)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from kcap.envs.weather import KalshiWeatherEnv

SAMPLE_EVENT = "KXHIGHNY-25DEC06"


def make_env(**kwargs: Any) -> KalshiWeatherEnv:
    """A sample env; the sample's tapes are cached per process, so this is cheap after the first."""
    return KalshiWeatherEnv(**kwargs)


@pytest.fixture
def env() -> Iterator[KalshiWeatherEnv]:
    e = make_env()
    yield e
    e.close()


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
