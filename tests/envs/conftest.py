"""Fixtures for the environment tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from envtools import make_env

from kcap.envs.weather import KalshiWeatherEnv


@pytest.fixture
def env() -> Iterator[KalshiWeatherEnv]:
    e = make_env()
    yield e
    e.close()
