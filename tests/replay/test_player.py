from __future__ import annotations

from pathlib import Path

import pytest

from captures import T0, S, write_scenario
from kcap.book import OrderBook
from kcap.capture.compact import compact_jsonl
from kcap.replay import player as player_module
from kcap.replay.player import MarketFilter, Player, ReplayConfig, decode_batch, decoded_chunks


class FakeClock:
    def __init__(self) -> None:
        self.now = 0
        self.slept: list[int] = []

    def now_ns(self) -> int:
        return self.now

    def sleep_ns(self, ns: int) -> None:
        self.slept.append(ns)
        self.now += ns


def test_max_and_record_by_record_agree(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    fast = Player(ReplayConfig([path])).run()
    changes: list[tuple[str, int]] = []
    slow = Player(
        ReplayConfig([path]), on_change=lambda b, t: changes.append((b.market_ticker, t))
    ).run()
    assert fast.digest == slow.digest
    assert fast.counts == slow.counts
    assert fast.records == slow.records == 13
    assert changes[0] == ("KXHIGHNY-25DEC20-B38.5", T0 + 1 * 60 * S)


def test_chunked_decode_and_apply_match_whole_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # chunks of 3 cut the 13-record scenario (snapshots, deltas, a gap, a disconnect) mid-stream
    path = write_scenario(tmp_path / "s.jsonl")
    whole = Player(ReplayConfig([path])).run()
    batches = list(Player(ReplayConfig([path])).batches())
    monkeypatch.setattr(player_module, "DECODE_CHUNK", 3)
    chunks = list(decoded_chunks(batches))
    assert [len(c) for c, _ in chunks] == [3, 3, 3, 3, 1]
    assert [r for c, _ in chunks for r in c.recv_ns] == [r for b in batches for r in b.recv_ns]
    assert [m for _, ms in chunks for m in ms] == [m for b in batches for m in decode_batch(b)]
    chunked = Player(ReplayConfig([path])).run()
    assert chunked.digest == whole.digest
    assert chunked.counts == whole.counts
    assert chunked.by_type == whole.by_type
    assert chunked.gaps == whole.gaps


def test_gap_stale_span_and_disconnect(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    player = Player(ReplayConfig([path]))
    res = player.run()
    assert [(g.expected, g.received) for g in res.gaps] == [(5, 6)]
    spans = {(s.market_ticker, s.reason): s for s in res.stale_spans}
    b385 = spans[("KXHIGHNY-25DEC20-B38.5", "gap")]
    assert (b385.start_ns, b385.end_ns) == (T0 + 5 * 60 * S, T0 + 6 * 60 * S)
    assert spans[("KXHIGHNY-25DEC20-B38.5", "disconnect")].end_ns is None
    books = player.builder.books
    assert not books["KXHIGHNY-25DEC20-B38.5"].valid and books["KXHIGHNY-25DEC20-B38.5"].yes == {}
    t36 = books["KXHIGHNY-25DEC20-T36"]
    assert t36.valid and t36.yes == {} and t36.no == {9600: 100}


def test_parquet_and_jsonl_replays_print_the_same_digest(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    parquet, _ = compact_jsonl(path)
    assert Player(ReplayConfig([path])).run().digest == Player(ReplayConfig([parquet])).run().digest


def test_window_to_and_from(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    early = Player(ReplayConfig([path], to_ns=T0 + 4 * 60 * S)).run()
    assert early.records == 6 and early.last_ns == T0 + 4 * 60 * S
    seen: list[int] = []
    late = Player(
        ReplayConfig([path], from_ns=T0 + 7 * 60 * S), on_change=lambda b, t: seen.append(t)
    ).run()
    assert min(seen) >= T0 + 7 * 60 * S
    assert (
        late.digest == Player(ReplayConfig([path])).run().digest
    )  # fast-forward kept the books right


def test_market_filter_limits_what_is_shown(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    seen: set[str] = set()

    def on_change(book: OrderBook, t: int) -> None:
        seen.add(book.market_ticker)

    res = Player(
        ReplayConfig([path], select=MarketFilter(markets=frozenset({"KXHIGHNY-25DEC20-T36"}))),
        on_change=on_change,
    ).run()
    assert res.markets == ["KXHIGHNY-25DEC20-T36"] and seen == {"KXHIGHNY-25DEC20-T36"}
    assert [g.markets for g in res.gaps] == [("KXHIGHNY-25DEC20-B38.5", "KXHIGHNY-25DEC20-T36")]
    assert res.counts["deltas"] == 4  # every record was still applied
    assert MarketFilter(series=frozenset({"KXHIGHNY"})).matches("KXHIGHNY-25DEC20-T36")
    assert MarketFilter(events=frozenset({"KXHIGHNY-25DEC20"})).matches("KXHIGHNY-25DEC20-T36")
    assert not MarketFilter(events=frozenset({"KXHIGHNY-25DEC2"})).matches("KXHIGHNY-25DEC20-T36")


def test_paced_replay_sleeps_scaled_and_capped(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    clock = FakeClock()
    Player(ReplayConfig([path], speed=60.0, max_gap_ns=30 * S), clock=clock).run()
    # 11 one-minute gaps after the first record, each capped to 30 s, at 60x -> 0.5 s each
    assert sum(clock.slept) == 11 * S // 2
    assert all(ns == S // 2 for ns in clock.slept)
