"""Per-event tables for converted captures: markets, forecasts and outcomes (CSV, strings only).

For a set of KXHIGHNY event tickers, from ``../shared/real-data``:

* **markets** (``sameeres-kxhigh-candles-ghcnd/kalshi_markets.csv``, Kalshi's ``/markets``):
  ``ticker, event_ticker, series_ticker, strike_type, floor_strike, cap_strike, open_time,
  close_time``, times in UTC ISO. The source has no ``open_time``: it is set to **10:00
  America/New_York on the day before the event**, the KXHIGHNY listing time
  (kalshi-protocol.md 7.3; in the data, the first hourly candle of every market ends at 16:00Z
  and the best-bid log starts at 07:00 Pacific = 10:00 ET, see :mod:`kcap.convert.bbo`).
* **forecasts** (``aninaga-openmeteo-prevrun-forecasts/forecast_high_f.csv``): Open-Meteo
  Previous Runs daily-high forecasts, ``event_ticker, known_from_ns, known_from_utc, value_f,
  lead_days``. ``known_from`` is the source's leakage-safe time (local 23:00 of the event day
  minus 24 h x lead); ``lead_days`` is worked out from it and must be 1 or 2.
* **outcomes**: ``event_ticker, date, high_f, source``: the NWS CLI (Daily Climate Report)
  high for Central Park when a source here has the final report (``mostlyright-cli-parity``
  2025-01-06..12, ``ericzhang-kxhighny-rest-orderbooks`` 2026-07-28..08-23), otherwise NOAA
  GHCND TMAX for KNYC (``sameeres-kxhigh-candles-ghcnd/weather_daily.csv``) rounded half up to
  whole degrees F (GHCND stores 0.1 C converted from the whole-degree F reading, so rounding
  back gives that reading).

Values stay exact: numbers are copied as decimal strings or computed with integers/Decimal.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from kcap.convert.sources import iter_csv
from kcap.errors import DataError

from .provenance import ERICZHANG_CLI, MOSTLYRIGHT, OPEN_METEO, SAMEERES
from .sources import NS_PER_SECOND, epoch_ns, ns_to_utc_iso, utc_iso_to_ns

MARKET_COLUMNS: Final = (
    "ticker", "event_ticker", "series_ticker", "strike_type",
    "floor_strike", "cap_strike", "open_time", "close_time",
)  # fmt: skip
FORECAST_COLUMNS: Final = (
    "event_ticker",
    "known_from_ns",
    "known_from_utc",
    "value_f",
    "lead_days",
)
OUTCOME_COLUMNS: Final = ("event_ticker", "date", "high_f", "source")

EVENT_ZONE: Final = "America/New_York"
"""Local time of the KXHIGHNY station (Central Park) and of Kalshi's listing time."""
OPEN_RULE: Final = "open_time = 10:00 America/New_York on the day before the event, in UTC"
_MONTH_NAMES: Final = (
    "JAN",
    "FEB",
    "MAR",
    "APR",
    "MAY",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OCT",
    "NOV",
    "DEC",
)
_MONTHS: Final = {name: number for number, name in enumerate(_MONTH_NAMES, start=1)}
_EVENT_RE: Final = re.compile(r"^KX[A-Z]+-(\d\d)([A-Z]{3})(\d\d)$")

Row = dict[str, str]


def event_date(event_ticker: str) -> dt.date:
    """The observation day of an event: ``KXHIGHNY-25DEC20`` -> 2025-12-20.

    Raises:
        DataError: not an event ticker of the form ``<SERIES>-<YY><MON><DD>``.
    """
    found = _EVENT_RE.match(event_ticker)
    if found is None or found[2] not in _MONTHS:
        raise DataError(f"expected an event ticker like KXHIGHNY-25DEC20, found {event_ticker!r}")
    try:
        return dt.date(2000 + int(found[1]), _MONTHS[found[2]], int(found[3]))
    except ValueError as exc:
        raise DataError(f"{event_ticker!r} names no calendar day: {exc}") from exc


def local_ns(day: dt.date, hour: int, zone: str = EVENT_ZONE) -> int:
    """Unix nanoseconds of ``hour``:00 local time on ``day`` in ``zone``."""
    return epoch_ns(dt.datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)))


def _decimal(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise DataError(f"{where}: expected a decimal number, found {text!r}") from exc
    if not value.is_finite():
        raise DataError(f"{where}: expected a finite number, found {text!r}")
    return value


def _plain(text: str, where: str) -> str:
    """A strike as written by Kalshi: ``"48.0"`` -> ``"48"``, ``"48.5"`` stays, ``""`` stays."""
    if not text:
        return ""
    value = _decimal(text, where)
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def market_rows(real_data: Path, events: Iterable[str]) -> list[Row]:
    """The markets table for ``events``, sorted by ticker (see the module docstring).

    Raises:
        DataError: an event without markets, or a malformed row.
    """
    wanted = set(events)
    path = real_data / SAMEERES.folder / "kalshi_markets.csv"
    needed = (
        "series_ticker",
        "event_ticker",
        "market_ticker",
        "floor_strike",
        "cap_strike",
        "strike_type",
        "close_time",
    )
    out = []
    for where, src in iter_csv(path, needed):
        if src["event_ticker"] not in wanted:
            continue
        open_ns = local_ns(event_date(src["event_ticker"]) - dt.timedelta(days=1), 10)
        out.append(
            {
                "ticker": src["market_ticker"],
                "event_ticker": src["event_ticker"],
                "series_ticker": src["series_ticker"],
                "strike_type": src["strike_type"],
                "floor_strike": _plain(src["floor_strike"], where),
                "cap_strike": _plain(src["cap_strike"], where),
                "open_time": ns_to_utc_iso(open_ns),
                "close_time": ns_to_utc_iso(utc_iso_to_ns(src["close_time"], where)),
            }
        )
    _check_events(path, wanted, out)
    return sorted(out, key=lambda r: r["ticker"])


def _check_events(path: Path, wanted: set[str], rows: Sequence[Row]) -> None:
    missing = sorted(wanted - {r["event_ticker"] for r in rows})
    if missing:
        raise DataError(f"{path}: expected rows for events {', '.join(missing)}, found none")


def forecast_rows(real_data: Path, events: Iterable[str]) -> list[Row]:
    """The forecasts table for ``events``, sorted by event then ``known_from_ns``.

    Raises:
        DataError: an event without forecasts, a lead other than 1 or 2 days, a bad value.
    """
    wanted = set(events)
    path = real_data / OPEN_METEO.folder / "forecast_high_f.csv"
    out = []
    for where, src in iter_csv(path, ("event_id", "known_from_ts", "value")):
        event = src["event_id"]
        if event not in wanted:
            continue
        if not src["known_from_ts"].isdigit():
            raise DataError(f"{where}: expected Unix seconds, found {src['known_from_ts']!r}")
        known_ns = int(src["known_from_ts"]) * NS_PER_SECOND
        lead, rest = divmod(local_ns(event_date(event), 23) - known_ns, 86_400 * NS_PER_SECOND)
        if rest or lead not in (1, 2):
            raise DataError(
                f"{where}: expected known_from 1 or 2 days before 23:00 local, "
                f"found {src['known_from_ts']} for {event}"
            )
        _decimal(src["value"], where)
        out.append(
            {
                "event_ticker": event,
                "known_from_ns": str(known_ns),
                "known_from_utc": ns_to_utc_iso(known_ns),
                "value_f": src["value"],
                "lead_days": str(lead),
            }
        )
    _check_events(path, wanted, out)
    return sorted(out, key=lambda r: (r["event_ticker"], int(r["known_from_ns"])))


def cli_highs(real_data: Path) -> dict[dt.date, tuple[int, str]]:
    """Final NWS CLI highs for Central Park found in ``real_data``: date -> (high F, source)."""
    highs: dict[dt.date, tuple[int, str]] = {}
    case = real_data / MOSTLYRIGHT.folder / "ts" / "case_1_KNYC_2025-01-06_2025-01-12.json"
    if case.is_file():
        for rec in json.loads(case.read_text(encoding="utf-8")):
            if rec.get("cli_report_type") == "final" and isinstance(rec.get("cli_high_f"), int):
                highs[dt.date.fromisoformat(rec["date"])] = (rec["cli_high_f"], MOSTLYRIGHT.folder)
    for path in sorted((real_data / ERICZHANG_CLI.folder).glob("knyc_cli_daily*.csv")):
        for where, src in iter_csv(path, ("date", "official_daily_high_f", "cli_product_id")):
            day = dt.date.fromisoformat(src["date"])
            issued = src["cli_product_id"][:8]
            # a CLI issued on the climate day itself is preliminary; the final one is issued later
            if issued.isdigit() and issued > day.strftime("%Y%m%d"):
                high = _decimal(src["official_daily_high_f"], where)
                highs[day] = (int(high.to_integral_value(ROUND_HALF_UP)), ERICZHANG_CLI.folder)
    return highs


def ghcnd_highs(real_data: Path, station: str = "KNYC") -> dict[dt.date, int]:
    """GHCND TMAX of ``station`` rounded half up to whole degrees F: date -> high F."""
    path = real_data / SAMEERES.folder / "weather_daily.csv"
    highs = {}
    for where, src in iter_csv(path, ("station_id", "obs_date", "tmax_f")):
        if src["station_id"] == station and src["tmax_f"]:
            value = _decimal(src["tmax_f"], where)
            highs[dt.date.fromisoformat(src["obs_date"])] = int(
                value.to_integral_value(ROUND_HALF_UP)
            )
    return highs


def outcome_rows(real_data: Path, events: Iterable[str]) -> list[Row]:
    """The outcomes table for ``events``: CLI where known, else rounded GHCND TMAX.

    Raises:
        DataError: an event with neither.
    """
    cli = cli_highs(real_data)
    ghcnd = ghcnd_highs(real_data)
    out = []
    for event in sorted(set(events)):
        day = event_date(event)
        if day in cli:
            high, source = cli[day][0], f"nws_cli:{cli[day][1]}"
        elif day in ghcnd:
            high, source = ghcnd[day], f"ghcnd_tmax_rounded:{SAMEERES.folder}"
        else:
            raise DataError(
                f"{real_data}: expected a CLI or GHCND high for {event} ({day}), found none"
            )
        out.append(
            {"event_ticker": event, "date": day.isoformat(), "high_f": str(high), "source": source}
        )
    return out


def write_csv(rows: Iterable[Mapping[str, str]], columns: Sequence[str], dst: Path) -> Path:
    """Write rows as CSV with ``\\n`` line ends and the given column order (byte-reproducible)."""
    with dst.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=list(columns), lineterminator="\n", extrasaction="raise"
        )
        writer.writeheader()
        writer.writerows(rows)
    return dst
