"""Evaluation helpers for notebooks and training scripts: the date split, a model as a policy,
episodes on wrapped envs. On the embedded sample, with a fake model (no training library)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from envtools import SAMPLE_EVENT, make_env

from kcap.envs.baselines import DoNothing, ForecastFavorite
from kcap.envs.evaluate import ModelPolicy, run_episode, split_by_date
from kcap.envs.wrappers import ORACLE_KEY, OracleObservation
from kcap.errors import UsageError

DEC = 12


class FakeModel:
    """Buys YES on one bracket every step; records what ``predict`` was given."""

    def __init__(self, bracket: int, n: int) -> None:
        self.action = np.zeros(n, dtype=np.int64)
        self.action[bracket] = 1
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def predict(self, observation: Any, **kwargs: Any) -> tuple[Any, None]:
        self.calls.append((observation, kwargs))
        return self.action.copy(), None


def test_split_by_date_holds_out_the_latest_dates() -> None:
    split = split_by_date(make_env(step_secs=1_800))
    assert split.train_events == (
        "KXHIGHNY-25DEC06",
        "KXHIGHNY-25DEC07",
        "KXHIGHNY-25DEC08",
        "KXHIGHNY-25DEC14",
    )
    assert split.test_events == ("KXHIGHNY-25DEC27", "KXHIGHNY-26JAN02")
    assert split.train == (dt.date(2025, DEC, 6), dt.date(2025, DEC, 14))
    assert split.test == (dt.date(2025, DEC, 27), dt.date(2026, 1, 2))
    # the env's dates argument takes the split as it is
    held_out = make_env(step_secs=1_800, dates=split.test)
    assert held_out.events == split.test_events


def test_split_by_date_with_a_first_test_date_and_its_limits() -> None:
    env = make_env(step_secs=1_800)
    split = split_by_date(env, first_test_date=dt.date(2025, DEC, 8))
    assert split.train_events == ("KXHIGHNY-25DEC06", "KXHIGHNY-25DEC07")
    assert len(split.test_events) == 4
    assert len(split_by_date(env, test_fraction=0.01).test_events) == 1  # one date at least
    assert len(split_by_date(env, test_fraction=0.99).train_events) == 1
    with pytest.raises(UsageError, match="both sides"):
        split_by_date(env, first_test_date=dt.date(2030, 1, 1))
    with pytest.raises(UsageError, match="test_fraction"):
        split_by_date(env, test_fraction=1.0)
    one = make_env(step_secs=1_800, dates=("2025-12-06", "2025-12-06"))
    with pytest.raises(UsageError, match="both sides"):
        split_by_date(one)


def test_model_policy_runs_a_model_like_a_baseline() -> None:
    env = make_env(step_secs=1_800)
    model = FakeModel(bracket=2, n=env.n)
    result = run_episode(env, ModelPolicy(model, name="fake"), SAMPLE_EVENT)
    assert result.traded and result.settled and result.fees > 0
    assert model.calls and all(kw == {"deterministic": True} for _, kw in model.calls)
    assert isinstance(model.calls[0][0], dict)
    masked = FakeModel(bracket=2, n=env.n)
    run_episode(env, ModelPolicy(masked, masked=True, deterministic=False), SAMPLE_EVENT)
    _, kwargs = masked.calls[0]
    assert kwargs["deterministic"] is False
    assert kwargs["action_masks"].shape == (env.n * 4,)


def test_run_episode_takes_wrapped_envs() -> None:
    base = make_env(step_secs=1_800)
    made = gym.make("KalshiWeather-v0", step_secs=1_800)  # order enforcing, checker
    for policy in (DoNothing(), ForecastFavorite()):
        assert run_episode(made, policy, SAMPLE_EVENT) == run_episode(base, policy, SAMPLE_EVENT)
    oracle = OracleObservation(make_env(step_secs=1_800))
    model = FakeModel(bracket=0, n=base.n)
    run_episode(oracle, ModelPolicy(model), SAMPLE_EVENT)
    leaked = model.calls[0][0][ORACLE_KEY]
    assert leaked.sum() == 1.0  # exactly one bracket settles YES
