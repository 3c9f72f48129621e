"""Environment benchmark: ``KalshiWeather-v0`` steps/s on the embedded sample, random actions.

Prints, from one run (best of ``--repeat`` passes each):

* env steps/s of one environment made with ``gym.make("KalshiWeather-v0")`` (``Dict``
  observation, the default wrappers), and of the flat variant;
* env steps/s through a ``gymnasium.vector.SyncVectorEnv`` of 16 (16 x vector steps/s);
* for reference, records/s of a pure replay of the same records (``Player.run``: read, merge,
  decode, book, the ``kcap replay --speed max`` path);
* the ratios between them.

Actions are drawn beforehand from a seeded generator (uniform over every action: mostly
orders, so fills, fees and depletion run nearly every step); the timing covers ``step`` and
the resets at episode ends, not drawing actions. Loading the data (one replay, once per
process) is timed separately.

Usage::

    python bench/env.py [--steps 200000] [--repeat 3]

Target (issue 5): >= 20,000 steps/s for one environment (published Python trading
environments reach 3,000 to 10,000, rl-env-anchors.md section 3).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

import kcap  # noqa: F401  (registers the environments)
from kcap import sample
from kcap.replay.player import Player, ReplayConfig

VECTOR_ENVS = 16


def best_rate(fn: Callable[[], int], repeat: int) -> float:
    """Best items/s of ``repeat`` runs of ``fn`` (which returns how many items it did)."""
    best = 0.0
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        n = fn()
        best = max(best, n / (time.perf_counter() - started))
    return best


def single(env_id: str, steps: int) -> Callable[[], int]:
    env = gym.make(env_id)
    env.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 4, size=(steps, *env.action_space.shape))

    def run() -> int:
        env.reset(seed=0)
        step = env.step
        for action in actions:
            _, _, terminated, truncated, _ = step(action)
            if terminated or truncated:
                env.reset()
        return steps

    return run


def vector(steps: int) -> Callable[[], int]:
    vec = gym.vector.SyncVectorEnv([lambda: gym.make("KalshiWeather-v0")] * VECTOR_ENVS)
    vec.reset(seed=0)
    rounds = steps // VECTOR_ENVS
    shape: Any = vec.action_space.shape
    actions = np.random.default_rng(0).integers(0, 4, size=(rounds, *shape))

    def run() -> int:
        vec.reset(seed=0)
        for action in actions:
            vec.step(action)  # NEXT_STEP autoreset: ended episodes restart on the next call
        return rounds * VECTOR_ENVS

    return run


def replay() -> int:
    return Player(ReplayConfig(sample.capture_paths())).run().records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    gym.make("KalshiWeather-v0").reset(seed=0)
    load = time.perf_counter() - started
    one = best_rate(single("KalshiWeather-v0", args.steps), args.repeat)
    flat = best_rate(single("KalshiWeatherFlat-v0", args.steps), args.repeat)
    many = best_rate(vector(args.steps), args.repeat)
    records = best_rate(replay, args.repeat)
    print(f"KalshiWeather-v0 on the embedded sample, random actions; best of {args.repeat}")
    print(f"  data load (one replay, once per process)  {load:10.2f} s")
    print(f"  one env, Dict observation                 {one:>10,.0f} steps/s")
    print(f"  one env, flat observation                 {flat:>10,.0f} steps/s")
    print(f"  SyncVectorEnv of {VECTOR_ENVS}, Dict                {many:>10,.0f} env-steps/s")
    print(f"  pure replay of the same records           {records:>10,.0f} records/s")
    print(
        f"  ratios: one env / replay {one / records:.3f}, flat / Dict {flat / one:.2f}, "
        f"vector / one env {many / one:.2f}"
    )
    print(f"command: python bench/env.py --steps {args.steps} --repeat {args.repeat}")


if __name__ == "__main__":
    main()
