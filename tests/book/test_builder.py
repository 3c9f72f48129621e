from __future__ import annotations

from frames import (
    DOC_DELTA,
    DOC_FED_DELTA,
    DOC_FED_DELTA_LEGACY,
    DOC_FED_SNAPSHOT,
    DOC_FED_SNAPSHOT_LEGACY,
    DOC_OK_UPDATE,
    DOC_SNAPSHOT,
    REAL_NO_LEVELS,
    REAL_YES_LEVELS,
    delta,
    frame,
    snapshot,
)
from kcap.book import (
    Audit,
    BookBuilder,
    Crossed,
    Gap,
    Level,
    NegativeLevel,
    Stale,
    Valid,
    books_digest,
)
from kcap.schemas.wire import decode_frame

T = "KXHIGHNY-26NOV21-B53.5"


def feed(builder: BookBuilder, *frames: bytes, conn: str = "c.1", t0: int = 1_000) -> None:
    for i, f in enumerate(frames):
        builder.apply(conn, decode_frame(f), t0 + i)


def test_doc_snapshot_builds_both_ladders_and_reciprocal_asks() -> None:
    b = BookBuilder()
    feed(b, DOC_SNAPSHOT)
    book = b.books[T]
    assert book.valid
    assert book.yes == {2700: 61400, 3800: 100}
    assert book.no == {4000: 61640, 5900: 600}
    top = book.top()
    assert top.yes_bid == Level(3800, 100)
    assert top.yes_ask == Level(10_000 - 5900, 600)  # YES ask 0.41 = 1 - best NO bid 0.59
    assert top.no_bid == Level(5900, 600)
    assert top.no_ask == Level(10_000 - 3800, 100)
    assert book.bids("yes") == [Level(3800, 100), Level(2700, 61400)]
    assert book.asks("yes", 1) == [Level(4100, 600)]
    assert not book.is_crossed()


def test_doc_delta_removes_the_level_it_empties() -> None:
    b = BookBuilder()
    feed(b, DOC_SNAPSHOT, DOC_DELTA)
    book = b.books[T]
    assert book.yes == {2700: 61400}
    assert book.best_yes_bid() == Level(2700, 61400)
    assert book.updated_ns == 1_001
    assert b.counts["deltas"] == 1
    assert b.take_events() == [Valid(1_000, T)]


def test_three_decimal_price_and_negative_delta_on_missing_level_is_reported() -> None:
    b = BookBuilder()
    feed(b, DOC_FED_SNAPSHOT, DOC_FED_DELTA)
    book = b.books["FED-23DEC-T3.00"]
    assert 9600 not in book.yes  # "0.960" parsed as 9600 cc; the level never existed
    events = b.take_events()
    assert NegativeLevel(1_001, "FED-23DEC-T3.00", "yes", 9600, -5400) in events


def test_legacy_and_current_encodings_give_the_same_book() -> None:
    current, legacy = BookBuilder(), BookBuilder()
    feed(current, DOC_FED_SNAPSHOT, DOC_FED_DELTA)
    feed(legacy, DOC_FED_SNAPSHOT_LEGACY, DOC_FED_DELTA_LEGACY)
    assert current.books["FED-23DEC-T3.00"].levels() == legacy.books["FED-23DEC-T3.00"].levels()
    assert books_digest(current.books) == books_digest(legacy.books)


def test_integer_cent_legacy_fields_alone_decode() -> None:
    b = BookBuilder()
    feed(
        b,
        frame(
            {
                "type": "orderbook_snapshot",
                "sid": 3,
                "seq": 1,
                "msg": {"market_ticker": "M", "yes": [[8, 300]], "no": [[54, 20]]},
            }
        ),
        frame(
            {
                "type": "orderbook_delta",
                "sid": 3,
                "seq": 2,
                "msg": {"market_ticker": "M", "price": 9, "delta": 5, "side": "yes"},
            }
        ),
    )
    assert b.books["M"].yes == {800: 30_000, 900: 500}
    assert b.books["M"].no == {5400: 2_000}


def test_sub_cent_prices_and_fractional_sizes_stay_exact() -> None:
    b = BookBuilder()
    feed(
        b,
        snapshot("M", REAL_YES_LEVELS, REAL_NO_LEVELS),
        delta("M", "yes", "0.0110", "91.74", seq=2),
        delta("M", "no", "0.7600", "-0.10", seq=3),
        delta("M", "no", "0.8000", "-6.35", seq=4),
    )
    book = b.books["M"]
    assert book.yes[110] == 9174
    assert book.no[7600] == 5000
    assert 8000 not in book.no
    assert book.best_yes_ask() == Level(10_000 - 9500, 500)
    assert book.best_yes_bid() == Level(300, 1702)


def test_gap_makes_every_book_of_the_sid_stale_until_its_own_snapshot() -> None:
    b = BookBuilder()
    feed(
        b,
        snapshot("A", [["0.1000", "1.00"]], [], seq=1),
        snapshot("B", [["0.2000", "1.00"]], [], seq=2),
        delta("A", "yes", "0.1100", "5.00", seq=4),  # seq 3 lost
        delta("B", "yes", "0.2100", "5.00", seq=5),
        snapshot("A", [["0.1000", "1.00"], ["0.1100", "9.00"]], [], seq=6),
        delta("A", "yes", "0.1200", "1.00", seq=7),
        delta("B", "yes", "0.2200", "1.00", seq=8),
    )
    events = b.take_events()
    gap = next(e for e in events if isinstance(e, Gap))
    assert (gap.sid, gap.expected, gap.received, gap.reason) == (1, 3, 4, "gap")
    assert gap.markets == ("A", "B")
    assert Stale(1_002, "A", "gap") in events and Stale(1_002, "B", "gap") in events
    assert b.books["A"].valid and b.books["A"].yes == {1000: 100, 1100: 900, 1200: 100}
    assert not b.books["B"].valid and b.books["B"].yes == {2000: 100}  # nothing patched
    assert b.counts["skipped_stale"] == 3
    assert not any(isinstance(e, Audit) for e in events)  # A was stale: no audit


def test_duplicate_and_regression_are_sequence_breaks_too() -> None:
    for seqs, reason in (((1, 2, 2), "duplicate"), ((1, 3, 2), "regression")):
        b = BookBuilder()
        feed(
            b,
            snapshot("A", [["0.1000", "1.00"]], [], seq=seqs[0]),
            delta("A", "yes", "0.1000", "1.00", seq=seqs[1]),
            delta("A", "yes", "0.1000", "1.00", seq=seqs[2]),
        )
        gaps = [e for e in b.take_events() if isinstance(e, Gap)]
        assert gaps[-1].reason == reason
        assert not b.books["A"].valid


def test_snapshot_audit_reports_every_differing_level() -> None:
    b = BookBuilder()
    feed(
        b,
        snapshot("A", [["0.1000", "1.00"], ["0.1500", "2.00"]], [["0.8000", "3.00"]], seq=1),
        delta("A", "yes", "0.1500", "-2.00", seq=2),
        snapshot("A", [["0.1000", "1.00"]], [["0.8000", "3.00"]], seq=3),  # agrees
        snapshot("A", [["0.1000", "4.00"], ["0.1200", "1.00"]], [], seq=4),  # disagrees
    )
    audits = [e for e in b.take_events() if isinstance(e, Audit)]
    assert [a.matched for a in audits] == [True, False]
    assert audits[1].differences == (
        ("yes", 1000, 100, 400),
        ("yes", 1200, 0, 100),
        ("no", 8000, 300, 0),
    )
    assert b.counts["audit_mismatches"] == 1
    assert b.books["A"].yes == {1000: 400, 1200: 100}  # the snapshot wins


def test_disconnect_resets_only_that_connections_books() -> None:
    b = BookBuilder()
    feed(b, snapshot("A", [["0.1000", "1.00"]], [], seq=1), conn="c.1")
    feed(b, snapshot("B", [["0.1000", "1.00"]], [], seq=1), conn="c.2")
    b.apply_records(["disconnect"], ["c.1"], [None], [5_000])
    assert not b.books["A"].valid and b.books["A"].yes == {}
    assert b.books["B"].valid
    # sids restart on reconnect: the new connection's sid 1 starts a fresh sequence
    feed(
        b,
        snapshot("A", [["0.3000", "2.00"]], [], seq=1),
        delta("A", "yes", "0.3000", "1.00", seq=2),
        conn="c.3",
    )
    assert b.books["A"].valid and b.books["A"].yes == {3000: 300}
    assert not any(isinstance(e, Gap) for e in b.take_events())


def test_a_second_stream_cannot_double_apply_deltas() -> None:
    b = BookBuilder()
    feed(b, snapshot("A", [["0.1000", "1.00"]], [], seq=1), conn="c.1")
    feed(b, delta("A", "yes", "0.1000", "1.00", seq=2), conn="c.2")
    assert b.books["A"].yes == {1000: 100}
    assert b.counts["skipped_foreign"] == 1


def test_delta_before_any_snapshot_is_not_applied() -> None:
    b = BookBuilder()
    feed(b, delta("A", "yes", "0.1000", "1.00", seq=1), delta("A", "yes", "0.1000", "1.00", seq=2))
    assert not b.books["A"].valid and b.books["A"].yes == {}
    assert [e for e in b.take_events() if isinstance(e, Stale)] == [
        Stale(1_000, "A", "delta_before_snapshot")
    ]
    assert b.counts["skipped_stale"] == 2


def test_crossed_book_is_detected() -> None:
    b = BookBuilder()
    feed(b, snapshot("A", [["0.6000", "1.00"]], [["0.4000", "1.00"]]))
    assert b.books["A"].is_crossed()
    assert Crossed(1_000, "A", 6000, 4000) in b.take_events()


def test_unsubscribe_and_removed_markets_go_stale() -> None:
    b = BookBuilder()
    feed(
        b,
        snapshot("MARKET-1", [["0.1000", "1.00"]], [], sid=456, seq=220),
        snapshot("MARKET-9", [["0.1000", "1.00"]], [], sid=456, seq=221),
        DOC_OK_UPDATE,
    )
    assert b.books["MARKET-1"].valid
    assert not b.books["MARKET-9"].valid
    feed(b, frame({"type": "unsubscribed", "sid": 456, "seq": 223}))
    assert not b.books["MARKET-1"].valid


def test_malformed_frames_are_counted_not_fatal() -> None:
    b = BookBuilder()
    feed(b, b'{"type":"orderbook_del', snapshot("A", [["0.1000", "1.00"]], []))
    assert b.counts["malformed"] == 1 and b.books["A"].valid


def test_bad_price_in_a_delta_makes_the_book_stale() -> None:
    b = BookBuilder()
    feed(b, snapshot("A", [["0.1000", "1.00"]], []), delta("A", "yes", "0.12345", "1.00", seq=2))
    assert not b.books["A"].valid
    assert b.counts["bad_levels"] == 1


def test_digest_is_deterministic_and_sensitive() -> None:
    def run(size: str) -> str:
        b = BookBuilder()
        feed(
            b,
            snapshot("A", REAL_YES_LEVELS, REAL_NO_LEVELS),
            delta("A", "yes", "0.0200", size, seq=2),
        )
        return books_digest(b.books)

    assert run("1.00") == run("1.00")
    assert run("1.00") != run("1.01")
