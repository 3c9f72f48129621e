"""Evaluate the scripted baselines over real events: ``kcap evaluate``.

Runs every baseline (:mod:`kcap.envs.baselines`) once over every event of a dataset whose
outcome is known (each episode from the event's start to its settlement) and prints, per
baseline: events, events traded, mean P&L, total P&L, mean fees paid, and the hit rate (share
of traded events that made money). Episodes are deterministic: no seed is involved.

For notebooks and training scripts: :func:`split_by_date` holds out the latest events,
:class:`ModelPolicy` runs a trained model (Stable-Baselines3's ``predict``) as a policy, and
:func:`run_episode` also takes a wrapped env (``gym.make``, :mod:`kcap.envs.wrappers`).

Datasets: ``sample`` (the embedded sample, default), ``rest`` (the July 2026 REST books of
seven cities, built from ``--real-data``), ``bbo`` (the whole KXHIGHNY best-bid logs, Dec 2025 -
Jan 2026, built from ``--real-data``), or a dataset directory (:mod:`kcap.envs.realdata`).

Usage::

    kcap evaluate [--dataset sample|rest|bbo|DIR] [--real-data ../shared/real-data]
        [--cache DIR] [--step-secs 60] [--baseline NAME ...] [--per-event]

(``python -m kcap.envs.evaluate`` does the same.)
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import numpy.typing as npt

from kcap.envs.baselines import BASELINES, Policy
from kcap.envs.weather import KalshiWeatherEnv
from kcap.errors import UsageError

DEFAULT_REAL_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "real-data"


@dataclass(frozen=True)
class EpisodeResult:
    """One baseline's result on one event."""

    event: str
    pnl: float
    fees: float
    traded: bool
    settled: bool


def run_episode(env: gym.Env[Any, Any], policy: Policy, event: str) -> EpisodeResult:
    """Run ``policy`` over ``event`` from its start to its end.

    ``env`` is a :class:`KalshiWeatherEnv` or a wrapper around one; the policy gets the
    outermost ``action_masks()``.
    """
    policy.reset()
    masks = env.get_wrapper_attr("action_masks")
    obs, _ = env.reset(options={"event": event})
    traded = False
    info: dict[str, Any] = {}
    done = False
    while not done:
        action = policy.act(obs, masks())
        obs, _, terminated, truncated, info = env.step(action)
        traded = traded or bool(info["fills"])
        done = terminated or truncated
    return EpisodeResult(
        event,
        float(info["pnl_dollars"]),
        info["total_fees_cc"] / 10_000,
        traded,
        bool(info["settled"]),
    )


class Predictor(Protocol):
    """What :class:`ModelPolicy` needs of a model: Stable-Baselines3's ``predict``."""

    def predict(self, observation: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """``(action, recurrent state)`` for an observation."""


class ModelPolicy:
    """A trained model as a scripted-baseline :class:`~kcap.envs.baselines.Policy`.

    Args:
        model: anything with ``predict(observation, deterministic=...) -> (action, state)``
            (a Stable-Baselines3 ``PPO``), trained on the observations the env gives.
        name: the policy's name in result tables.
        deterministic: take the most likely action instead of sampling.
        masked: pass ``action_masks=mask`` to ``predict`` (sb3-contrib's ``MaskablePPO``).
    """

    def __init__(
        self,
        model: Predictor,
        *,
        name: str = "model",
        deterministic: bool = True,
        masked: bool = False,
    ) -> None:
        self.model = model
        self.name = name
        self.deterministic = deterministic
        self.masked = masked

    def reset(self) -> None:
        """Nothing to forget (feed-forward policies)."""

    def act(self, obs: Any, mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        """The model's action for ``obs``."""
        extra = {"action_masks": mask} if self.masked else {}
        action, _ = self.model.predict(obs, deterministic=self.deterministic, **extra)
        return np.asarray(action, dtype=np.int64)


@dataclass(frozen=True)
class DateSplit:
    """Training and held-out events split by date: every test event is later than every
    training event. ``train`` and ``test`` are inclusive ``(first, last)`` dates, as the env's
    ``dates`` argument takes them."""

    train: tuple[dt.date, dt.date]
    test: tuple[dt.date, dt.date]
    train_events: tuple[str, ...]
    test_events: tuple[str, ...]


def split_by_date(
    env: KalshiWeatherEnv,
    *,
    test_fraction: float = 1 / 3,
    first_test_date: dt.date | None = None,
    settled_only: bool = True,
) -> DateSplit:
    """Hold out the latest events of ``env``: a split by date, never at random.

    Args:
        env: the env whose events are split (usually one over all the data).
        test_fraction: share of the event dates held out (at least one date each side),
            used when ``first_test_date`` is None.
        first_test_date: events on or after this date are held out.
        settled_only: keep only events whose outcome is known (they can be scored).

    Raises:
        UsageError: a side would be empty, or ``test_fraction`` is not in (0, 1).
    """
    if not 0 < test_fraction < 1:
        raise UsageError(f"expected 0 < test_fraction < 1, got {test_fraction}")
    dated = sorted(
        (t.event.date, t.event.ticker)
        for t in env.tapes
        if not settled_only or t.event.ticker in env.dataset.outcomes
    )
    days = sorted({d for d, _ in dated})
    if first_test_date is None and len(days) >= 2:
        held = min(len(days) - 1, max(1, round(len(days) * test_fraction)))
        first_test_date = days[-held]
    train = [(d, e) for d, e in dated if first_test_date is None or d < first_test_date]
    test = [(d, e) for d, e in dated if first_test_date is not None and d >= first_test_date]
    if not train or not test:
        raise UsageError(
            f"expected events on both sides of the split, found {len(train)} before and "
            f"{len(test)} from {first_test_date} ({len(days)} event dates)"
        )
    return DateSplit(
        (train[0][0], train[-1][0]),
        (test[0][0], test[-1][0]),
        tuple(e for _, e in train),
        tuple(e for _, e in test),
    )


def evaluate(
    env: KalshiWeatherEnv, names: Sequence[str], events: Sequence[str]
) -> dict[str, list[EpisodeResult]]:
    """Every named baseline over every event."""
    out = {}
    for name in names:
        policy = BASELINES[name]()
        out[name] = [run_episode(env, policy, e) for e in events]
    return out


def summary_lines(results: dict[str, list[EpisodeResult]]) -> list[str]:
    """The table printed by the script."""
    head = f"{'baseline':<18} {'events':>6} {'traded':>6} {'mean P&L':>9} {'total P&L':>10} {'mean fees':>9} {'hit rate':>8}"
    lines = [head, "-" * len(head)]
    for name, rows in results.items():
        n = len(rows)
        traded = [r for r in rows if r.traded]
        wins = sum(r.pnl > 0 for r in traded)
        hit = f"{wins / len(traded):8.0%}" if traded else f"{'-':>8}"
        lines.append(
            f"{name:<18} {n:>6} {len(traded):>6} {sum(r.pnl for r in rows) / n:>+9.2f} "
            f"{sum(r.pnl for r in rows):>+10.2f} {sum(r.fees for r in rows) / n:>9.2f} {hit}"
        )
    return lines


def dataset_dir(dataset: str, real_data: Path, cache: Path | None, scratch: Path) -> Path | None:
    """The directory of a named dataset (None for the embedded sample), built when missing.

    Args:
        dataset: ``sample``, ``rest``, ``bbo`` or a dataset directory.
        real_data: ``../shared/real-data`` (for ``rest`` and ``bbo``).
        cache: where built datasets are kept, or None to use ``scratch``.
        scratch: a temporary directory.
    """
    from kcap.envs import realdata

    if dataset == "sample":
        return None
    if dataset in ("rest", "bbo"):
        dst: Path = (cache or scratch) / dataset
        if not (dst / "markets.csv").is_file():
            build = realdata.build_rest_dataset if dataset == "rest" else realdata.build_bbo_dataset
            build(real_data, dst)
        return dst
    return Path(dataset)


def evaluation_report(
    dataset: str = "sample",
    *,
    real_data: Path = DEFAULT_REAL_DATA,
    cache: Path | None = None,
    step_secs: int = 60,
    names: Sequence[str] | None = None,
    per_event: bool = False,
) -> list[str]:
    """Run the baselines over every settled event of ``dataset``; the report's lines.

    Raises:
        KcapError: the dataset cannot be built or loaded.
    """
    with tempfile.TemporaryDirectory(prefix="kcap-eval-") as scratch:
        data_dir = dataset_dir(dataset, real_data, cache, Path(scratch))
        env = KalshiWeatherEnv(data_dir=data_dir, step_secs=step_secs)
        events = [e for e in env.events if e in env.dataset.outcomes]
        results = evaluate(env, list(names or BASELINES), events)
    where = "embedded sample" if data_dir is None else dataset
    lines = [f"{len(events)} settled events ({where}), step {step_secs} s, P&L and fees in $"]
    if per_event:
        for name, rows in results.items():
            lines += [f"  {name:<18} {r.event:<20} {r.pnl:+8.2f} fees {r.fees:6.2f}" for r in rows]
    return lines + summary_lines(results)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kcap.envs.evaluate ...`` is ``kcap evaluate ...``."""
    from kcap.cli import main as cli

    return int(
        cli.main(["evaluate", *(sys.argv[1:] if argv is None else argv)], standalone_mode=False)
        or 0
    )


if __name__ == "__main__":
    sys.exit(main())
