"""The observation: its keys, units and bounds, the forecast distribution, and the features.

Pure: no clock, no I/O. Integers come in (book states, times, forecasts); float32 goes out,
clipped to the documented bounds. The observation is a one-level ``Dict`` of float32 ``Box``
spaces; :data:`FEATURES` lists every key (per bracket: shape ``(n,)``, padded slots are 0;
global: shape ``(1,)``). The flat variant concatenates them in the ``Dict``'s (sorted) key
order, exactly as :func:`gymnasium.spaces.flatten` does.

**Forecast distribution.** The day's high is modelled as ``T ~ Normal(forecast, sigma(lead))``
and the settlement value as ``round(T)`` (whole degrees), so a bracket's probability is the
normal mass of its whole-degree values: ``between`` ``[floor - 0.5, cap + 0.5)``, ``less``
``(-inf, cap - 0.5)``, ``less_or_equal`` ``(-inf, cap + 0.5)``, ``greater`` ``[floor + 0.5,
inf)``, ``greater_or_equal`` ``[floor - 0.5, inf)``. ``sigma`` by lead
(:data:`FORECAST_SIGMA_F`) is the RMSE of the Open-Meteo Previous Runs forecasts against NOAA
GHCND TMAX (rounded) at KNYC and KMDW on 2025-10-01..2025-11-30 (120 event days a lead, all
before every event of the sample; ``scripts/forecast_sigma.py`` recomputes it): 2.72 F at
lead 1 (which had a +1.74 F mean error in that window) and 2.44 F at lead 2. Leads not in the
table use the nearest lead's sigma.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from gymnasium import spaces

from kcap.envs.data import Bracket, Forecasts
from kcap.envs.tape import EventTape
from kcap.fixedpoint import ONE_CONTRACT_CX, ONE_DOLLAR_CC

FORECAST_SIGMA_F: Final[Mapping[int, float]] = MappingProxyType({1: 2.72, 2: 2.44})
"""Standard deviation of the daily high around the forecast, degrees F, by lead in days."""

SIZE_LOG_MAX: Final = 25.0
AGE_LOG_MAX: Final = 20.0
STRIKE_REL_MAX: Final = 100.0

PER_BRACKET = "bracket"
GLOBAL = "global"


@dataclass(frozen=True)
class Feature:
    """One observation key: shape kind, bounds, meaning and unit (for docs and the space)."""

    name: str
    kind: str
    low: float
    high: float
    meaning: str


FEATURES: Final = (
    Feature("active", PER_BRACKET, 0, 1, "1 if the slot holds a bracket (ladder order, lowest first)"),
    Feature("yes_bid", PER_BRACKET, 0, 1, "best YES bid the agent sees, $ (0: none)"),
    Feature("yes_ask", PER_BRACKET, 0, 1, "best YES ask = $1 - best NO bid, $ (1: none)"),
    Feature("spread", PER_BRACKET, -1, 1, "yes_ask - yes_bid, $"),
    Feature("yes_bid_size", PER_BRACKET, 0, SIZE_LOG_MAX, "log(1 + contracts at the best YES bid)"),
    Feature("yes_ask_size", PER_BRACKET, 0, SIZE_LOG_MAX, "log(1 + contracts at the best YES ask)"),
    Feature("bid_depth", PER_BRACKET, 0, SIZE_LOG_MAX, "log(1 + contracts over the top YES bid levels)"),
    Feature("ask_depth", PER_BRACKET, 0, SIZE_LOG_MAX, "log(1 + contracts over the top YES ask levels)"),
    Feature("book_age", PER_BRACKET, 0, AGE_LOG_MAX, "log(1 + seconds since the book last changed)"),
    Feature("book_valid", PER_BRACKET, 0, 1, "1 if the book follows a snapshot with no break"),
    Feature("floor_vs_forecast", PER_BRACKET, -STRIKE_REL_MAX, STRIKE_REL_MAX, "floor strike - forecast, F (open: -100)"),
    Feature("cap_vs_forecast", PER_BRACKET, -STRIKE_REL_MAX, STRIKE_REL_MAX, "cap strike - forecast, F (open: +100)"),
    Feature("forecast_prob", PER_BRACKET, 0, 1, "bracket probability under the forecast distribution"),
    Feature("position", PER_BRACKET, -1, 1, "signed YES position / max position (- is NO)"),
    Feature("avg_cost", PER_BRACKET, 0, 1, "average price paid for the open position, $"),
    Feature("cash", GLOBAL, 0, 100, "free cash / initial cash"),
    Feature("time_to_close", GLOBAL, 0, 100, "hours until trading closes"),
    Feature("forecast_known", GLOBAL, 0, 1, "1 if a forecast is known; else every forecast feature is 0"),
    Feature("forecast_high", GLOBAL, -100, 200, "latest known forecast of the high, F"),
    Feature("forecast_lead", GLOBAL, 0, 10, "its lead, days before the event day"),
    Feature("forecast_age", GLOBAL, 0, 240, "hours since it became known"),
    Feature("forecast_revision", GLOBAL, -100, 100, "latest - previous forecast, F (0: no previous)"),
    Feature("yes_ask_sum", GLOBAL, 0, 100, "sum of YES asks over the brackets, $ (ladder coherence)"),
    Feature("yes_bid_sum", GLOBAL, 0, 100, "sum of YES bids over the brackets, $"),
)  # fmt: skip
"""Every observation key, in the order of the documentation."""


def observation_space(n: int) -> spaces.Dict:
    """The ``Dict`` observation space for ``n`` bracket slots."""
    boxes: dict[str, spaces.Space[Any]] = {}
    for f in FEATURES:
        shape = (n,) if f.kind == PER_BRACKET else (1,)
        boxes[f.name] = spaces.Box(f.low, f.high, shape=shape, dtype=np.float32)
    return spaces.Dict(boxes)


class Layout:
    """Where each key lives in the flat vector (the ``Dict`` space's key order).

    Attributes:
        space: the ``Dict`` space. flat: the flattened ``Box``.
        slices: ``key -> slice`` of the flat vector. size: its length.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.space = observation_space(n)
        self.slices: dict[str, slice] = {}
        boxes = [b for b in self.space.spaces.values() if isinstance(b, spaces.Box)]
        start = 0
        for name, box in zip(self.space.spaces, boxes, strict=True):
            self.slices[name] = slice(start, start + box.shape[0])
            start += box.shape[0]
        self.size = start
        self.low = np.concatenate([b.low for b in boxes])
        self.high = np.concatenate([b.high for b in boxes])
        self.flat = spaces.Box(self.low, self.high, dtype=np.float32)

    def as_dict(self, vector: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.float32]]:
        """The ``Dict`` observation as views into ``vector``."""
        return {name: vector[s] for name, s in self.slices.items()}


# ---------------------------------------------------------------------------------------------
# forecast distribution


def _cdf(x: float, mean: float, sigma: float) -> float:
    return 0.5 * (1.0 + math.erf((x - mean) / (sigma * math.sqrt(2.0))))


def _interval(bracket: Bracket) -> tuple[float, float]:
    """The bracket's range for the continuous high (whole-degree settlement, see module)."""
    half = Fraction(1, 2)
    floor, cap, kind = bracket.floor, bracket.cap, bracket.strike_type
    lo, hi = -math.inf, math.inf
    if kind == "between":
        assert floor is not None and cap is not None
        lo, hi = float(floor - half), float(cap + half)
    elif kind in ("less", "less_or_equal"):
        assert cap is not None
        hi = float(cap - half if kind == "less" else cap + half)
    else:
        assert floor is not None
        lo = float(floor + half if kind == "greater" else floor - half)
    return lo, hi


def sigma_for(lead_days: int, table: Mapping[int, float] = FORECAST_SIGMA_F) -> float:
    """Sigma for a lead: the table's value, or the nearest lead's."""
    if lead_days in table:
        return table[lead_days]
    nearest = min(table, key=lambda lead: (abs(lead - lead_days), -lead))
    return table[nearest]


def bracket_probabilities(
    brackets: tuple[Bracket, ...], forecast_f: float, sigma_f: float
) -> list[float]:
    """Each bracket's probability under ``Normal(forecast_f, sigma_f)`` (see the module)."""
    out = []
    for bracket in brackets:
        lo, hi = _interval(bracket)
        p_hi = 1.0 if hi == math.inf else _cdf(hi, forecast_f, sigma_f)
        p_lo = 0.0 if lo == -math.inf else _cdf(lo, forecast_f, sigma_f)
        out.append(min(1.0, max(0.0, p_hi - p_lo)))
    return out


# ---------------------------------------------------------------------------------------------
# the static part of the observation, for every step of an episode at once


def _log_contracts(size_cx: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    return np.minimum(np.log1p(size_cx / ONE_CONTRACT_CX), SIZE_LOG_MAX)


def book_columns(
    tape: EventTape, ids: npt.NDArray[np.int64], times_ns: npt.NDArray[np.int64]
) -> dict[str, npt.NDArray[np.float64]]:
    """Book features of the states ``ids`` ``(times, brackets)`` seen at ``times_ns``."""
    yes_px, no_px = tape.yes_px[ids], tape.no_px[ids]  # (T, B, depth)
    yes_sz, no_sz = tape.yes_sz[ids], tape.no_sz[ids]
    bid = yes_px[..., 0] / ONE_DOLLAR_CC
    has_ask = no_px[..., 0] > 0
    ask = np.where(has_ask, (ONE_DOLLAR_CC - no_px[..., 0]) / ONE_DOLLAR_CC, 1.0)
    age_s = np.maximum(times_ns[:, None] - tape.updated_ns[ids], 0) / 1e9
    age = np.where(ids > 0, np.minimum(np.log1p(age_s), AGE_LOG_MAX), AGE_LOG_MAX)
    return {
        "yes_bid": bid,
        "yes_ask": ask,
        "spread": ask - bid,
        "yes_bid_size": _log_contracts(yes_sz[..., 0]),
        "yes_ask_size": _log_contracts(no_sz[..., 0]),
        "bid_depth": _log_contracts(yes_sz.sum(axis=-1)),
        "ask_depth": _log_contracts(no_sz.sum(axis=-1)),
        "book_age": age,
        "book_valid": tape.valid[ids].astype(np.float64),
    }


def forecast_columns(
    brackets: tuple[Bracket, ...],
    forecasts: Forecasts | None,
    index: npt.NDArray[np.int64],
    times_ns: npt.NDArray[np.int64],
    sigma_table: Mapping[int, float],
) -> dict[str, npt.NDArray[np.float64]]:
    """Forecast features at each time, from the as-of forecast ``index`` (-1: none known)."""
    t, b = len(times_ns), len(brackets)
    out = {k: np.zeros((t, 1)) for k in ("forecast_known", "forecast_high", "forecast_lead")}
    out.update({k: np.zeros((t, 1)) for k in ("forecast_age", "forecast_revision")})
    out.update({k: np.zeros((t, b)) for k in ("floor_vs_forecast", "cap_vs_forecast")})
    out["forecast_prob"] = np.zeros((t, b))
    if forecasts is None or not (index >= 0).any():
        return out
    known = index >= 0
    i = np.maximum(index, 0)
    value = forecasts.value_f[i]
    prev = np.where(index >= 1, forecasts.value_f[np.maximum(index - 1, 0)], value)
    out["forecast_known"][:, 0] = known
    out["forecast_high"][:, 0] = np.where(known, value, 0.0)
    out["forecast_lead"][:, 0] = np.where(known, forecasts.lead_days[i], 0)
    age_h = (times_ns - forecasts.known_from_ns[i]) / 3.6e12
    out["forecast_age"][:, 0] = np.where(known, age_h, 0.0)
    out["forecast_revision"][:, 0] = np.where(known, value - prev, 0.0)
    floors = np.array([-math.inf if x.floor is None else float(x.floor) for x in brackets])
    caps = np.array([math.inf if x.cap is None else float(x.cap) for x in brackets])
    k = known[:, None]
    out["floor_vs_forecast"] = np.where(k, floors[None, :] - value[:, None], 0.0)
    out["cap_vs_forecast"] = np.where(k, caps[None, :] - value[:, None], 0.0)
    probs = np.array(
        [
            bracket_probabilities(brackets, float(v), sigma_for(int(lead), sigma_table))
            for v, lead in zip(forecasts.value_f, forecasts.lead_days, strict=True)
        ]
    )
    out["forecast_prob"] = np.where(k, probs[i], 0.0)
    return out


def static_matrix(
    layout: Layout,
    tape: EventTape,
    ids: npt.NDArray[np.int64],
    times_ns: npt.NDArray[np.int64],
    forecast: dict[str, npt.NDArray[np.float64]],
) -> npt.NDArray[np.float32]:
    """The observation at every step, before the agent's own state and depletion.

    Args:
        layout: the observation layout.
        tape: the event's tape. ids: state ids ``(times, brackets)`` at ``times_ns``.
        times_ns: the step times.
        forecast: :func:`forecast_columns` at the same times.

    Returns:
        float32 ``(times, layout.size)``, clipped to the bounds; position, average cost and cash
        columns are left at 0 (filled in per step).
    """
    t, b = ids.shape
    cols = book_columns(tape, ids, times_ns)
    cols.update(forecast)
    cols["active"] = np.ones((t, b))
    close = tape.event.close_ns
    cols["time_to_close"] = np.maximum(close - times_ns, 0)[:, None] / 3.6e12
    cols["yes_ask_sum"] = cols["yes_ask"].sum(axis=1, keepdims=True)
    cols["yes_bid_sum"] = cols["yes_bid"].sum(axis=1, keepdims=True)
    out = np.zeros((t, layout.size), dtype=np.float64)
    for name, s in layout.slices.items():
        if name in cols:
            out[:, s.start : s.start + cols[name].shape[1]] = cols[name]
    np.clip(out, layout.low, layout.high, out=out)
    return out.astype(np.float32)


def side_features(levels: Sequence[tuple[int, int]], ask: bool) -> tuple[float, float, float]:
    """Top price, top size and depth features of one side from its visible bid levels.

    Args:
        levels: visible ``(bid price_cc, size_cx)`` levels, best first: YES bids for the bid
            side, NO bids for the ask side (YES ask = $1 - NO bid).
        ask: the side is the ask side.

    Returns:
        ``(yes_bid or yes_ask in $, log(1 + contracts at the top), log(1 + contracts in all))``.
    """
    if not levels:
        return (1.0 if ask else 0.0), 0.0, 0.0
    top_price, top_size = levels[0]
    price = (ONE_DOLLAR_CC - top_price if ask else top_price) / ONE_DOLLAR_CC
    total = 0
    for _, size in levels:
        total += size
    return (
        price,
        min(math.log1p(top_size / ONE_CONTRACT_CX), SIZE_LOG_MAX),
        min(math.log1p(total / ONE_CONTRACT_CX), SIZE_LOG_MAX),
    )
