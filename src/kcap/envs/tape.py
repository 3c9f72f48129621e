"""The book tape: every bracket's top-of-book history, recorded once from a replay.

The captures go through kcap's one replay path (:class:`kcap.replay.player.Player` readers and
time-ordered merge, the live decoder, :class:`kcap.book.BookBuilder`). Each time a tracked
market's book changes (a snapshot or delta applied, or the book turning stale or valid), its
top ``depth`` levels of both bid ladders are recorded as a *state*, effective from the
change's receive time. The state in force at any time ``t`` is the last one recorded at or
before ``t``: exactly the book a replay stopped after the records with ``recv_ns <= t`` shows
(:meth:`EventTape.state_at`). Records that share a receive time are applied together.

Everything is integers (prices centi-cents, sizes centi-contracts, times Unix ns), kept in
numpy arrays so an episode indexes them instead of replaying.

The tape also keeps, per event, the time of the last record of every capture connection that
carried one of its markets (:attr:`EventTape.data_end_ns`): after it the data has nothing more
to say about the event (a best-bid log that stops mid-day, the last REST snapshot file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from kcap.book import OrderBook, Stale, Valid
from kcap.envs.data import Event
from kcap.replay.player import Player, ReplayConfig, decoded_chunks
from kcap.replay.readers import expand_paths

NO_BOOK = 0
"""State id 0: no book yet (empty and not valid)."""


@dataclass(frozen=True)
class EventTape:
    """The recorded book states of one event's brackets.

    States are rows of the ``yes_*``/``no_*`` arrays (bids, best first, zero-padded to
    ``depth`` columns); state 0 is "no book". For bracket ``b``, ``change_ns[b][i]`` is when
    state ``state_id[b][i]`` took effect.

    Attributes:
        event: the event.
        yes_px, no_px: int64 ``(states, depth)`` bid prices, centi-cents, best first, 0 = none.
        yes_sz, no_sz: int64 ``(states, depth)`` sizes at those prices, centi-contracts.
        valid: bool ``(states,)``: the builder's validity flag (follows a snapshot, no break).
        updated_ns: int64 ``(states,)``: receive time of the book's last change.
        change_ns: per bracket, int64 ascending effective times.
        state_id: per bracket, int64 state ids (same length as ``change_ns``).
        data_end_ns: last record time of the connections that carried the event; 0 if none.
    """

    event: Event
    yes_px: npt.NDArray[np.int64]
    yes_sz: npt.NDArray[np.int64]
    no_px: npt.NDArray[np.int64]
    no_sz: npt.NDArray[np.int64]
    valid: npt.NDArray[np.bool_]
    updated_ns: npt.NDArray[np.int64]
    change_ns: tuple[npt.NDArray[np.int64], ...]
    state_id: tuple[npt.NDArray[np.int64], ...]
    data_end_ns: int

    @property
    def first_ns(self) -> list[int | None]:
        """Per bracket, the time its first book took effect (None: never)."""
        return [int(c[0]) if len(c) else None for c in self.change_ns]

    def state_at(self, times_ns: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """State ids in force at each time (as of: changes at or before it), ``(times, brackets)``."""
        out = np.zeros((len(times_ns), len(self.change_ns)), dtype=np.int64)
        for b, (changes, ids) in enumerate(zip(self.change_ns, self.state_id, strict=True)):
            if len(changes):
                pos = np.searchsorted(changes, times_ns, side="right") - 1
                out[:, b] = np.where(pos >= 0, ids[np.maximum(pos, 0)], NO_BOOK)
        return out


class _Recorder:
    """Collects states while the replay runs: per event, one row per state (padded lists)."""

    def __init__(self, where: Mapping[str, tuple[int, int]], n_events: int, depth: int) -> None:
        self.where = where
        self.depth = depth
        self.rows: list[list[list[list[int]]]] = [[[], [], [], []] for _ in range(n_events)]
        self.meta: list[list[tuple[bool, int]]] = [[] for _ in range(n_events)]
        self.changes: list[dict[int, list[tuple[int, int]]]] = [{} for _ in range(n_events)]
        self.conns: list[set[str]] = [set() for _ in range(n_events)]

    def record(self, book: OrderBook, at_ns: int) -> None:
        event, bracket = self.where[book.market_ticker]
        depth = self.depth
        rows = self.rows[event]
        for i, ladder in ((0, book.yes), (2, book.no)):
            prices = sorted(ladder, reverse=True)[:depth] if ladder else []
            sizes = [ladder[p] for p in prices]
            if len(prices) < depth:
                pad = [0] * (depth - len(prices))
                prices += pad
                sizes += pad
            rows[i].append(prices)
            rows[i + 1].append(sizes)
        meta = self.meta[event]
        meta.append((book.valid, book.updated_ns))
        self.changes[event].setdefault(bracket, []).append((at_ns, len(meta)))  # 0 is NO_BOOK
        if book.stream is not None:
            self.conns[event].add(book.stream.conn)


def record_tapes(
    paths: Sequence[str | Path], events: Sequence[Event], *, depth: int
) -> list[EventTape]:
    """Replay ``paths`` once and record the book states of every bracket of ``events``.

    Args:
        paths: capture files, directories or globs (kcap's readers; empty: the sample).
        events: the events whose markets to record.
        depth: bid levels kept per ladder.

    Returns:
        One tape per event, in the order given.
    """
    where = {b.ticker: (i, j) for i, e in enumerate(events) for j, b in enumerate(e.brackets)}
    rec = _Recorder(where, len(events), depth)
    player = Player(ReplayConfig(paths=list(paths)))
    builder = player.builder
    books = builder.books
    apply = builder.apply_records
    conn_last: dict[str, int] = {}
    dirty: set[str] = set()
    last_t = -1
    for batch, messages in decoded_chunks(player.batches()):
        for kind, conn, message, t in zip(
            batch.kind, batch.conn, messages, batch.recv_ns, strict=True
        ):
            if t != last_t:
                for ticker in sorted(dirty):
                    rec.record(books[ticker], last_t)
                dirty.clear()
                last_t = t
            changed = apply((kind,), (conn,), (message,), (t,))
            if changed is not None and changed.market_ticker in where:
                dirty.add(changed.market_ticker)
            if builder.events:
                for ev in builder.take_events():
                    if isinstance(ev, Stale | Valid) and ev.market_ticker in where:
                        dirty.add(ev.market_ticker)
            conn_last[conn] = t
    for ticker in sorted(dirty):
        rec.record(books[ticker], last_t)
    return [_tape(rec, i, e, conn_last) for i, e in enumerate(events)]


def _ladder_array(rows: list[list[int]], depth: int) -> npt.NDArray[np.int64]:
    """States as an array, row 0 (NO_BOOK) all zeros."""
    return np.array([[0] * depth, *rows], dtype=np.int64).reshape(len(rows) + 1, depth)


def _tape(rec: _Recorder, i: int, event: Event, conn_last: Mapping[str, int]) -> EventTape:
    rows, meta, changes = rec.rows[i], rec.meta[i], rec.changes[i]
    per_bracket = [changes.get(b, []) for b in range(len(event.brackets))]
    ends = [conn_last[c] for c in rec.conns[i] if c in conn_last]
    return EventTape(
        event=event,
        yes_px=_ladder_array(rows[0], rec.depth),
        yes_sz=_ladder_array(rows[1], rec.depth),
        no_px=_ladder_array(rows[2], rec.depth),
        no_sz=_ladder_array(rows[3], rec.depth),
        valid=np.array([False] + [m[0] for m in meta], dtype=np.bool_),
        updated_ns=np.array([0] + [m[1] for m in meta], dtype=np.int64),
        change_ns=tuple(np.array([c[0] for c in ch], dtype=np.int64) for ch in per_bracket),
        state_id=tuple(np.array([c[1] for c in ch], dtype=np.int64) for ch in per_bracket),
        data_end_ns=max(ends, default=0),
    )


def capture_key(paths: Sequence[str | Path]) -> tuple[tuple[str, int, int], ...]:
    """Identity of a set of captures for caching: each file's path, size and mtime."""
    files = expand_paths(list(paths)) if paths else []
    return tuple((str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
