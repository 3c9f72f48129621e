"""REST order books -> snapshot + deltas: every source book replays exactly at its capture time."""

from __future__ import annotations

import bisect
import gzip
import json
from decimal import Decimal
from pathlib import Path

import pytest

from kcap.book import BookBuilder
from kcap.convert.rest_books import convert_rest_file
from kcap.convert.sources import utc_iso_to_ns
from kcap.errors import DataError
from kcap.replay.readers import ReadProblem, RecordBatch
from kcap.schemas import wire

HEADLESS = "kalshi-headless-weather-books"
ERIC = "ericzhang-kxhighny-rest-orderbooks"
ERIC_FILE = "20260824T140008Z.jsonl"

Book = tuple[int, int, str, dict[int, int], dict[int, int]]


def ladder(pairs: list[list[str]] | None) -> dict[int, int]:
    return {int(Decimal(p) * 10_000): int(Decimal(s) * 100) for p, s in pairs or []}


def expected_books(path: Path) -> list[Book]:
    """(time ns, line, ticker, yes, no) of every line, read with json + Decimal, in time order."""
    opener = gzip.open if path.name.endswith(".gz") else open
    books = []
    with opener(path, "rt") as fh:
        for line_no, text in enumerate(fh, start=1):
            d = json.loads(text)
            book = d["raw_orderbook"] if "raw_orderbook" in d else d["payload"]["orderbook_fp"]
            when = d.get("captured_at") or d["fetched_at"]
            books.append(
                (
                    utc_iso_to_ns(when, ""),
                    line_no,
                    d["ticker"],
                    ladder(book.get("yes_dollars")),
                    ladder(book.get("no_dollars")),
                )
            )
    return sorted(books)


def replay_mismatches(batch: RecordBatch, books: list[Book]) -> list[str]:
    frames = [i for i, kind in enumerate(batch.kind) if kind == "frame"]
    messages = wire.decode_frames([bytes(batch.frame[i]) for i in frames])
    times = [batch.recv_ns[i] for i in frames]
    builder = BookBuilder()
    done = 0
    bad = []
    for ns, line, ticker, yes, no in books:
        upto = bisect.bisect_right(times, ns, lo=done)
        n = upto - done
        builder.apply_records(
            ["frame"] * n, [batch.conn[0]] * n, messages[done:upto], times[done:upto]
        )
        done = upto
        book = builder.books[ticker]
        if not book.valid or book.yes != yes or book.no != no:
            bad.append(f"line {line} {ticker}")
    assert done == len(times)
    assert builder.counts["gaps"] == 0 and builder.counts["audits"] == 0
    return bad


def rest_files(real_data: Path) -> list[Path]:
    files = sorted((real_data / HEADLESS).glob("weather_books_2*.jsonl.gz"))
    assert len(files) == 9
    return [*files, real_data / ERIC / ERIC_FILE]


@pytest.mark.slow
def test_every_rest_book_replays_exactly_at_its_capture_time(real_data: Path) -> None:
    total = 0
    for path in rest_files(real_data):
        problems: list[ReadProblem] = []
        capture = convert_rest_file(path, problems=problems)
        books = expected_books(path)
        assert problems == []
        assert capture.counts["books"] == len(books)
        assert replay_mismatches(capture.batch, books) == [], path.name
        total += len(books)
    assert total == 14_903 + 6


def test_rest_capture_is_one_gap_free_sid_marked_derived(real_data: Path) -> None:
    path = real_data / HEADLESS / "weather_books_2026-07-18.jsonl.gz"
    capture = convert_rest_file(path)
    batch = capture.batch
    assert set(batch.origin) == {"derived:kalshi-headless-weather-books"}
    assert capture.conn == "derived.rest.weather_books_2026-07-18"
    messages = wire.decode_frames([bytes(f) for f in batch.frame[1:]])
    assert [m.seq for m in messages] == list(range(1, len(messages) + 1))  # type: ignore[union-attr]
    # this file appends one capture out of time order: records are in time order anyway
    assert batch.recv_ns == sorted(batch.recv_ns)
    head = capture.header
    assert head["provenance"]["blob"] == "c91c6373fbc4cd121968b88af9846a33bc0e1806"
    assert "derivation" in head and head["source"] == path.name


def test_series_filter_keeps_one_series(real_data: Path) -> None:
    capture = convert_rest_file(
        real_data / HEADLESS / "weather_books_2026-07-20.jsonl.gz", series="KXHIGHNY"
    )
    tickers = {wire.decode_frame(bytes(f)).msg.market_ticker for f in capture.batch.frame[1:]}  # type: ignore[union-attr]
    assert tickers and all(t.startswith("KXHIGHNY-") for t in tickers)


def test_ericzhang_sample_becomes_six_snapshots(real_data: Path) -> None:
    capture = convert_rest_file(real_data / ERIC / ERIC_FILE)
    messages = wire.decode_frames([bytes(f) for f in capture.batch.frame[1:]])
    assert [type(m) for m in messages] == [wire.OrderbookSnapshot] * 6
    empty_yes = [m for m in messages if m.msg.yes_dollars_fp is None]  # type: ignore[union-attr]
    assert sorted(m.msg.market_ticker for m in empty_yes) == [
        "KXHIGHNY-26AUG24-B84.5",
        "KXHIGHNY-26AUG24-T85",
    ]  # type: ignore[union-attr]


def test_a_cut_gzip_file_is_reported_and_the_rest_converted(
    real_data: Path, tmp_path: Path
) -> None:
    src = real_data / HEADLESS / "weather_books_2026-07-23.jsonl.gz"
    cut = tmp_path / src.name
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    problems: list[ReadProblem] = []
    capture = convert_rest_file(cut, problems=problems)
    assert problems, "the cut must be reported"
    assert any("ends early" in p.message or "torn" in p.message for p in problems)
    books = expected_books(src)[: capture.counts["books"]]
    assert 0 < len(books) < len(expected_books(src))
    lines = {b[1] for b in books}
    assert lines == set(range(1, len(books) + 1))  # a prefix of the file survived
    assert replay_mismatches(capture.batch, books) == []


def test_torn_and_damaged_lines_are_reported_and_skipped(real_data: Path, tmp_path: Path) -> None:
    folder = tmp_path / ERIC
    folder.mkdir()
    lines = (real_data / ERIC / ERIC_FILE).read_text().splitlines(keepends=True)
    damaged = [*lines[:2], "{not json\n", *lines[3:5], lines[5][:100]]
    path = folder / ERIC_FILE
    path.write_text("".join(damaged))
    problems: list[ReadProblem] = []
    capture = convert_rest_file(path, problems=problems)
    assert [(p.line, p.message.split(",")[0]) for p in problems] == [
        (3, "damaged line"),
        (6, "torn last line"),
    ]
    assert capture.counts["books"] == 4


@pytest.mark.parametrize(
    ("ladder_json", "message"),
    [
        ('[["0.0200", "1.00"], ["0.0100", "1.00"]]', "ascending"),
        ('[["0.0100", "0.00"]]', "sizes > 0"),
        ('[["0.0100", "1.001"]]', "2 decimal places"),
    ],
)
def test_a_bad_ladder_is_refused_naming_file_and_line(
    tmp_path: Path, ladder_json: str, message: str
) -> None:
    path = tmp_path / "weather_books_2026-07-16.jsonl"
    path.write_text(
        '{"ticker": "T", "series": "S", "capture_id": "c", "captured_at": "2026-07-16T00:00:00Z",'
        f' "raw_orderbook": {{"yes_dollars": {ladder_json}, "no_dollars": []}}}}\n'
    )
    with pytest.raises(DataError, match=message) as info:
        convert_rest_file(path)
    assert f"{path}:1" in str(info.value)


def test_a_line_of_the_wrong_shape_or_an_unknown_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "weather_books_2026-07-16.jsonl"
    path.write_text('{"ticker": 5}\n')
    with pytest.raises(DataError, match="HeadlessLine"):
        convert_rest_file(path)
    other = tmp_path / "books.jsonl"
    other.write_text("")
    with pytest.raises(DataError, match="unknown file"):
        convert_rest_file(other)
