"""Applying records in one batch (the replay hot path) must equal applying them one by one,
also when other frames (trades, tickers, snapshots) sit between the deltas of one sid."""

from __future__ import annotations

from frames import DOC_TICKER, DOC_TRADE, delta, snapshot
from kcap.book import BookBuilder, books_digest
from kcap.schemas.wire import decode_frame


def both_ways(frames: list[bytes]) -> tuple[BookBuilder, BookBuilder]:
    messages = [decode_frame(f) for f in frames]
    n = len(messages)
    batch = BookBuilder()
    batch.apply_records(["frame"] * n, ["c"] * n, messages, list(range(n)))
    single = BookBuilder()
    for i, message in enumerate(messages):
        single.apply("c", message, i)
    return batch, single


def test_deltas_after_a_trade_on_the_same_sid_are_applied() -> None:
    frames = [
        snapshot("M", [["0.3000", "1.00"]], [], seq=1),
        delta("M", "yes", "0.3000", "1.00", seq=2),
        DOC_TRADE,
        delta("M", "yes", "0.3000", "1.00", seq=3),
        DOC_TICKER,
        delta("M", "yes", "0.3000", "1.00", seq=4),
    ]
    batch, single = both_ways(frames)
    assert batch.books["M"].yes == single.books["M"].yes == {3000: 400}
    assert batch.counts == single.counts and not batch.events[1:]


def test_snapshot_between_deltas_of_its_sid() -> None:
    frames = [
        snapshot("A", [["0.3000", "1.00"]], [], seq=1),
        delta("A", "yes", "0.3000", "1.00", seq=2),
        snapshot("B", [], [["0.6000", "2.00"]], seq=3),
        delta("A", "yes", "0.3000", "1.00", seq=4),
        delta("B", "no", "0.6000", "1.00", seq=5),
    ]
    batch, single = both_ways(frames)
    assert books_digest(batch.books) == books_digest(single.books)
    assert batch.counts["gaps"] == 0 and batch.books["B"].no == {6000: 300}
