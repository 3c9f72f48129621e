#!/usr/bin/env python3
"""Build kcap's embedded real-data sample (``src/kcap/sample/data/``) from ``../shared/real-data``.

Usage::

    python scripts/build_sample.py [--real-data DIR] [--out DIR] [--event KXHIGHNY-25DEC06 ...]

Reproducible: the same input files give byte-identical output (no wall clock, sorted order,
``\\n`` line ends; Parquet bytes also depend on the pyarrow version, which the file footer
names). What it writes, for each event (default: :data:`kcap.sample.EVENTS`):

* ``<EVENT>.parquet``: the best-bid log converted by :func:`kcap.convert.bbo.convert_bbo_file`,
  from 07:00 America/New_York on the observation day (one snapshot per market there, then the
  exact path) to the end of the log, written with :func:`kcap.capture.compact.write_parquet`;
* ``markets.csv``, ``forecasts.csv``, ``outcomes.csv`` (:mod:`kcap.convert.events`);
* ``NOTICE``: sources, licences and rules.

Why a window: with the current Parquet layout a converted record takes ~34 bytes, so 3 MB holds
~90k records, while a whole event log converts to 8k-81k records (five whole days would take
4.8 MB at the least). From 07:00 ET on the observation day both Open-Meteo forecasts are known
and the day's high is usually not yet set: this is the part of the session that decides the
outcome. The build fails if the sample reaches :data:`MAX_BYTES`.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from kcap import sample
from kcap.convert import events as tables
from kcap.convert.bbo import BBO_RULE, TIMEZONE_RULE, convert_bbo_file
from kcap.convert.provenance import (
    BBO,
    ERICZHANG_CLI,
    HEADLESS_BOOKS,
    MOSTLYRIGHT,
    OPEN_METEO,
    SAMEERES,
    Source,
)
from kcap.convert.sizes import BEST_BID_SIZES, SIZE_RULE
from kcap.errors import KcapError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REAL_DATA = ROOT.parent / "shared" / "real-data"
DEFAULT_OUT = ROOT / "src" / "kcap" / "sample" / "data"
MAX_BYTES = 3_000_000
"""The sample's size limit, bytes (all files together)."""
OUTPUTS = ("*.parquet", "*.csv", sample.NOTICE)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--real-data", type=Path, default=DEFAULT_REAL_DATA, help="real-data dir")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--event", action="append", dest="events", help="event ticker (repeat)")
    return parser.parse_args(argv)


def convert_events(real_data: Path, out: Path, events: Sequence[str]) -> dict[str, int]:
    """Write one Parquet capture per event; return records per file."""
    records = {}
    for event in events:
        src = real_data / BBO.folder / f"market_data_{event}.csv.gz"
        start = tables.local_ns(tables.event_date(event), sample.WINDOW_START_HOUR)
        capture = convert_bbo_file(src, start_ns=start)
        dst = out / f"{event}.parquet"
        capture.write_parquet(dst)
        records[dst.name] = len(capture.batch)
    return records


def _source_lines(source: Source, used_for: str) -> list[str]:
    return [
        f"* {source.folder}: {source.what}",
        f"    repository: {source.repo}, commit {source.commit}",
        f"    paths: {source.paths}",
        f"    licence: {source.licence}",
        f"    used for: {used_for}",
    ]


def notice_text(records: dict[str, int], events: Sequence[str]) -> str:
    """The NOTICE file: what the sample is, its sources and licences, and every rule."""
    lines = [
        "kcap embedded sample data (src/kcap/sample/data)",
        "",
        "DERIVED DATA FOR TESTING AND DEMONSTRATION ONLY. Built by scripts/build_sample.py from",
        "public GitHub repositories copied on 2026-11-21 (../shared/real-data). The Kalshi price",
        "sources have no licence (default copyright, all rights with their authors): their",
        "PROVENANCE files allow internal testing and demonstration use only. Do not use this",
        "sample for anything else, and do not redistribute it apart from kcap's own tests/demos.",
        "These captures are NOT raw Kalshi WebSocket frames: every record carries",
        f"origin=derived:{BBO.folder} and each file begins with a header naming its source.",
        "",
        "Events: " + ", ".join(events),
        "",
        "Files (records per capture):",
        *[f"  {name}: {count} records" for name, count in sorted(records.items())],
        "  markets.csv, forecasts.csv, outcomes.csv",
        "",
        "Sources:",
        *_source_lines(BBO, "the captures (prices and times)"),
        *_source_lines(HEADLESS_BOOKS, "the size rule (sizes at the best bid)"),
        *_source_lines(SAMEERES, "markets.csv; outcomes.csv (GHCND TMAX)"),
        *_source_lines(OPEN_METEO, "forecasts.csv"),
        *_source_lines(MOSTLYRIGHT, "outcomes.csv (NWS CLI, where it covers the date)"),
        *_source_lines(ERICZHANG_CLI, "outcomes.csv (NWS CLI, where it covers the date)"),
        "",
        "Rules:",
        f"* captures: {BBO_RULE}.",
        f"* window: from {sample.WINDOW_START_HOUR:02d}:00 America/New_York on the observation day "
        "to the end of the log; earlier rows only build the books, sent as one snapshot per "
        "market at the window start.",
        f"* time: {TIMEZONE_RULE}.",
        f"* sizes: {SIZE_RULE}.",
        "  table, one bucket a line: [low_cents, high_cents, size_cx, observations]",
        *[f"    {list(bucket)}" for bucket in BEST_BID_SIZES],
        f"* markets.csv: copied from kalshi_markets.csv; {tables.OPEN_RULE} (not in the source).",
        "* forecasts.csv: known_from_ns = the source's known_from_ts (local 23:00 of the event day",
        "  minus 24 h x lead); lead_days worked out from it; value_f copied as written.",
        "* outcomes.csv: NWS CLI final high where a source has it, else NOAA GHCND TMAX for KNYC",
        "  rounded half up to whole degrees F; the source column says which.",
        "",
        'Open-Meteo forecasts: "Weather data by Open-Meteo.com" (CC-BY 4.0).',
    ]
    wrapped = [
        textwrap.fill(line, 96, subsequent_indent="  ")
        if line.startswith("* ") and len(line) > 96
        else line
        for line in lines
    ]
    return "\n".join(wrapped) + "\n"


def build(real_data: Path, out: Path, events: Sequence[str]) -> dict[str, int]:
    """Build the sample into ``out``; return each file's size in bytes.

    Raises:
        KcapError: a source problem, or a sample of :data:`MAX_BYTES` or more.
    """
    if not real_data.is_dir():
        raise KcapError(f"real data not found at {real_data} (pass --real-data)")
    out.mkdir(parents=True, exist_ok=True)
    for pattern in OUTPUTS:
        for stale in out.glob(pattern):
            stale.unlink()
    records = convert_events(real_data, out, events)
    tables.write_csv(
        tables.market_rows(real_data, events), tables.MARKET_COLUMNS, out / "markets.csv"
    )
    tables.write_csv(
        tables.forecast_rows(real_data, events), tables.FORECAST_COLUMNS, out / "forecasts.csv"
    )
    tables.write_csv(
        tables.outcome_rows(real_data, events), tables.OUTCOME_COLUMNS, out / "outcomes.csv"
    )
    (out / sample.NOTICE).write_text(notice_text(records, events), encoding="utf-8", newline="\n")
    sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    total = sum(sizes.values())
    if total >= MAX_BYTES:
        raise KcapError(
            f"the sample takes {total} bytes, expected under {MAX_BYTES}: drop an event"
        )
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    events = tuple(args.events or sample.EVENTS)
    try:
        sizes = build(args.real_data, args.out, events)
    except KcapError as exc:
        print(f"build_sample: {exc}", file=sys.stderr)
        return 1
    for name, size in sizes.items():
        print(f"{size:>10,}  {name}")
    print(f"{sum(sizes.values()):>10,}  total ({len(events)} events) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
