"""The settings of a ``KalshiWeather-v0`` environment, checked once (everything but the data)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from kcap.envs.features import FORECAST_SIGMA_F
from kcap.envs.fees import KALSHI_FEES, FeeSchedule
from kcap.errors import UsageError

REWARD_MODES: Final = ("mark_to_market", "cash")
EPISODE_STARTS: Final = ("open", "random")
OBSERVATIONS: Final = ("dict", "flat")
NS_PER_SECOND: Final = 1_000_000_000


@dataclass(frozen=True)
class EnvConfig:
    """How the environment steps, fills, charges and rewards (see ``KalshiWeatherEnv``).

    Attributes:
        step_secs: replay time between decisions. latency_ms: decision to book, < a step.
        episode_start: ``"open"``, ``"random"``, or an int: seconds before the close.
        lot_cx: order size. max_position_cx: position limit per bracket, either side.
        initial_cash_cc: starting cash. slippage_cc: limit distance from the seen price.
        depth: book levels kept per ladder. refill_cx_per_min: depletion recovery rate.
        fee_schedule: fees by date and series. reward_mode: ``"mark_to_market"`` or ``"cash"``.
        shaping_gamma: potential-based shaping discount, or None for none.
        forecast_sigma_f: sigma of the forecast distribution by lead (F).
        max_brackets: bracket slots, or None for the widest event.
        observation: ``"dict"`` or ``"flat"``.
    """

    step_secs: int = 60
    latency_ms: int = 1000
    episode_start: str | int = "open"
    lot_cx: int = 100
    max_position_cx: int = 1000
    initial_cash_cc: int = 1_000_000
    slippage_cc: int = 100
    depth: int = 5
    refill_cx_per_min: int = 300
    fee_schedule: FeeSchedule = KALSHI_FEES
    reward_mode: str = "mark_to_market"
    shaping_gamma: float | None = None
    forecast_sigma_f: Mapping[int, float] = field(default_factory=lambda: FORECAST_SIGMA_F)
    max_brackets: int | None = None
    observation: str = "dict"

    def __post_init__(self) -> None:
        for name in ("step_secs", "lot_cx", "max_position_cx", "initial_cash_cc", "depth"):
            value = getattr(self, name)
            if type(value) is not int or value <= 0:
                raise UsageError(f"expected a positive integer {name}, got {value!r}")
        for name in ("slippage_cc", "refill_cx_per_min"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise UsageError(f"expected an integer {name} >= 0, got {value!r}")
        latency = self.latency_ms
        if type(latency) is not int or not 0 <= latency < self.step_secs * 1000:
            raise UsageError(
                f"expected 0 <= latency_ms < step_secs * 1000 ({self.step_secs * 1000}), "
                f"got {latency!r}"
            )
        check_choice("reward_mode", self.reward_mode, REWARD_MODES)
        start = self.episode_start
        if type(start) is int:
            if start <= 0:
                raise UsageError(
                    f"expected episode_start > 0 seconds before the close, got {start}"
                )
        else:
            check_choice("episode_start", start, EPISODE_STARTS)
        check_choice("observation", self.observation, OBSERVATIONS)
        if not self.forecast_sigma_f or min(self.forecast_sigma_f.values()) <= 0:
            raise UsageError(f"expected positive sigmas by lead, got {self.forecast_sigma_f!r}")

    @property
    def step_ns(self) -> int:
        """Step length, ns."""
        return self.step_secs * NS_PER_SECOND

    @property
    def latency_ns(self) -> int:
        """Latency, ns."""
        return self.latency_ms * 1_000_000


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise :class:`UsageError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise UsageError(f"expected {name} in {choices}, got {value!r}")


def parse_series(series: str | Sequence[str] | None) -> frozenset[str] | None:
    """``"KXHIGHNY,KXHIGHCHI"`` or a list -> a set; None: every series."""
    if series is None:
        return None
    if isinstance(series, str):
        return frozenset(s.strip() for s in series.split(",") if s.strip())
    return frozenset(series)


def parse_dates(
    dates: tuple[dt.date | str, dt.date | str] | None,
) -> tuple[dt.date, dt.date] | None:
    """``(first, last)`` as dates or ISO strings -> dates; None: every day.

    Raises:
        UsageError: not two dates, or first after last.
    """
    if dates is None:
        return None
    try:
        first, last = (d if isinstance(d, dt.date) else dt.date.fromisoformat(d) for d in dates)
    except (TypeError, ValueError):
        raise UsageError(
            f"expected dates=(first, last) as dates or ISO strings, got {dates!r}"
        ) from None
    if first > last:
        raise UsageError(f"expected dates with first <= last, got {first} > {last}")
    return first, last
