"""The environment's input tables: markets, forecasts, outcomes; and as-of joins on them.

Bring your own data in these formats (the embedded sample, :mod:`kcap.sample`, has all three):

**markets** - what each bracket pays on. Either a CSV with a header::

    ticker,event_ticker,series_ticker,strike_type,floor_strike,cap_strike,open_time,close_time
    KXHIGHNY-25DEC06-B41.5,KXHIGHNY-25DEC06,KXHIGHNY,between,41,42,2025-12-05T15:00:00Z,2025-12-07T04:59:00Z

(``series_ticker`` may be left out or empty: the event ticker up to its first ``-``;
``floor_strike``/``cap_strike`` empty when absent; ``open_time`` empty when unknown), or Kalshi's
own market objects (``GET /markets``): a ``.json`` file holding ``{"markets": [...]}`` or a list,
or a ``.jsonl``/``.jsonl.gz`` file of one object per line, with Kalshi's field names
(``ticker``, ``event_ticker``, ``strike_type``, ``floor_strike``, ``cap_strike``,
``open_time``, ``close_time``; ``event_ticker`` defaults to the ticker up to its last ``-``).
Times are RFC 3339 (``Z`` or an offset).

**forecasts** - point forecasts of the event's value, each with the time from which it was
known (an issue or availability time, never the valid time)::

    event_ticker,known_from_ns,value_f,lead_days
    KXHIGHNY-25DEC06,1764993600000000000,39.7,1

Extra columns (``known_from_utc``) are ignored. An event without rows has no forecast: the
observation says so (``forecast_known`` = 0). A header-only file is valid.

**outcomes** - the settlement value of each event (Kalshi's ``expiration_value`` where known,
else the NWS CLI high, else NOAA GHCND TMAX; the ``source`` column says which)::

    event_ticker,high_f,source
    KXHIGHNY-25DEC06,42,ghcnd_tmax_rounded:sameeres-kxhigh-candles-ghcnd

An event without a row has no known outcome: its episodes end truncated, not settled.

All joins against decision time are **as of** the time the data became known
(:func:`forecast_index`): a forecast is used only from its ``known_from_ns`` on.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from kcap.convert.sources import iter_csv
from kcap.envs.settlement import check_strikes
from kcap.errors import DataError

_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}
_EVENT_DATE_RE: Final = re.compile(r"-(\d\d)([A-Z]{3})(\d\d)$")
_INF: Final = Fraction(10**9)


@dataclass(frozen=True)
class Bracket:
    """One market of an event.

    Attributes:
        ticker: market ticker.
        strike_type: Kalshi ``strike_type`` (see :mod:`kcap.envs.settlement`).
        floor: ``floor_strike`` or None. cap: ``cap_strike`` or None.
    """

    ticker: str
    strike_type: str
    floor: Fraction | None
    cap: Fraction | None

    @property
    def order_key(self) -> tuple[Fraction, Fraction]:
        """Sort key along the ladder: lowest bracket first (open ends at -inf / +inf)."""
        lo = self.floor if self.floor is not None else -_INF
        hi = self.cap if self.cap is not None else _INF
        return (lo, hi)


@dataclass(frozen=True)
class Event:
    """One event (series x date): its brackets in ladder order and its times.

    Attributes:
        ticker: event ticker, ``KXHIGHNY-25DEC06``.
        series: series ticker.
        date: the observation day (from the ticker, else the close time's UTC date).
        brackets: the markets, lowest strike first.
        open_ns: trading opens (Unix ns), None when unknown.
        close_ns: trading closes (Unix ns): the latest of the brackets' close times.
    """

    ticker: str
    series: str
    date: dt.date
    brackets: tuple[Bracket, ...]
    open_ns: int | None
    close_ns: int


@dataclass(frozen=True)
class Forecasts:
    """An event's forecasts in ``known_from_ns`` order, as parallel arrays.

    Attributes:
        known_from_ns: int64, ascending. value_f: float64, degrees F. lead_days: int64.
    """

    known_from_ns: npt.NDArray[np.int64]
    value_f: npt.NDArray[np.float64]
    lead_days: npt.NDArray[np.int64]


@dataclass(frozen=True)
class Outcome:
    """An event's settlement value and where it comes from."""

    value: Fraction
    source: str


# ---------------------------------------------------------------------------------------------
# parsing helpers


def _number(text: Any, where: str) -> Fraction | None:
    """A strike or value as an exact Fraction; None for empty/null."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    if isinstance(text, bool) or not isinstance(text, int | float | str):
        raise DataError(f"{where}: expected a number, found {text!r}")
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise DataError(f"{where}: expected a number, found {text!r}") from None
    if not value.is_finite():
        raise DataError(f"{where}: expected a finite number, found {text!r}")
    return Fraction(value)


def parse_time_ns(text: str, where: str) -> int:
    """An RFC 3339 time (``2025-12-07T04:59:00Z``, offsets allowed) as Unix nanoseconds.

    Raises:
        DataError: not an RFC 3339 time with a zone.
    """
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise DataError(f"{where}: expected an RFC 3339 time, found {text!r}") from None
    if when.tzinfo is None:
        raise DataError(f"{where}: expected a time with a zone (Z or +hh:mm), found {text!r}")
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def event_date(event_ticker: str, close_ns: int) -> dt.date:
    """The event's day from its ticker (``...-25DEC06``), else the close time's UTC date."""
    found = _EVENT_DATE_RE.search(event_ticker)
    if found and found[2] in _MONTHS:
        try:
            return dt.date(2000 + int(found[1]), _MONTHS[found[2]], int(found[3]))
        except ValueError:
            pass
    return dt.datetime.fromtimestamp(close_ns // 1_000_000_000, dt.UTC).date()


# ---------------------------------------------------------------------------------------------
# markets


def _market_objects(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    name = path.name
    if name.endswith((".jsonl", ".jsonl.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh, start=1):
                if line.strip():
                    yield f"{path}:{i}", json.loads(line)
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data.get("markets") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise DataError(f"{path}: expected a list of market objects or {{'markets': [...]}}")
    for i, item in enumerate(items):
        yield f"{path}[{i}]", item


def _market_rows(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if path.suffix == ".csv":
        yield from iter_csv(path, ("ticker", "event_ticker", "strike_type", "close_time"))
    else:
        yield from _market_objects(path)


def read_markets(path: str | Path) -> dict[str, Event]:
    """Read a markets table (CSV or Kalshi market objects, see the module docstring).

    Returns:
        ``event_ticker -> Event``, brackets in ladder order. A market listed twice (REST books
        repeat it) is kept once; its strikes must agree.

    Raises:
        DataError: a missing field, bad strikes or times, or a market listed with two meanings.
    """
    path = Path(path)
    brackets: dict[str, dict[str, Bracket]] = {}
    times: dict[str, tuple[int | None, int]] = {}
    for where, row in _market_rows(path):
        ticker = str(row.get("ticker") or "")
        if not ticker:
            raise DataError(f"{where}: expected a market ticker, found none")
        event = str(row.get("event_ticker") or ticker.rsplit("-", 1)[0])
        bracket = Bracket(
            ticker,
            str(row.get("strike_type") or ""),
            _number(row.get("floor_strike"), where),
            _number(row.get("cap_strike"), where),
        )
        try:
            check_strikes(bracket.strike_type, bracket.floor, bracket.cap)
        except DataError as exc:
            raise DataError(f"{where}: {ticker}: {exc}") from None
        close_text = row.get("close_time")
        if not close_text:
            raise DataError(f"{where}: expected a close_time for {ticker}, found none")
        close_ns = parse_time_ns(str(close_text), where)
        open_text = row.get("open_time")
        open_ns = parse_time_ns(str(open_text), where) if open_text else None
        known = brackets.setdefault(event, {})
        if ticker in known and known[ticker] != bracket:
            raise DataError(f"{where}: {ticker} listed again with other strikes")
        known[ticker] = bracket
        old_open, old_close = times.get(event, (open_ns, close_ns))
        opens = [t for t in (old_open, open_ns) if t is not None]
        times[event] = (min(opens) if opens else None, max(old_close, close_ns))
    events = {}
    for event, by_ticker in sorted(brackets.items()):
        open_ns, close_ns = times[event]
        ladder = tuple(sorted(by_ticker.values(), key=lambda b: (b.order_key, b.ticker)))
        series = event.split("-", 1)[0]
        events[event] = Event(event, series, event_date(event, close_ns), ladder, open_ns, close_ns)
    return events


# ---------------------------------------------------------------------------------------------
# forecasts and outcomes


def read_forecasts(path: str | Path) -> dict[str, Forecasts]:
    """Read a forecasts CSV (see the module docstring): ``event_ticker -> Forecasts``.

    Raises:
        DataError: a missing column or a bad value.
    """
    path = Path(path)
    rows: dict[str, list[tuple[int, float, int]]] = {}
    for where, row in iter_csv(path, ("event_ticker", "known_from_ns", "value_f", "lead_days")):
        known, lead, value = row["known_from_ns"], row["lead_days"], _number(row["value_f"], where)
        if not known.strip().isdigit() or not lead.strip().lstrip("-").isdigit() or value is None:
            raise DataError(
                f"{where}: expected integer known_from_ns and lead_days and a value, found "
                f"{known!r}, {lead!r}, {row['value_f']!r}"
            )
        rows.setdefault(row["event_ticker"], []).append((int(known), float(value), int(lead)))
    out = {}
    for event, items in rows.items():
        items.sort()
        out[event] = Forecasts(
            np.array([r[0] for r in items], dtype=np.int64),
            np.array([r[1] for r in items], dtype=np.float64),
            np.array([r[2] for r in items], dtype=np.int64),
        )
    return out


def read_outcomes(path: str | Path) -> dict[str, Outcome]:
    """Read an outcomes CSV (``event_ticker, high_f[, source]``): ``event_ticker -> Outcome``.

    Rows with an empty ``high_f`` are skipped (outcome unknown).

    Raises:
        DataError: a missing column, a bad value, or an event listed twice with two values.
    """
    path = Path(path)
    out: dict[str, Outcome] = {}
    for where, row in iter_csv(path, ("event_ticker", "high_f")):
        value = _number(row["high_f"], where)
        if value is None:
            continue
        event = row["event_ticker"]
        if event in out and out[event].value != value:
            raise DataError(f"{where}: {event} listed with two outcomes")
        out[event] = Outcome(value, row.get("source") or "")
    return out


def forecast_index(forecasts: Forecasts | None, times_ns: npt.NDArray[np.int64]) -> np.ndarray:
    """As-of join: for each decision time, the index of the latest forecast known by then.

    A forecast counts from its ``known_from_ns`` on (inclusive); -1 where none is known yet.
    """
    if forecasts is None or not len(forecasts.known_from_ns):
        return np.full(len(times_ns), -1, dtype=np.int64)
    return np.searchsorted(forecasts.known_from_ns, times_ns, side="right").astype(np.int64) - 1
