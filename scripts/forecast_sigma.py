#!/usr/bin/env python3
"""Recompute the forecast error sigma by lead used by ``KalshiWeather-v0`` (features.py).

The RMSE of the Open-Meteo Previous Runs daily-high forecasts (aninaga-openmeteo-prevrun-
forecasts) against NOAA GHCND TMAX rounded half up to whole degrees F (sameeres-kxhigh-candles-
ghcnd) at KNYC and KMDW, for event days 2025-10-01..2025-11-30: before every event of the
embedded sample (Dec 2025 - Jan 2026), so the sample's observations use no statistic of
their own period. The lead of each forecast is worked out from its known-from time, which the
source sets to 23:00 station-local time of the event day minus 24 h x lead.

Usage::

    python scripts/forecast_sigma.py [--real-data ../shared/real-data]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
from collections import defaultdict
from pathlib import Path

from kcap.convert import events as tables

ROOT = Path(__file__).resolve().parents[1]
STATIONS = {"KXHIGHNY": ("KNYC", "America/New_York"), "KXHIGHCHI": ("KMDW", "America/Chicago")}
FIRST, LAST = dt.date(2025, 10, 1), dt.date(2025, 11, 30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--real-data", type=Path, default=ROOT.parent / "shared" / "real-data")
    args = parser.parse_args()
    path = args.real_data / "aninaga-openmeteo-prevrun-forecasts" / "forecast_high_f.csv"
    highs = {s: tables.ghcnd_highs(args.real_data, s) for s, _ in STATIONS.values()}
    errors: dict[int, list[float]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            event = row["event_id"]
            series = event.split("-", 1)[0]
            if series not in STATIONS:
                continue
            day = tables.event_date(event)
            station, zone = STATIONS[series]
            high = highs[station].get(day)
            if not FIRST <= day <= LAST or high is None:
                continue
            known_ns = int(row["known_from_ts"]) * 1_000_000_000
            lead = round((tables.local_ns(day, 23, zone) - known_ns) / 86_400e9)
            errors[lead].append(high - float(row["value"]))
    for lead, errs in sorted(errors.items()):
        n = len(errs)
        mean = sum(errs) / n
        rmse = math.sqrt(sum(e * e for e in errs) / n)
        print(f"lead {lead}: n={n} mean error {mean:+.2f} F, RMSE (sigma) {rmse:.2f} F")


if __name__ == "__main__":
    main()
