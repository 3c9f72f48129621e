"""Everything an environment reads, loaded once; and each event's step plan.

:func:`load_dataset` reads the tables (:mod:`kcap.envs.data`), replays the captures once
(:mod:`kcap.envs.tape`) and keeps the events that have books. Datasets are cached per process
by the identity of their inputs (paths, sizes, modification times, filters), so the 16 copies
of a ``SyncVectorEnv`` share one; the arrays are read-only.

:func:`plan_event` lays an event's step grid (see :class:`Plan`) and computes, with numpy,
everything about it that does not depend on the agent: state ids at each step and fill time,
best prices, and the observation's book, forecast and clock features.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from kcap.envs import features
from kcap.envs.config import EnvConfig
from kcap.envs.data import (
    Forecasts,
    Outcome,
    forecast_index,
    read_forecasts,
    read_markets,
    read_outcomes,
)
from kcap.envs.settlement import yes_wins
from kcap.envs.tape import EventTape, capture_key, record_tapes
from kcap.errors import DataError
from kcap.fixedpoint import ONE_DOLLAR_CC

log = logging.getLogger(__name__)

_CACHE_SIZE: Final = 4
_PLANS_KEPT: Final = 128
_cache: OrderedDict[tuple[object, ...], Dataset] = OrderedDict()


@dataclass(frozen=True)
class Sources:
    """Where the data comes from (see :mod:`kcap.envs.data` for the formats).

    Attributes:
        captures: capture files (already expanded), replayed through kcap's player.
        markets: markets table. forecasts / outcomes: tables, or None for "none known".
    """

    captures: tuple[Path, ...]
    markets: Path
    forecasts: Path | None
    outcomes: Path | None


@dataclass(frozen=True)
class Dataset:
    """The loaded data: events with books, their tapes, forecasts and outcomes.

    Attributes:
        tapes: one per usable event (events without any book are dropped), by event ticker.
        forecasts: ``event -> Forecasts``. outcomes: ``event -> Outcome``.
        dropped: events of the markets table left out, with the reason.
    """

    tapes: tuple[EventTape, ...]
    forecasts: Mapping[str, Forecasts]
    outcomes: Mapping[str, Outcome]
    dropped: Mapping[str, str]
    plans: dict[tuple[object, ...], Plan] = field(default_factory=dict, compare=False)


def _stat(path: Path | None) -> tuple[str, int, int] | None:
    if path is None:
        return None
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def load_dataset(
    sources: Sources,
    *,
    series: frozenset[str] | None,
    dates: tuple[dt.date, dt.date] | None,
    depth: int,
) -> Dataset:
    """Load (or take from the per-process cache) the data for an environment.

    Args:
        sources: the files.
        series: keep only these series (None: all).
        dates: keep only events whose day is in this inclusive range (None: all).
        depth: book levels recorded per ladder.

    Raises:
        DataError: unreadable tables, or no event left with books.
    """
    key = (
        capture_key(sources.captures),
        _stat(sources.markets),
        _stat(sources.forecasts),
        _stat(sources.outcomes),
        series,
        dates,
        depth,
    )
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached
    events = read_markets(sources.markets)
    wanted = [
        e
        for e in events.values()
        if (series is None or e.series in series)
        and (dates is None or dates[0] <= e.date <= dates[1])
    ]
    if not wanted:
        raise DataError(
            f"{sources.markets}: expected events of series {sorted(series or ['any'])} "
            f"dated {dates or 'any day'}, found none"
        )
    tapes = record_tapes(sources.captures, wanted, depth=depth)
    kept = tuple(t for t in tapes if any(len(c) for c in t.change_ns))
    dropped = {t.event.ticker: "no book in the captures" for t in tapes if t not in kept}
    if not kept:
        raise DataError(
            f"expected books for some of the {len(wanted)} selected events in the captures "
            f"({len(sources.captures)} files), found none"
        )
    for tape in kept:
        _freeze(tape)
    dataset = Dataset(
        tapes=kept,
        forecasts=read_forecasts(sources.forecasts) if sources.forecasts else {},
        outcomes=read_outcomes(sources.outcomes) if sources.outcomes else {},
        dropped=dropped,
    )
    _cache[key] = dataset
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return dataset


def _freeze(tape: EventTape) -> None:
    arrays = (tape.yes_px, tape.yes_sz, tape.no_px, tape.no_sz, tape.valid, tape.updated_ns)
    for array in (*arrays, *tape.change_ns, *tape.state_id):
        array.flags.writeable = False


@dataclass(frozen=True)
class Plan:
    """An event's step grid and everything about it that does not depend on the agent.

    Decisions are taken at ``times_ns[k]`` for ``k < steps``; ``times_ns[steps]`` is the end
    (the close, or the end of the data when that comes first). The grid starts at the market's
    open, or when every bracket has a book if that is later (the data's start).

    Attributes:
        tape: the event's tape.
        steps: number of decisions from the grid's start.
        times_ns: int64 ``(steps + 1,)``.
        ids: int64 ``(steps + 1, brackets)`` state ids as of each step time.
        fill_ids: int64 ``(steps, brackets)`` state ids as of each step time + latency.
        best_bid_cc / best_ask_cc: int64 ``(steps + 1, brackets)`` best YES bid / ask of the
            replayed book (0: none), centi-cents.
        valid: bool ``(steps + 1, brackets)``: the book is valid at each step time.
        static: float32 ``(steps + 1, features)``: the observation without the agent's state.
        forecast_prob: float64 ``(steps + 1, brackets)``.
        winners: per bracket, YES wins, or None when the outcome is unknown.
        outcome: the settlement value, or None.
    """

    tape: EventTape
    steps: int
    times_ns: npt.NDArray[np.int64]
    ids: npt.NDArray[np.int64]
    fill_ids: npt.NDArray[np.int64]
    best_bid_cc: npt.NDArray[np.int64]
    best_ask_cc: npt.NDArray[np.int64]
    valid: npt.NDArray[np.bool_]
    static: npt.NDArray[np.float32]
    forecast_prob: npt.NDArray[np.float64]
    winners: tuple[bool, ...] | None
    outcome: Outcome | None


def grid(tape: EventTape, step_ns: int) -> npt.NDArray[np.int64]:
    """Step times of an event: from its start every ``step_ns`` until its end (included)."""
    event = tape.event
    firsts = [f for f in tape.first_ns if f is not None]
    data_start = max(firsts) if len(firsts) == len(event.brackets) else min(firsts)
    start = data_start if event.open_ns is None else max(event.open_ns, data_start)
    end = min(event.close_ns, tape.data_end_ns)
    if end <= start:
        return np.array([start], dtype=np.int64)
    steps = math.ceil((end - start) / step_ns)
    return np.append(start + step_ns * np.arange(steps, dtype=np.int64), end)


def plan_event(
    dataset: Dataset, tape: EventTape, layout: features.Layout, config: EnvConfig
) -> Plan:
    """One event's episode plan (see :class:`Plan`), cached in the dataset: environments with
    the same settings share it (plans are read-only)."""
    key = (
        tape.event.ticker,
        layout.n,
        config.step_ns,
        config.latency_ns,
        tuple(sorted(config.forecast_sigma_f.items())),
    )
    plan = dataset.plans.get(key)
    if plan is None:
        plan = _plan(dataset, tape, layout, config)
        dataset.plans[key] = plan
        while len(dataset.plans) > _PLANS_KEPT:
            dataset.plans.pop(next(iter(dataset.plans)))
    return plan


def _plan(dataset: Dataset, tape: EventTape, layout: features.Layout, config: EnvConfig) -> Plan:
    step_ns, latency_ns, sigma_table = config.step_ns, config.latency_ns, config.forecast_sigma_f
    event = tape.event
    times = grid(tape, step_ns)
    ids = tape.state_at(times)
    fill_ids = tape.state_at(times[:-1] + latency_ns)
    forecasts = dataset.forecasts.get(event.ticker)
    fcols = features.forecast_columns(
        event.brackets, forecasts, forecast_index(forecasts, times), times, sigma_table
    )
    static = features.static_matrix(layout, tape, ids, times, fcols)
    no_best = tape.no_px[ids, 0]
    outcome = dataset.outcomes.get(event.ticker)
    winners = None
    if outcome is not None:
        winners = tuple(
            yes_wins(b.strike_type, b.floor, b.cap, outcome.value) for b in event.brackets
        )
    for array in (times, ids, fill_ids, static):
        array.flags.writeable = False
    return Plan(
        tape=tape,
        steps=len(times) - 1,
        times_ns=times,
        ids=ids,
        fill_ids=fill_ids,
        best_bid_cc=tape.yes_px[ids, 0],
        best_ask_cc=np.where(no_best > 0, ONE_DOLLAR_CC - no_best, 0),
        valid=tape.valid[ids],
        static=static,
        forecast_prob=fcols["forecast_prob"],
        winners=winners,
        outcome=outcome,
    )


def resolve_sources(
    *,
    data_dir: str | Path | None,
    captures: str | Path | Sequence[str | Path] | None,
    markets: str | Path | None,
    forecasts: str | Path | None,
    outcomes: str | Path | None,
) -> Sources:
    """Decide the files: explicit arguments, else ``data_dir``'s, else the embedded sample.

    A ``data_dir`` holds ``markets.csv`` (required), ``forecasts.csv`` and ``outcomes.csv``
    (optional) and capture files (``*.parquet``, ``*.jsonl[.gz]``) at its top or in
    ``captures/``.

    Raises:
        DataError: a file that does not exist, or captures given without a markets table.
    """
    from kcap import sample
    from kcap.replay.readers import expand_paths

    base: Path | None = None
    if data_dir is not None:
        base = Path(data_dir)
    elif captures is None and markets is None:
        base = sample.directory()

    def pick(given: str | Path | None, name: str) -> Path | None:
        if given is not None:
            return Path(given)
        if base is not None and (base / name).is_file():
            return base / name
        return None

    if captures is None:
        if base is None:
            raise DataError("expected captures= or data_dir= with markets=, found neither")
        sub = base / "captures"
        captures = [sub if sub.is_dir() else base]
    elif isinstance(captures, str | Path):
        captures = [captures]
    files = tuple(expand_paths(list(captures)))
    market_path = pick(markets, "markets.csv")
    if market_path is None:
        raise DataError(
            "expected a markets table (markets= or data_dir/markets.csv) with your captures"
        )
    found = Sources(
        files, market_path, pick(forecasts, "forecasts.csv"), pick(outcomes, "outcomes.csv")
    )
    for path in (found.markets, found.forecasts, found.outcomes):
        if path is not None and not path.is_file():
            raise DataError(f"expected a file at {path}, found none")
    return found
