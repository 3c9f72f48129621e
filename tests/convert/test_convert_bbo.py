"""The best-bid log conversion on the real KXHIGHNY logs: every best bid replays exactly.

The expected rows are read here independently of :mod:`kcap.convert.bbo` (csv + zoneinfo),
so a mistake in the converter's reader or clock cannot hide itself.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import gzip
import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kcap.book import BookBuilder
from kcap.convert.bbo import convert_bbo_file, read_bbo_csv
from kcap.convert.events import event_date, local_ns
from kcap.convert.records import DerivedCapture
from kcap.convert.sizes import size_for_price
from kcap.errors import DataError
from kcap.fixedpoint import price_cc, size_cx
from kcap.replay.readers import RecordBatch, read_capture
from kcap.schemas import wire

BBO = "jetpackjules-kxhighny-bbo"
PACIFIC = ZoneInfo("America/Los_Angeles")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
NAIVE_EPOCH = dt.datetime(1970, 1, 1)
HOUR_NS = 3_600 * 10**9
FULL_FILE = "market_data_KXHIGHNY-25DEC20.csv.gz"

Row = tuple[int, str, int, int]


def expected_rows(path: Path) -> list[Row]:
    """(UTC ns, ticker, best YES cc, best NO cc) straight from the CSV, read as US/Pacific."""
    rows = []
    offsets: dict[str, dt.timedelta] = {}  # UTC offset per local hour (zoneinfo is slow per row)
    with gzip.open(path, "rt", newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader)[:4] == ["timestamp", "market_ticker", "best_yes_bid", "best_no_bid"]
        for ts, ticker, yes, no, *_ in reader:
            local = dt.datetime.fromisoformat(ts)
            offset = offsets.get(ts[:13])
            if offset is None:
                offset = offsets[ts[:13]] = local.replace(tzinfo=PACIFIC).utcoffset()  # type: ignore[assignment]
            ns = (local - NAIVE_EPOCH - offset) // dt.timedelta(microseconds=1) * 1_000  # type: ignore[operator]
            rows.append((ns, ticker, int(yes) * 100, int(no) * 100))
    return rows


def replay_mismatches(batch: RecordBatch, rows: list[Row]) -> list[str]:
    """Replay ``batch`` through the BookBuilder and compare each row's best bids at its time."""
    frames = [i for i, kind in enumerate(batch.kind) if kind == "frame"]
    messages = wire.decode_frames([bytes(batch.frame[i]) for i in frames])
    times = [batch.recv_ns[i] for i in frames]
    builder = BookBuilder()
    done = 0
    bad = []
    for ns, ticker, yes, no in rows:
        upto = bisect.bisect_right(times, ns, lo=done)
        if upto > done:
            builder.apply_records(
                ["frame"] * (upto - done), [batch.conn[0]] * (upto - done),
                messages[done:upto], times[done:upto],
            )  # fmt: skip
            done = upto
        book = builder.books.get(ticker)
        got = (
            (max(book.yes) if book.yes else 0, max(book.no) if book.no else 0, book.valid)
            if book is not None
            else None
        )
        if got != (yes, no, True):
            bad.append(f"{ticker} at {ns}: expected {(yes, no)}, replayed {got}")
    assert builder.counts["gaps"] == 0 and builder.counts["bad_levels"] == 0
    return bad


def bbo_files(real_data: Path) -> list[Path]:
    files = sorted((real_data / BBO).glob("market_data_KXHIGHNY-*.csv.gz"))
    assert len(files) == 23
    return files


def check_log(path: Path) -> tuple[str, int, int, list[str]]:
    """Convert one log and replay it: (file, source rows, converted rows, first mismatches)."""
    capture = convert_bbo_file(path)
    rows = expected_rows(path)
    return path.name, len(rows), capture.counts["rows"], replay_mismatches(capture.batch, rows)[:5]


@pytest.mark.slow
def test_all_23_logs_replay_every_best_bid_exactly(real_data: Path) -> None:
    # 910,778 rows: two processes (the machine has two cores) keep this near 10 s
    with ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        results = list(pool.map(check_log, bbo_files(real_data)))
    assert sum(r[1] for r in results) == 910_778  # the row count in PROVENANCE.md
    for name, source_rows, converted_rows, mismatches in results:
        assert (name, converted_rows, mismatches) == (name, source_rows, [])


def test_one_full_log_replays_exactly_from_its_parquet_file(
    real_data: Path, tmp_path: Path
) -> None:
    path = real_data / BBO / FULL_FILE
    capture = convert_bbo_file(path)
    dst = tmp_path / "KXHIGHNY-25DEC20.parquet"
    capture.write_parquet(dst)
    batches = list(read_capture(dst))
    batch = RecordBatch()
    for b in batches:
        for name in ("kind", "conn", "rec", "recv_ns", "mono_ns", "origin", "info", "frame"):
            getattr(batch, name).extend(getattr(b, name))
    assert batch.recv_ns == capture.batch.recv_ns
    assert replay_mismatches(batch, expected_rows(path)) == []


def test_frames_are_one_gap_free_sid_and_records_are_marked_derived(real_data: Path) -> None:
    capture = convert_bbo_file(real_data / BBO / FULL_FILE)
    batch = capture.batch
    assert batch.kind[0] == "header" and set(batch.kind[1:]) == {"frame"}
    assert set(batch.origin) == {"derived:jetpackjules-kxhighny-bbo"}
    assert set(batch.conn) == {"derived.bbo.KXHIGHNY-25DEC20"}
    assert batch.rec == list(range(len(batch)))
    assert batch.mono_ns == batch.recv_ns
    messages = wire.decode_frames([bytes(f) for f in batch.frame[1:]])
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1))  # type: ignore[union-attr]
    assert {m.sid for m in messages} == {1}  # type: ignore[union-attr]
    snapshots = [m for m in messages if isinstance(m, wire.OrderbookSnapshot)]
    assert len(snapshots) == 6
    for m in messages:
        if isinstance(m, wire.OrderbookDelta):
            assert m.msg.ts_ms is not None and m.msg.price_dollars and m.msg.delta_fp
    head = capture.header
    assert head["source"] == FULL_FILE
    assert head["provenance"]["commit"] == "37bb2a9abccc42b01ffd93ef977da8ddc9355ccd"
    assert head["timezone"] == "America/Los_Angeles"
    assert "size_rule" in head and "timezone_rule" in head and "derivation" in head


def test_every_added_level_has_the_size_rule_size(real_data: Path) -> None:
    capture = convert_bbo_file(real_data / BBO / "market_data_KXHIGHNY-25DEC27.csv.gz")
    added = 0
    for frame in capture.batch.frame[1:]:
        m = wire.decode_frame(bytes(frame))
        if isinstance(m, wire.OrderbookDelta) and m.msg.delta_fp and size_cx(m.msg.delta_fp) > 0:
            assert m.msg.price_dollars is not None
            assert size_cx(m.msg.delta_fp) == size_for_price(price_cc(m.msg.price_dollars))
            added += 1
    assert added > 1000


def test_a_window_starts_with_snapshots_and_then_matches_the_log(real_data: Path) -> None:
    path = real_data / BBO / "market_data_KXHIGHNY-25DEC08.csv.gz"
    start = local_ns(event_date("KXHIGHNY-25DEC08"), 7)
    windowed = convert_bbo_file(path, start_ns=start)
    full = convert_bbo_file(path)
    batch = windowed.batch
    assert batch.recv_ns[1:7] == [start] * 6
    assert windowed.header["window"]["start_ns"] == start
    rows = [r for r in expected_rows(path) if r[0] >= start]
    assert replay_mismatches(batch, rows) == []

    # from the window on, the deltas are the full conversion's (only seq differs)
    def tail(capture: DerivedCapture) -> list[tuple[int, object]]:
        out = []
        for t, f in zip(capture.batch.recv_ns[1:], capture.batch.frame[1:], strict=True):
            m = wire.decode_frame(bytes(f))
            if t >= start and isinstance(m, wire.OrderbookDelta):
                out.append((t, m.msg))
        return out

    assert tail(windowed) == tail(full)


def test_pacific_time_matches_kalshis_hourly_candles(real_data: Path) -> None:
    """The timezone evidence (see kcap.convert.bbo): candle closes agree at UTC-8, not at +-1 h."""
    path = real_data / BBO / FULL_FILE
    by_market: dict[str, list[Row]] = defaultdict(list)
    for row in expected_rows(path):
        by_market[row[1]].append(row)
    candles = real_data / "sameeres-kxhigh-candles-ghcnd" / "kxhigh_hourly_candles_merged.csv.gz"
    rates = {}
    for shift in (-1, 0, 1):
        hits = total = 0
        with gzip.open(candles, "rt", newline="") as fh:
            for c in csv.DictReader(fh):
                rows = by_market.get(c["market_ticker"])
                if not rows:
                    continue
                end = dt.datetime.fromisoformat(c["candle_ts"])
                t = (end - EPOCH) // dt.timedelta(microseconds=1) * 1_000 + shift * HOUR_NS
                i = bisect.bisect_right([r[0] for r in rows], t) - 1
                if i < 0 or t > rows[-1][0]:
                    continue
                total += 1
                yes_bid, yes_ask = rows[i][2] // 100, 100 - rows[i][3] // 100
                hits += (c["low"], c["high"]) == (f"{yes_bid}.0", f"{yes_ask}.0")
        rates[shift] = hits / total
    assert rates[0] > 0.95
    assert rates[-1] < 0.5 and rates[1] < 0.5


def test_the_converters_reader_agrees_with_the_plain_reading(real_data: Path) -> None:
    path = real_data / BBO / FULL_FILE
    rows = read_bbo_csv(path)
    assert [(r.recv_ns, r.market_ticker, r.yes_bid, r.no_bid) for r in rows] == expected_rows(path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("timestamp,ticker,yes,no\n", "expected columns"),
        ("2025-12-19T07:01:06.9,KXHIGHNY-25DEC20-T36,100,5\n", "whole cents 0..99"),
        ("2025-12-19T07:01:06.9,KXHIGHNY-25DEC20-T36,-1,5\n", "whole cents 0..99"),
        ("2025-12-19T07:01:06.9,KXHIGHNY-25DEC21-T36,1,5\n", "KXHIGHNY-25DEC20 market"),
        ("not a time,KXHIGHNY-25DEC20-T36,1,5\n", "ISO time"),
        ("2025-12-19T07:01:06+00:00,KXHIGHNY-25DEC20-T36,1,5\n", "naive local time"),
        (
            "2025-12-19T07:01:07,KXHIGHNY-25DEC20-T36,1,5\n2025-12-19T07:01:06,KXHIGHNY-25DEC20-T36,2,5\n",
            "times in order",
        ),
        ("2025-11-02T01:30:00,KXHIGHNY-25DEC20-T36,1,5\n", "ambiguous or skipped"),
    ],
)
def test_bad_logs_are_refused_with_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    header = "timestamp,market_ticker,best_yes_bid,best_no_bid,implied_no_ask,implied_yes_ask\n"
    text = body if body.startswith("timestamp") else header + body
    path = tmp_path / "market_data_KXHIGHNY-25DEC20.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as info:
        convert_bbo_file(path)
    assert str(path) in str(info.value)


def test_a_file_name_without_an_event_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("timestamp,market_ticker,best_yes_bid,best_no_bid\n")
    with pytest.raises(DataError, match="market_data_KXHIGHNY"):
        convert_bbo_file(path)
