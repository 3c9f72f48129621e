"""Frames, derived connections and the best-bid rule on literal input (no real data needed)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcap.book import BookBuilder
from kcap.convert.bbo import BboRow, bbo_to_connection, move_best
from kcap.convert.frames import delta_frame, ladder_changes, snapshot_frame
from kcap.convert.records import DerivedConnection
from kcap.errors import DataError
from kcap.replay.readers import read_capture
from kcap.schemas import wire


def test_delta_frame_is_kalshis_current_format_byte_for_byte() -> None:
    frame = delta_frame(1, 7, "KXHIGHNY-25DEC20-B38.5", "yes", 3800, -100, 1766156467123)
    assert frame == (
        b'{"type":"orderbook_delta","sid":1,"seq":7,"msg":{"market_ticker":"KXHIGHNY-25DEC20-B38.5",'
        b'"price_dollars":"0.3800","delta_fp":"-1.00","side":"yes","ts_ms":1766156467123}}'
    )
    # the template gives exactly what a JSON encoder gives
    assert frame == msgspec.json.encode(msgspec.json.decode(frame))


def test_delta_frame_escapes_the_ticker_and_refuses_a_bad_side() -> None:
    frame = delta_frame(1, 1, 'A"B', "no", 100, 1, 0)
    assert msgspec.json.decode(frame)["msg"]["market_ticker"] == 'A"B'
    with pytest.raises(ValueError, match="side"):
        delta_frame(1, 1, "A", "maybe", 100, 1, 0)  # type: ignore[arg-type]


def test_snapshot_frame_is_ascending_best_last_and_omits_an_empty_side() -> None:
    frame = snapshot_frame(1, 1, "T", {3100: 1000, 900: 1702}, {})
    assert frame == (
        b'{"type":"orderbook_snapshot","sid":1,"seq":1,"msg":{"market_ticker":"T",'
        b'"yes_dollars_fp":[["0.0900","17.02"],["0.3100","10.00"]]}}'
    )
    decoded = wire.decode_frame(frame)
    assert isinstance(decoded, wire.OrderbookSnapshot)
    assert decoded.msg.no_dollars_fp is None


def test_ladder_changes_turn_one_ladder_into_another_in_price_order() -> None:
    old = {100: 500, 200: 300, 300: 1}
    new = {200: 300, 300: 4, 400: 7}
    assert ladder_changes(old, new) == [(100, -500), (300, 3), (400, 7)]
    assert ladder_changes(new, new) == []


def test_move_best_up_down_and_empty() -> None:
    ladder: dict[int, int] = {3000: 10}
    assert move_best(ladder, 4000, lambda p: p // 100) == [(4000, 40)]
    assert move_best(ladder, 3500, lambda p: 1) == [(4000, -40), (3500, 1)]
    assert ladder == {3000: 10, 3500: 1}
    assert move_best(ladder, 3000, lambda p: 99) == [(3500, -1)]  # 30c is there: not re-added
    assert move_best(ladder, 0, lambda p: 99) == [(3000, -10)]
    assert ladder == {}


def test_derived_connection_numbers_frames_and_refuses_time_going_back() -> None:
    conn = DerivedConnection("derived.test.x", "derived:test")
    conn.snapshot(10, "T", {100: 1}, {})
    conn.delta(20, "T", "yes", 200, 5)
    capture = conn.finish({"source": "x.csv"})
    batch = capture.batch
    assert batch.kind == ["header", "frame", "frame"]
    assert batch.rec == [0, 1, 2]
    assert batch.recv_ns == batch.mono_ns == [10, 10, 20]
    assert set(batch.origin) == {"derived:test"}
    assert capture.header["format"] == "kcap-capture"
    assert capture.header["source"] == "x.csv"
    assert [msgspec.json.decode(f)["seq"] for f in batch.frame[1:]] == [1, 2]
    with pytest.raises(DataError, match="expected times in order"):
        conn.delta(5, "T", "yes", 200, 5)


def test_jsonl_and_parquet_read_back_the_same_records(tmp_path: Path) -> None:
    conn = DerivedConnection("derived.test.x", "derived:test")
    conn.snapshot(10, "T", {100: 1}, {9900: 250})
    conn.delta(20, "T", "no", 9900, -250)
    capture = conn.finish({"source": "x.csv"})
    jsonl = capture.write_jsonl(tmp_path / "x.jsonl")
    capture.write_parquet(tmp_path / "x.parquet")
    a = next(iter(read_capture(jsonl)))
    b = next(iter(read_capture(tmp_path / "x.parquet")))
    for got in (a, b):
        assert got.kind == capture.batch.kind
        assert got.recv_ns == capture.batch.recv_ns
        assert got.origin == capture.batch.origin
        assert [None if f is None else bytes(f) for f in got.frame] == capture.batch.frame
        assert got.info[0] == capture.header


def _best(ladder: dict[int, int]) -> int:
    return max(ladder) if ladder else 0


cents = st.integers(min_value=0, max_value=99).map(lambda c: c * 100)
rows_strategy = st.lists(
    st.tuples(st.sampled_from(["M1", "M2", "M3"]), cents, cents), min_size=1, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(rows_strategy)
def test_every_best_bid_path_replays_exactly(raw: list[tuple[str, int, int]]) -> None:
    rows = [BboRow(1_000 * (i + 1), m, y, n, i + 2) for i, (m, y, n) in enumerate(raw)]
    conn = DerivedConnection("derived.test.p", "derived:test")
    bbo_to_connection(rows, conn, lambda price: 100 + price // 100)
    batch = conn.finish({}).batch
    builder = BookBuilder()
    j = 1
    for row in rows:
        while j < len(batch) and batch.recv_ns[j] <= row.recv_ns:
            builder.apply(batch.conn[j], wire.decode_frame(batch.frame[j]), batch.recv_ns[j])
            j += 1
        book = builder.books[row.market_ticker]
        assert book.valid
        assert (_best(book.yes), _best(book.no)) == (row.yes_bid, row.no_bid)
        assert all(size > 0 for size in (*book.yes.values(), *book.no.values()))
    assert builder.counts["gaps"] == 0
    assert not any(type(e).__name__ == "NegativeLevel" for e in builder.events)


@settings(max_examples=100, deadline=None)
@given(rows_strategy, st.integers(min_value=0, max_value=70_000))
def test_a_window_gives_the_same_books_as_the_full_conversion(
    raw: list[tuple[str, int, int]], start: int
) -> None:
    rows = [BboRow(1_000 * (i + 1), m, y, n, i + 2) for i, (m, y, n) in enumerate(raw)]
    books = []
    for start_ns in (None, start):
        conn = DerivedConnection("derived.test.w", "derived:test")
        bbo_to_connection(rows, conn, lambda price: 100 + price // 100, start_ns=start_ns)
        batch = conn.finish({}).batch
        builder = BookBuilder()
        for j in range(1, len(batch)):
            builder.apply(batch.conn[j], wire.decode_frame(batch.frame[j]), batch.recv_ns[j])
        books.append({t: (b.yes, b.no) for t, b in builder.books.items()})
        if start_ns is not None:
            assert all(t >= start_ns for t in batch.recv_ns[1:])
            assert builder.counts["gaps"] == 0
    assert books[0] == books[1]
