"""Reading the real-data source files: JSON lines (plain or gzip) that may stop mid-line, and times.

The REST book files of ``kalshi-headless-weather-books`` are copies of append-only files taken
while they were still growing, so a file may end in a torn line or a cut gzip stream
(PROVENANCE.md of that folder). Such a line is reported as a
:class:`kcap.replay.readers.ReadProblem` (and logged) and skipped; everything before it is
used. A line that is valid JSON but has the wrong shape is a :class:`kcap.errors.DataError`.

Times are exact integers: Unix nanoseconds (``*_ns``) computed from the calendar fields, never
through a float timestamp.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import logging
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Final, TypeVar

import msgspec

from kcap.errors import DataError
from kcap.replay.readers import ReadProblem

log = logging.getLogger(__name__)

T = TypeVar("T")

NS_PER_SECOND: Final = 1_000_000_000
NS_PER_MS: Final = 1_000_000
_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()


def open_binary(path: Path) -> IO[bytes]:
    """Open ``path`` for reading bytes, through gzip when its name ends in ``.gz``."""
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]  # a GzipFile is a binary IO
    return path.open("rb")


def _lines(path: Path, problems: list[ReadProblem] | None) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` of a file; a cut gzip stream is reported and ends the file."""
    line_no = 0
    with open_binary(path) as fh:
        try:
            for line in fh:
                line_no += 1
                yield line_no, line
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            _report(
                path,
                line_no + 1,
                f"compressed stream ends early, rest of file lost: {exc}",
                problems,
            )


def _report(path: Path, line: int, message: str, problems: list[ReadProblem] | None) -> None:
    log.warning("%s:%d: %s", path, line, message)
    if problems is not None:
        problems.append(ReadProblem(str(path), line, message))


def iter_json_lines(
    path: Path, type_: type[T], *, problems: list[ReadProblem] | None = None
) -> Iterator[tuple[int, T]]:
    """Decode each line of a JSON-lines file (plain or ``.gz``) into ``type_``.

    Args:
        path: the file.
        type_: a msgspec-decodable type (a ``msgspec.Struct``; unknown keys are ignored).
        problems: where torn or damaged lines are reported (they are also logged).

    Yields:
        ``(line number, value)`` for every good line, in file order.

    Raises:
        DataError: a line that is valid JSON but not the expected shape.
    """
    decoder = msgspec.json.Decoder(type_)
    for line_no, line in _lines(path, problems):
        if not line.strip():
            continue
        try:
            yield line_no, decoder.decode(line)
        except msgspec.ValidationError as exc:
            raise DataError(
                f"{path}:{line_no}: expected {type_.__name__} fields, found: {exc}"
            ) from exc
        except msgspec.DecodeError as exc:
            torn = not line.endswith(b"\n")
            what = "torn last line" if torn else "damaged line"
            _report(path, line_no, f"{what}, {len(line)} bytes skipped: {exc}", problems)


def iter_csv(path: Path, needed: Iterable[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """The rows of a CSV file with a header, each with its location ``"<path>:<line>"``.

    Raises:
        DataError: a column in ``needed`` is missing (the message lists what was found).
    """
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in needed if c not in (reader.fieldnames or ())]
        if missing:
            raise DataError(
                f"{path}: expected columns {', '.join(missing)}, found {reader.fieldnames}"
            )
        for line, row in enumerate(reader, start=2):
            yield f"{path}:{line}", row


def epoch_ns(moment: dt.datetime) -> int:
    """Unix nanoseconds of a datetime, exactly; a naive datetime is read as UTC."""
    offset = moment.utcoffset()
    days = moment.toordinal() - _EPOCH_ORDINAL
    seconds = days * 86_400 + moment.hour * 3_600 + moment.minute * 60 + moment.second
    if offset is not None:
        seconds -= offset.days * 86_400 + offset.seconds
        micros = moment.microsecond - offset.microseconds
    else:
        micros = moment.microsecond
    return seconds * NS_PER_SECOND + micros * 1_000


def utc_iso_to_ns(text: str, where: str) -> int:
    """Unix nanoseconds of an ISO 8601 time with a UTC offset (``...+00:00`` or ``...Z``).

    Raises:
        DataError: not an ISO time, or one without an offset.
    """
    try:
        moment = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: expected an ISO 8601 time, found {text!r}") from exc
    if moment.utcoffset() is None:
        raise DataError(f"{where}: expected a time with a UTC offset, found {text!r}")
    return epoch_ns(moment)


def ns_to_utc_iso(ns: int) -> str:
    """``2025-12-19T15:00:00Z`` for Unix nanoseconds (whole seconds; sub-second part dropped)."""
    seconds = ns // NS_PER_SECOND
    moment = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
