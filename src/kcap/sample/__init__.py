"""A small real-data sample shipped inside kcap: six KXHIGHNY event days as derived captures.

``data/`` holds, built by ``scripts/build_sample.py`` from ``../shared/real-data`` (same input,
same bytes):

* ``KXHIGHNY-<YYMONDD>.parquet`` - one compacted capture per event (:mod:`kcap.schemas.parquet`
  layout): the real best-bid path of the event's six bracket markets on the observation day,
  from 07:00 America/New_York to the end of the source log, converted by
  :func:`kcap.convert.bbo.convert_bbo_file` into ``orderbook_snapshot`` / ``orderbook_delta``
  frames. Real prices and times, sizes from a rule derived from real REST books
  (:mod:`kcap.convert.sizes`). Every record has ``origin="derived:jetpackjules-kxhighny-bbo"``
  and each file starts with a header record naming its source, provenance and rules: these
  are **not** raw Kalshi WebSocket frames.
* ``markets.csv`` - ticker, event_ticker, series_ticker, strike_type, floor_strike,
  cap_strike, open_time, close_time (UTC ISO).
* ``forecasts.csv`` - Open-Meteo lead-1 / lead-2 daily-high forecasts: event_ticker,
  known_from_ns, known_from_utc, value_f, lead_days.
* ``outcomes.csv`` - event_ticker, date, high_f, source (the settlement high).
* ``NOTICE`` - every source (repository, commit, licence) and every derivation rule.

The sources carry no licence: the sample is for testing and demonstration only (see NOTICE).

Example:
    >>> from kcap.replay.readers import read_capture
    >>> from kcap import sample
    >>> batches = [b for p in sample.capture_paths() for b in read_capture(p)]
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Final

from kcap.errors import CaptureNotFoundError

EVENTS: Final = (
    "KXHIGHNY-25DEC06",
    "KXHIGHNY-25DEC07",
    "KXHIGHNY-25DEC08",
    "KXHIGHNY-25DEC14",
    "KXHIGHNY-25DEC27",
    "KXHIGHNY-26JAN02",
)
"""The sample's events (the build script's default). Chosen as the smallest logs that run from
before 07:00 ET on the observation day until the outcome is priced at 99 cents and have both
forecasts and an outcome, with variety: forecast misses from -1 to +6 F, a tail bracket winning
(25DEC14, "33 or below"), a quiet holiday session (25DEC27). Left out: 25DEC05 (the logger
started mid-day), 25DEC11 and 26JAN01 (the log stops by 13:00 ET), 26JAN04 (it stops the day
before), and the larger days, which do not fit in 3 MB together."""

WINDOW_START_HOUR: Final = 7
"""Each capture starts at this hour, America/New_York, on the event's observation day."""

MARKETS_CSV: Final = "markets.csv"
FORECASTS_CSV: Final = "forecasts.csv"
OUTCOMES_CSV: Final = "outcomes.csv"
NOTICE: Final = "NOTICE"


def directory() -> Path:
    """The directory of the sample's files, inside the installed package.

    Raises:
        CaptureNotFoundError: the package data is not on the file system (a zipped install)
            or was not installed.
    """
    root = files(__name__).joinpath("data")
    if not isinstance(root, Path) or not root.is_dir():
        raise CaptureNotFoundError(
            f"kcap's sample data is not a directory on disk (found {root!r}); "
            "install kcap from a wheel or a source checkout, not a zip"
        )
    return root


def capture_paths() -> list[Path]:
    """The sample's capture files (``*.parquet``), sorted by file name."""
    return sorted(directory().glob("*.parquet"))
