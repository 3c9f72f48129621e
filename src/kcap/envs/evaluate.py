"""Evaluate the scripted baselines over real events: ``python -m kcap.envs.evaluate``.

Runs every baseline (:mod:`kcap.envs.baselines`) once over every event of a dataset whose
outcome is known (each episode from the event's start to its settlement) and prints, per
baseline: events, events traded, mean P&L, total P&L, mean fees paid, and the hit rate (share
of traded events that made money). Episodes are deterministic: no seed is involved.

Datasets: ``sample`` (the embedded sample, default), ``rest`` (the July 2026 REST books of
seven cities, built from ``--real-data``), ``bbo`` (the whole KXHIGHNY best-bid logs, Dec 2025 -
Jan 2026, built from ``--real-data``), or a dataset directory (:mod:`kcap.envs.realdata`).

Usage::

    python -m kcap.envs.evaluate [--dataset sample|rest|bbo|DIR] [--real-data ../shared/real-data]
        [--cache DIR] [--step-secs 60] [--per-event]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kcap.envs.baselines import BASELINES, Policy
from kcap.envs.weather import KalshiWeatherEnv
from kcap.errors import KcapError

DEFAULT_REAL_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "real-data"


@dataclass(frozen=True)
class EpisodeResult:
    """One baseline's result on one event."""

    event: str
    pnl: float
    fees: float
    traded: bool
    settled: bool


def run_episode(env: KalshiWeatherEnv, policy: Policy, event: str) -> EpisodeResult:
    """Run ``policy`` over ``event`` from its start to its end."""
    policy.reset()
    obs, _ = env.reset(options={"event": event})
    traded = False
    info: dict[str, Any] = {}
    done = False
    while not done:
        assert isinstance(obs, dict)
        action = policy.act(obs, env.action_masks())
        obs, _, terminated, truncated, info = env.step(action)
        traded = traded or bool(info["fills"])
        done = terminated or truncated
    return EpisodeResult(
        event, float(info["pnl"]), info["total_fees_cc"] / 10_000, traded, bool(info["settled"])
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


def _dataset_dir(args: argparse.Namespace, scratch: Path) -> Path | None:
    from kcap.envs import realdata

    if args.dataset == "sample":
        return None
    if args.dataset in ("rest", "bbo"):
        dst: Path = (args.cache or scratch) / args.dataset
        if not (dst / "markets.csv").is_file():
            build = (
                realdata.build_rest_dataset
                if args.dataset == "rest"
                else realdata.build_bbo_dataset
            )
            build(args.real_data, dst)
        return dst
    return Path(args.dataset)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dataset", default="sample", help="sample, rest, bbo or a directory")
    parser.add_argument("--real-data", type=Path, default=DEFAULT_REAL_DATA)
    parser.add_argument("--cache", type=Path, default=None, help="keep built datasets here")
    parser.add_argument("--step-secs", type=int, default=60)
    parser.add_argument("--baseline", action="append", choices=sorted(BASELINES), dest="names")
    parser.add_argument("--per-event", action="store_true", help="also print every episode")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="kcap-eval-") as scratch:
            data_dir = _dataset_dir(args, Path(scratch))
            env = KalshiWeatherEnv(data_dir=data_dir, step_secs=args.step_secs)
            events = [e for e in env.events if e in env.dataset.outcomes]
            names = args.names or list(BASELINES)
            results = evaluate(env, names, events)
    except KcapError as exc:
        print(f"kcap: {exc}", file=sys.stderr)
        return 1
    where = "embedded sample" if data_dir is None else args.dataset
    print(f"{len(events)} settled events ({where}), step {args.step_secs} s, P&L and fees in $")
    if args.per_event:
        for name, rows in results.items():
            for r in rows:
                print(f"  {name:<18} {r.event:<20} {r.pnl:+8.2f} fees {r.fees:6.2f}")
    print("\n".join(summary_lines(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
