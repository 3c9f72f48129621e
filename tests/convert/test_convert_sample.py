"""The embedded sample: present, small, derived, and it replays into valid books (no ../shared)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from kcap import sample
from kcap.book import BookBuilder
from kcap.replay.merge import merge_batches
from kcap.replay.readers import parquet_metadata, read_capture
from kcap.schemas import wire

MAX_BYTES = 3_000_000


def read_table(name: str) -> list[dict[str, str]]:
    with (sample.directory() / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_sample_has_five_or_more_kxhighny_events_under_3_mb() -> None:
    paths = sample.capture_paths()
    assert [p.stem for p in paths] == sorted(sample.EVENTS)
    assert len(paths) >= 5 and all(p.stem.startswith("KXHIGHNY-") for p in paths)
    total = sum(p.stat().st_size for p in sample.directory().iterdir() if p.is_file())
    assert total < MAX_BYTES
    for name in (sample.MARKETS_CSV, sample.FORECASTS_CSV, sample.OUTCOMES_CSV, sample.NOTICE):
        assert (sample.directory() / name).is_file()


def test_every_record_is_marked_derived_with_a_header_naming_its_source() -> None:
    for path in sample.capture_paths():
        footer = parquet_metadata(path)
        assert footer["origin"] == "derived:jetpackjules-kxhighny-bbo"
        batches = list(read_capture(path))
        assert batches[0].kind[0] == "header"
        head = batches[0].info[0]
        assert head is not None
        assert head["source"] == f"market_data_{path.stem}.csv.gz"
        assert head["event_ticker"] == path.stem
        assert {"provenance", "derivation", "size_rule", "timezone_rule", "window"} <= set(head)
        for batch in batches:
            assert set(batch.origin) == {"derived:jetpackjules-kxhighny-bbo"}
            assert set(batch.conn) == {f"derived.bbo.{path.stem}"}


def test_replaying_the_sample_gives_valid_books_for_every_market() -> None:
    paths = sample.capture_paths()
    builder = BookBuilder()
    types: Counter[str] = Counter()
    for batch in merge_batches([read_capture(p) for p in paths]):
        messages = [None if f is None else wire.decode_frame(bytes(f)) for f in batch.frame]
        types.update(wire.message_type(m) for m in messages if m is not None)
        builder.apply_records(batch.kind, batch.conn, messages, batch.recv_ns)
    markets = {row["ticker"] for row in read_table(sample.MARKETS_CSV)}
    assert set(builder.books) == markets
    assert len(markets) == 6 * len(paths)
    assert all(book.valid for book in builder.books.values())
    assert types["orderbook_snapshot"] == len(markets)
    assert types["orderbook_delta"] > 10_000
    counts = builder.counts
    assert counts["gaps"] == counts["bad_levels"] == counts["skipped_stale"] == 0
    assert not [e for e in builder.events if type(e).__name__ == "NegativeLevel"]


def test_tables_cover_every_sample_event() -> None:
    events = set(sample.EVENTS)
    assert {r["event_ticker"] for r in read_table(sample.MARKETS_CSV)} == events
    forecasts = read_table(sample.FORECASTS_CSV)
    assert Counter(r["event_ticker"] for r in forecasts) == dict.fromkeys(events, 2)
    assert {r["lead_days"] for r in forecasts} == {"1", "2"}
    outcomes = read_table(sample.OUTCOMES_CSV)
    assert {r["event_ticker"] for r in outcomes} == events
    assert all(r["high_f"].isdigit() and r["source"] for r in outcomes)


def test_the_outcome_bracket_is_the_top_priced_market_at_the_end() -> None:
    highs = {r["event_ticker"]: int(r["high_f"]) for r in read_table(sample.OUTCOMES_CSV)}
    markets = read_table(sample.MARKETS_CSV)
    for path in sample.capture_paths():
        builder = BookBuilder()
        for batch in read_capture(path):
            messages = [None if f is None else wire.decode_frame(bytes(f)) for f in batch.frame]
            builder.apply_records(batch.kind, batch.conn, messages, batch.recv_ns)
        top = max(builder.books.values(), key=lambda b: max(b.yes, default=0)).market_ticker
        high = highs[path.stem]
        won = []
        for m in markets:
            if m["event_ticker"] != path.stem:
                continue
            low = int(m["floor_strike"]) if m["floor_strike"] else None
            cap = int(m["cap_strike"]) if m["cap_strike"] else None
            if m["strike_type"] == "between":
                hit = low is not None and cap is not None and low <= high <= cap
            elif m["strike_type"] == "less":
                hit = cap is not None and high < cap
            else:
                hit = low is not None and high > low
            if hit:
                won.append(m["ticker"])
        assert won == [top], path.stem


def test_notice_names_every_source_and_says_what_use_is_allowed() -> None:
    text = (sample.directory() / sample.NOTICE).read_text(encoding="utf-8")
    for needle in (
        "TESTING AND DEMONSTRATION ONLY",
        "NOT raw Kalshi WebSocket frames",
        "github.com/Jetpackjules/Kalshi-Trader",
        "37bb2a9abccc42b01ffd93ef977da8ddc9355ccd",
        "github.com/rgillon10-pixel/kalshi-headless",
        "github.com/sameeres/kalshi-weather-bot",
        "github.com/aninaga/kalshi",
        "Weather data by Open-Meteo.com",
        "America/Los_Angeles",
    ):
        assert needle in text


def test_directory_is_a_real_path_inside_the_package() -> None:
    directory = sample.directory()
    assert isinstance(directory, Path)
    assert directory.parent == Path(sample.__file__).parent
