"""Datasets from ../shared/real-data: the July 2026 REST books of seven cities."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from kcap.envs.realdata import REST_SERIES, build_rest_dataset
from kcap.envs.weather import KalshiWeatherEnv

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def rest_dataset(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_rest_dataset(real_data, tmp_path_factory.mktemp("rest"))


def test_rest_dataset_tables(rest_dataset: Path) -> None:
    with (rest_dataset / "outcomes.csv").open() as fh:
        outcomes = list(csv.DictReader(fh))
    # Kalshi's settlement values, each checked against every market's recorded result
    assert len(outcomes) == 29
    assert {"event_ticker": "KXHIGHNY-26JUL20", "date": "2026-07-20", "high_f": "81",
            "source": "kalshi_expiration_value:kalshi-headless-weather-books"} in outcomes  # fmt: skip
    with (rest_dataset / "markets.csv").open() as fh:
        markets = list(csv.DictReader(fh))
    assert {m["series_ticker"] for m in markets} == set(REST_SERIES)
    assert all(m["open_time"] == "" for m in markets)  # not in the source
    assert (rest_dataset / "forecasts.csv").read_text().count("\n") == 1  # header only


def test_env_on_rest_books(rest_dataset: Path) -> None:
    env = KalshiWeatherEnv(data_dir=rest_dataset)
    assert len(env.events) == 70
    obs, info = env.reset(options={"event": "KXHIGHNY-26JUL20"})
    assert isinstance(obs, dict)
    assert obs["forecast_known"][0] == 0.0 and not obs["forecast_prob"].any()
    assert obs["book_valid"].all() and (obs["yes_bid"] > 0).all()
    actions = np.random.default_rng(0).integers(0, 4, size=(50, env.n))
    done, i = False, 0
    while not done:
        obs, _, terminated, truncated, info = env.step(actions[i % 50])
        i += 1
        done = terminated or truncated
    assert terminated and info["outcome_f"] == 81.0
    _, _ = env.reset(options={"event": "KXHIGHNY-26JUL18"})  # no outcome in the data
    done = False
    while not done:
        _, _, terminated, truncated, info = env.step(np.zeros(env.n, dtype=np.int64))
        done = terminated or truncated
    assert truncated and not terminated
