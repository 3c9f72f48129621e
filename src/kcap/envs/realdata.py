"""Environment datasets built from ``../shared/real-data``: captures plus the three tables.

A *dataset directory* is what :class:`kcap.envs.weather.KalshiWeatherEnv` takes as
``data_dir``: ``captures/*.parquet``, ``markets.csv``, ``forecasts.csv``, ``outcomes.csv``
(formats in :mod:`kcap.envs.data`). Two builders:

* :func:`build_rest_dataset` - the full-depth REST books of ``kalshi-headless-weather-books``
  (2026-07-16..24), converted file by file with :func:`kcap.convert.convert_rest_file`
  (every weather series; one derived connection per file). Markets (strike type, floor, cap,
  close time) come from the book lines themselves, which carry Kalshi's market fields; the
  open time is not in the source (left empty). Outcomes are Kalshi's own settlement values
  (``expiration_value`` in ``weather_actuals_*.jsonl``), checked against every market's
  recorded ``yes``/``no`` result with :func:`kcap.envs.settlement.yes_wins`. Forecasts: the
  Open-Meteo file ends 2026-06-12, so these events have none (``forecast_known`` = 0).
* :func:`build_bbo_dataset` - the KXHIGHNY best-bid logs (Dec 2025 - Jan 2026), whole, with
  :func:`kcap.convert.convert_bbo_file`; markets, Open-Meteo forecasts and outcomes (NWS CLI
  where a source has it, else NOAA GHCND) from :mod:`kcap.convert.events`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Final

import msgspec

from kcap.convert import convert_bbo_file, convert_rest_file
from kcap.convert import events as tables
from kcap.convert.provenance import BBO, HEADLESS_BOOKS, OPEN_METEO
from kcap.convert.sources import iter_json_lines
from kcap.envs.data import Bracket, _number
from kcap.envs.settlement import yes_wins
from kcap.errors import DataError
from kcap.replay.readers import ReadProblem
from kcap.schemas.series import DAILY_HIGH_SERIES

log = logging.getLogger(__name__)

REST_SERIES: Final = DAILY_HIGH_SERIES
"""The seven daily-high series with REST books in 2026-07 (kalshi-headless PROVENANCE.md)."""

OUTCOME_SOURCE: Final = f"kalshi_expiration_value:{HEADLESS_BOOKS.folder}"


class _MarketLine(msgspec.Struct, frozen=True):
    """Kalshi market fields carried by each ``weather_books`` line."""

    ticker: str
    series: str
    strike_type: str
    close_time: str
    floor_strike: float | None = None
    cap_strike: float | None = None


class _SettledEvent(msgspec.Struct, frozen=True):
    event_ticker: str
    series: str
    expiration_value: str | None = None
    event_date: str = ""
    results: dict[str, str] = {}


class _Settled(msgspec.Struct, frozen=True):
    events: list[_SettledEvent] = []


class _ActualsLine(msgspec.Struct, frozen=True):
    settled_markets: _Settled = _Settled()


def _write_csv(rows: Iterable[dict[str, str]], columns: Sequence[str], dst: Path) -> None:
    tables.write_csv(rows, columns, dst)


def rest_market_rows(book_files: Sequence[Path], series: Sequence[str]) -> list[dict[str, str]]:
    """Markets of ``series`` found in REST book files, one row per ticker (sorted)."""
    rows: dict[str, dict[str, str]] = {}
    problems: list[ReadProblem] = []
    for path in book_files:
        for _, line in iter_json_lines(path, _MarketLine, problems=problems):
            if line.series not in series or line.ticker in rows:
                continue
            floor = "" if line.floor_strike is None else _plain(line.floor_strike)
            cap = "" if line.cap_strike is None else _plain(line.cap_strike)
            rows[line.ticker] = {
                "ticker": line.ticker,
                "event_ticker": line.ticker.rsplit("-", 1)[0],
                "series_ticker": line.series,
                "strike_type": line.strike_type,
                "floor_strike": floor,
                "cap_strike": cap,
                "open_time": "",
                "close_time": line.close_time,
            }
    return [rows[t] for t in sorted(rows)]


def _plain(value: float) -> str:
    """A JSON strike as written: 84.0 -> "84", 86.5 -> "86.5"."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def rest_outcome_rows(
    actual_files: Sequence[Path], markets: Sequence[dict[str, str]]
) -> list[dict[str, str]]:
    """Kalshi settlement values of the events in ``markets``, checked against each market's
    recorded result.

    Raises:
        DataError: two different values for one event, or a recorded result that the strike
            rules do not reproduce.
    """
    brackets = {
        m["ticker"]: Bracket(
            m["ticker"],
            m["strike_type"],
            _number(m["floor_strike"], m["ticker"]),
            _number(m["cap_strike"], m["ticker"]),
        )
        for m in markets
    }
    events = {m["event_ticker"] for m in markets}
    values: dict[str, tuple[str, str]] = {}
    for path in actual_files:
        for line_no, line in iter_json_lines(path, _ActualsLine):
            for settled in line.settled_markets.events:
                if settled.event_ticker not in events or not settled.expiration_value:
                    continue
                where = f"{path}:{line_no} {settled.event_ticker}"
                value = _number(settled.expiration_value, where)
                assert value is not None
                _check_results(settled, value, brackets, where)
                text = str(value.numerator) if value.denominator == 1 else str(float(value))
                old = values.setdefault(settled.event_ticker, (text, settled.event_date))
                if old[0] != text:
                    raise DataError(f"{where}: expected settlement {old[0]}, found {text}")
    return [
        {"event_ticker": e, "date": values[e][1], "high_f": values[e][0], "source": OUTCOME_SOURCE}
        for e in sorted(values)
    ]


def _check_results(
    settled: _SettledEvent, value: Fraction, brackets: dict[str, Bracket], where: str
) -> None:
    for ticker, result in sorted(settled.results.items()):
        bracket = brackets.get(ticker)
        if bracket is None:
            continue
        ours = yes_wins(bracket.strike_type, bracket.floor, bracket.cap, value)
        if ours != (result == "yes"):
            raise DataError(
                f"{where}: Kalshi settled {ticker} {result!r} at {value}, "
                f"the strike rules give {'yes' if ours else 'no'}"
            )


def _forecast_rows(real_data: Path, events: Iterable[str]) -> list[dict[str, str]]:
    path = real_data / OPEN_METEO.folder / "forecast_high_f.csv"
    present = {line.split(",", 1)[0] for line in path.read_text(encoding="utf-8").splitlines()}
    have = sorted(set(events) & present)
    return tables.forecast_rows(real_data, have) if have else []


def build_rest_dataset(
    real_data: str | Path, dst: str | Path, *, series: Sequence[str] = REST_SERIES
) -> Path:
    """Build the REST-book dataset (module docstring) into ``dst``; return ``dst``.

    Raises:
        DataError: the source folder is missing or a file is malformed.
    """
    real_data, dst = Path(real_data), Path(dst)
    folder = real_data / HEADLESS_BOOKS.folder
    books = sorted(p for p in folder.glob("weather_books_*.jsonl.gz") if "meta" not in p.name)
    if not books:
        raise DataError(f"expected weather_books_*.jsonl.gz files in {folder}, found none")
    captures = dst / "captures"
    captures.mkdir(parents=True, exist_ok=True)
    for path in books:
        problems: list[ReadProblem] = []
        capture = convert_rest_file(path, problems=problems)
        capture.write_parquet(captures / (path.name.removesuffix(".jsonl.gz") + ".parquet"))
        for problem in problems:
            log.info("%s", problem)
    markets = rest_market_rows(books, series)
    _write_csv(markets, tables.MARKET_COLUMNS, dst / "markets.csv")
    actuals = sorted(folder.glob("weather_actuals_*.jsonl"))
    outcomes = rest_outcome_rows(actuals, markets)
    _write_csv(outcomes, tables.OUTCOME_COLUMNS, dst / "outcomes.csv")
    events = {m["event_ticker"] for m in markets}
    _write_csv(_forecast_rows(real_data, events), tables.FORECAST_COLUMNS, dst / "forecasts.csv")
    (dst / "SOURCES.json").write_text(
        json.dumps({"builder": "kcap.envs.realdata.build_rest_dataset", "series": list(series)})
        + "\n",
        encoding="utf-8",
    )
    return dst


def build_bbo_dataset(
    real_data: str | Path, dst: str | Path, *, events: Sequence[str] | None = None
) -> Path:
    """Build the best-bid-log dataset (module docstring) into ``dst``; return ``dst``.

    Args:
        real_data: ``../shared/real-data``.
        dst: output directory.
        events: event tickers (default: every ``market_data_<EVENT>.csv.gz``).
    """
    real_data, dst = Path(real_data), Path(dst)
    folder = real_data / BBO.folder
    if events is None:
        events = sorted(
            p.name.removeprefix("market_data_").removesuffix(".csv.gz")
            for p in folder.glob("market_data_*.csv.gz")
        )
    captures = dst / "captures"
    captures.mkdir(parents=True, exist_ok=True)
    for event in events:
        capture = convert_bbo_file(folder / f"market_data_{event}.csv.gz")
        capture.write_parquet(captures / f"{event}.parquet")
    _write_csv(tables.market_rows(real_data, events), tables.MARKET_COLUMNS, dst / "markets.csv")
    _write_csv(_forecast_rows(real_data, events), tables.FORECAST_COLUMNS, dst / "forecasts.csv")
    _write_csv(tables.outcome_rows(real_data, events), tables.OUTCOME_COLUMNS, dst / "outcomes.csv")
    return dst
