"""The compiled delta loop (``_fastpath.c``) against the pure-Python builder: the same books,
events, counts, seqs and return values on literal frames, on random capture streams and on the
embedded real sample. Skipped, with the reason, when the extension is not built."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frames import DOC_TRADE, DOC_UNSUBSCRIBED, delta, frame, snapshot
from kcap.book import BookBuilder, books_digest
from kcap.book import builder as builder_module
from kcap.fixedpoint import format_size
from kcap.replay.player import decoded_chunks
from kcap.replay.readers import read_capture
from kcap.sample import capture_paths
from kcap.schemas import wire
from kcap.schemas.wire import decode_frame
from streams import capture_stream

compiled = pytest.mark.skipif(
    not builder_module.FASTPATH.startswith("compiled"), reason=builder_module.FASTPATH
)
pytestmark = compiled

Records = tuple[list[str], list[str], list[wire.Message | None], list[int]]


def state(b: BookBuilder) -> dict[str, Any]:
    """Everything a builder holds that a caller can see, and its seqs."""
    return {
        "counts": b.counts,
        "events": b.events,
        "books": {
            t: (
                book.valid,
                book.yes,
                book.no,
                book.updated_ns,
                None if book.stream is None else (book.stream.conn, book.stream.sid),
            )
            for t, book in b.books.items()
        },
        "streams": {k: (s.last_seq, sorted(s.markets)) for k, s in b._streams.items()},
    }


def run_both(records: Records, chunk: int) -> tuple[BookBuilder, BookBuilder, list[Any]]:
    kinds, conns, messages, times = records
    fast, pure = BookBuilder(), BookBuilder(compiled=False)
    returned = []
    for i in range(0, len(kinds), chunk):
        cut = slice(i, i + chunk)
        got = [
            b.apply_records(kinds[cut], conns[cut], messages[cut], times[cut]) for b in (fast, pure)
        ]
        returned.append([None if g is None else g.market_ticker for g in got])
    return fast, pure, returned


def records_of(rows: list[tuple[str, str, bytes | None]]) -> Records:
    return (
        [k for k, _, _ in rows],
        [c for _, c, _ in rows],
        [None if f is None else decode_frame(f) for _, _, f in rows],
        [1_000 + i for i in range(len(rows))],
    )


def test_literal_frames_take_every_exit_of_the_compiled_loop() -> None:
    # each row after the snapshots makes the C loop stop (or not) for another reason
    rows: list[tuple[str, str, bytes | None]] = [
        ("frame", "c", snapshot("A", [["0.3000", "1.00"]], [["0.6000", "2.00"]], seq=1)),
        ("frame", "c", snapshot("B", [["0.1000", "5.00"]], [], seq=2)),
        ("frame", "c", delta("A", "yes", "0.3000", "1.00", seq=3)),  # plain
        ("frame", "c", delta("B", "no", "0.8900", "3.00", seq=4)),  # new level, other book
        ("frame", "c", delta("A", "yes", "0.3123", "1.50", seq=5)),  # a price text not cached
        ("frame", "c", delta("A", "yes", "0.3000", "-2.00", seq=6)),  # level goes to zero
        ("frame", "c", delta("A", "no", "0.6000", "-3.00", seq=7)),  # level goes negative
        ("frame", "c", delta("A", "no", "0.7000", "-1.00", seq=8)),  # missing level shrinks
        ("frame", "c", DOC_TRADE),
        ("frame", "c", delta("A", "yes", "0.3123", "1.50", seq=10)),  # a gap (9 is lost)
        ("frame", "c", delta("Z", "yes", "0.3000", "1.00", seq=11)),  # no snapshot yet
        ("frame", "d", delta("B", "yes", "0.1000", "1.00", sid=1, seq=1)),  # another connection
        ("frame", "c", snapshot("A", [["0.3000", "1.00"]], [], seq=12)),
        ("frame", "c", delta("A", "yes", "0.3000", "1.00", seq=12)),  # a duplicate seq
        ("frame", "c", b'{"type":"orderbook_del'),
        ("disconnect", "c", None),
        ("frame", "c", delta("A", "yes", "0.3000", "1.00", seq=13)),  # after the disconnect
    ]
    records = records_of(rows)
    for chunk in (1, 3, len(rows)):
        fast, pure, returned = run_both(records, chunk)
        assert state(fast) == state(pure)
        assert all(a == b for a, b in returned)
    fast, _, _ = run_both(records, len(rows))
    assert fast.counts["gaps"] == 2 and fast.counts["skipped_stale"] >= 2


def test_sizes_beyond_64_bits_fall_back_to_python_integers() -> None:
    huge = format_size(2**63 - 100)
    rows: list[tuple[str, str, bytes | None]] = [
        ("frame", "c", snapshot("A", [["0.3000", huge]], [], seq=1)),
        ("frame", "c", delta("A", "yes", "0.3000", huge, seq=2)),
        ("frame", "c", delta("A", "yes", "0.3000", "-" + huge, seq=3)),
    ]
    fast, pure, _ = run_both(records_of(rows), 3)
    assert state(fast) == state(pure)
    assert fast.books["A"].yes == {3000: 2**63 - 100}


def test_unsubscribed_and_legacy_deltas() -> None:
    legacy = frame(
        {
            "type": "orderbook_delta",
            "sid": 2,
            "seq": 4,
            "msg": {"market_ticker": "A", "side": "no", "price": 40, "delta": 3},
        }
    )
    rows: list[tuple[str, str, bytes | None]] = [
        ("frame", "c", snapshot("A", [], [["0.4000", "1.00"]], sid=2, seq=3)),
        ("frame", "c", legacy),
        ("frame", "c", delta("A", "no", "0.4000", "1.00", sid=2, seq=5)),
        ("frame", "c", DOC_UNSUBSCRIBED),
        ("frame", "c", delta("A", "no", "0.4000", "1.00", sid=2, seq=6)),
    ]
    fast, pure, _ = run_both(records_of(rows), 5)
    assert state(fast) == state(pure)
    assert not fast.books["A"].valid


@settings(max_examples=300, deadline=None)
@given(capture_stream(), st.integers(1, 40))
def test_compiled_and_pure_builders_agree_on_any_capture(
    rows: list[tuple[str, str, bytes | None]], chunk: int
) -> None:
    fast, pure, returned = run_both(records_of(rows), chunk)
    assert state(fast) == state(pure)
    assert all(a == b for a, b in returned)


def test_embedded_real_sample_builds_identical_books() -> None:
    fast, pure = BookBuilder(), BookBuilder(compiled=False)
    batches = [b for path in capture_paths() for b in read_capture(path)]
    for chunk, messages in decoded_chunks(batches):
        for b in (fast, pure):
            b.apply_records(chunk.kind, chunk.conn, messages, chunk.recv_ns)
    assert fast.counts["deltas"] > 50_000
    assert books_digest(fast.books) == books_digest(pure.books)
    assert state(fast) == state(pure)


def test_bad_arguments_are_rejected_with_what_was_expected() -> None:
    from kcap.book import _fastpath

    b = BookBuilder()
    with pytest.raises(ValueError, match="equal length"):
        _fastpath.apply_deltas(b._streams, b.books, {}, {}, ["c"], [], [], 0)
    with pytest.raises(ValueError, match="start"):
        _fastpath.apply_deltas(b._streams, b.books, {}, {}, [], [], [], 1)
    with pytest.raises(ValueError, match="equal length"):
        b.apply_records(["frame"], [], [], [])
    with pytest.raises(TypeError, match="slot market_ticker"):
        _fastpath.configure(wire.OrderbookDelta, wire.Trade, BookBuilder, BookBuilder)
    # a failed configure keeps the configuration that works
    test_literal_frames_take_every_exit_of_the_compiled_loop()


@pytest.mark.skipif(os.name != "posix", reason="environment handling differs")
def test_kcap_pure_python_forces_the_python_loop() -> None:
    code = "import kcap.book.builder as b; print(b.FASTPATH)"
    env = {**os.environ, "KCAP_PURE_PYTHON": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("pure Python (KCAP_PURE_PYTHON is set)")
