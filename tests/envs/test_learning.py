"""The learning check: PPO that sees the outcome (the oracle wrapper) must beat doing nothing.

If it cannot, the reward, fill or fee plumbing is broken: an agent told which bracket settles
YES only has to buy it. Needs the ``train`` extra (Stable-Baselines3); skipped without it.
"""

from __future__ import annotations

import numpy as np
import pytest
from envtools import make_env
from gymnasium.wrappers import FlattenObservation

from kcap.envs.baselines import DoNothing
from kcap.envs.evaluate import run_episode
from kcap.envs.wrappers import OracleObservation

sb3 = pytest.importorskip(
    "stable_baselines3", reason="Stable-Baselines3 is not installed: pip install -e '.[train]'"
)
STEP_SECS = 1_800  # half-hour steps: 17 to 34 decisions an episode


def oracle_env() -> FlattenObservation:
    return FlattenObservation(OracleObservation(make_env(step_secs=STEP_SECS)))


@pytest.mark.slow
def test_ppo_with_the_outcome_leaked_beats_doing_nothing() -> None:
    import torch
    from stable_baselines3.common.env_util import make_vec_env

    torch.set_num_threads(1)
    venv = make_vec_env(oracle_env, n_envs=4, seed=0)
    model = sb3.PPO(
        "MlpPolicy", venv, n_steps=128, batch_size=256, n_epochs=5, learning_rate=1e-3,
        gamma=1.0, seed=0, device="cpu",
    )  # fmt: skip
    model.learn(20_000)
    env = oracle_env()
    base = make_env(step_secs=STEP_SECS)
    learned, nothing = [], []
    for event in base.events:
        obs, _ = env.reset(options={"event": event})
        done = False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, _, terminated, truncated, info = env.step(action)
            done = terminated or truncated
        learned.append(info["pnl_dollars"])
        nothing.append(run_episode(base, DoNothing(), event).pnl)
    assert nothing == [0.0] * len(nothing)
    assert np.mean(learned) > 1.5, learned  # dollars an event; doing nothing makes 0
    assert sum(p > 0 for p in learned) >= 4, learned


def test_maskable_ppo_runs_with_the_action_masks() -> None:
    contrib = pytest.importorskip("sb3_contrib", reason="sb3-contrib is not installed")
    env = make_env(step_secs=3_600)
    model = contrib.MaskablePPO("MultiInputPolicy", env, n_steps=64, batch_size=32, seed=0)
    model.learn(128)
    obs, _ = env.reset(options={"event": "KXHIGHNY-25DEC06"})
    action, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
    mask = env.action_masks().reshape(env.n, 4)
    assert all(mask[b, a] for b, a in enumerate(action))
