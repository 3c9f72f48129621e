"""The replay player: captures in time order through the live decoder and book builder.

Records are read (:mod:`kcap.replay.readers`), merged in receive-time order
(:mod:`kcap.replay.merge`), decoded with :func:`kcap.schemas.wire.decode_frames` and applied
to a :class:`kcap.book.BookBuilder`: exactly the code capture runs live. A ``disconnect``
record resets its connection's books. Paced replays sleep on an injected :class:`Clock`; at
``speed=None`` (``--speed max``) batches go through the builder's hot path
:data:`DECODE_CHUNK` records at a time (:func:`apply_batch`).

``--from`` fast-forwards: records before it are applied (so books are right at the start) but
not paced or shown. ``--market``/``--series``/``--event`` select what is shown, emitted and
summarised; every record is still applied, because one sid's ``seq`` spans all its markets
and filtering frames out would fake gaps.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, cast

from kcap.book import BookBuilder, BookEvent, Gap, OrderBook, Stale, Valid, books_digest
from kcap.replay.merge import LazySource, merge_batches
from kcap.replay.pacing import Pacer
from kcap.replay.readers import (
    ReadProblem,
    RecordBatch,
    expand_paths,
    first_recv_ns,
    read_capture,
)
from kcap.schemas import wire
from kcap.schemas.record import FRAME


class Clock(Protocol):
    """Monotonic time and sleep, injected so tests never sleep for real."""

    def now_ns(self) -> int:
        """Monotonic nanoseconds."""

    def sleep_ns(self, ns: int) -> None:
        """Sleep ``ns`` nanoseconds."""


class SystemClock:
    """The real clock: ``time.monotonic_ns`` and ``time.sleep``."""

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def sleep_ns(self, ns: int) -> None:
        time.sleep(ns / 1e9)


@dataclass(frozen=True)
class MarketFilter:
    """Which markets a replay shows: by ticker, series prefix or event prefix (any match).

    An empty filter selects every market.
    """

    markets: frozenset[str] = frozenset()
    series: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.markets or self.series or self.events)

    def matches(self, ticker: str) -> bool:
        """True when ``ticker`` is selected (always True for an empty filter)."""
        if not self:
            return True
        if ticker in self.markets:
            return True
        return any(ticker.startswith(p + "-") for p in (*self.series, *self.events))


@dataclass(frozen=True)
class StaleSpan:
    """A stretch of receive time during which ``market_ticker``'s book was not trustworthy.

    ``end_ns`` is None when the book was still stale at the end of the replay.
    """

    market_ticker: str
    start_ns: int
    end_ns: int | None
    reason: str


@dataclass
class ReplayResult:
    """What a replay went through and how the books ended."""

    records: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    by_type: Counter[str] = field(default_factory=Counter)
    first_ns: int | None = None
    last_ns: int | None = None
    gaps: list[Gap] = field(default_factory=list)
    stale_spans: list[StaleSpan] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    markets: list[str] = field(default_factory=list)
    digest: str = ""
    problems: list[ReadProblem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)

    @property
    def duration_ns(self) -> int:
        """Receive-time span covered, in nanoseconds."""
        if self.first_ns is None or self.last_ns is None:
            return 0
        return self.last_ns - self.first_ns


@dataclass
class ReplayConfig:
    """What to replay and how.

    Attributes:
        paths: capture files, directories or globs (empty: the embedded sample).
        speed: replay speed factor, or None for flat out.
        max_gap_ns: longest quiet stretch (capture time) played in paced mode.
        select: markets to show, emit and summarise.
        from_ns / to_ns: receive-time window (Unix ns), inclusive.
        skip_damaged: report and skip damaged JSONL lines instead of stopping.
    """

    paths: Sequence[str | Path] = ()
    speed: float | None = None
    max_gap_ns: int | None = None
    select: MarketFilter = field(default_factory=MarketFilter)
    from_ns: int | None = None
    to_ns: int | None = None
    skip_damaged: bool = False


ChangeHook = Callable[[OrderBook, int], None]
ClockHook = Callable[[int], None]
ProgressHook = Callable[[int, int], None]


class Player:
    """Runs one replay (see the module docstring).

    Args:
        config: what to replay.
        clock: time source for pacing.
        on_change: called ``(book, recv_ns)`` after each change of a selected book.
        on_clock: called ``(recv_ns)`` before each record at or after ``from_ns`` is applied.
        on_progress: called ``(records_done, recv_ns)`` after each batch (max) or record (paced).

    Any of ``on_change``/``on_clock`` or a speed makes the player apply records one by one;
    otherwise whole batches take the builder's hot path.
    """

    def __init__(
        self,
        config: ReplayConfig,
        *,
        clock: Clock | None = None,
        on_change: ChangeHook | None = None,
        on_clock: ClockHook | None = None,
        on_progress: ProgressHook | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.on_change = on_change
        self.on_clock = on_clock
        self.on_progress = on_progress
        self.builder = BookBuilder()
        self.result = ReplayResult()
        self._stale_open: dict[str, tuple[int, str]] = {}
        self._types: Counter[type] = Counter()
        self._pacer = Pacer(config.speed, config.max_gap_ns) if config.speed else None
        self._start_ns: int | None = None

    def batches(self) -> Iterator[RecordBatch]:
        """The merged record batches of the configured captures."""
        paths = list(self.config.paths)
        if not paths:
            from kcap import sample

            paths = list(sample.capture_paths())  # type: ignore[attr-defined, unused-ignore]
        files = expand_paths(paths)
        self.result.files = files
        problems = self.result.problems
        skip = self.config.skip_damaged

        def source(path: Path) -> LazySource:
            return LazySource(
                first_recv_ns(path),
                lambda: read_capture(path, skip_damaged=skip, problems=problems, replay_only=True),
            )

        return merge_batches([source(f) for f in files])

    def run(self) -> ReplayResult:
        """Replay everything and return the summary (books stay in :attr:`builder`)."""
        per_record = (
            self._pacer is not None or self.on_change is not None or self.on_clock is not None
        )
        for whole in self.batches():
            batch = self._window(whole)
            if batch is None:
                break
            if per_record:
                self._run_records(batch)
            else:
                apply_batch(self.builder, batch, self._types)
                self._account(batch)
            if self.on_progress is not None:
                self.on_progress(self.result.records, batch.recv_ns[-1])
        return self._finish()

    def _window(self, batch: RecordBatch) -> RecordBatch | None:
        """Cut the batch at ``to_ns``; None once the window is over."""
        to_ns = self.config.to_ns
        if to_ns is None or batch.recv_ns[-1] <= to_ns:
            return batch
        if batch.recv_ns[0] > to_ns:
            return None
        stop = next(i for i, t in enumerate(batch.recv_ns) if t > to_ns)
        return batch.slice(0, stop)

    def _run_records(self, batch: RecordBatch) -> None:
        apply = self.builder.apply_records
        select = self.config.select
        from_ns = self.config.from_ns
        on_clock = self.on_clock
        for i, (kind, conn, frame, t) in enumerate(
            zip(batch.kind, batch.conn, batch.frame, batch.recv_ns, strict=True)
        ):
            message = wire.decode_frame(frame) if kind == FRAME and frame is not None else None
            self._types[type(message)] += 1
            live = from_ns is None or t >= from_ns
            if live and self._pacer is not None:
                self._wait(t)
            if live and on_clock is not None:
                on_clock(t)
            changed = apply((kind,), (conn,), (message,), (t,))
            if not live:
                continue
            if changed is not None and self.on_change and select.matches(changed.market_ticker):
                self.on_change(changed, t)
            if self.on_progress is not None and self._pacer is not None:
                self.on_progress(self.result.records + i + 1, t)
        self._account(batch)

    def _wait(self, recv_ns: int) -> None:
        assert self._pacer is not None
        due = self._pacer.due_ns(recv_ns)
        now = self.clock.now_ns()
        if self._start_ns is None:
            self._start_ns = now - due
        delay = self._start_ns + due - now
        if delay > 0:
            self.clock.sleep_ns(delay)

    def _account(self, batch: RecordBatch) -> None:
        res = self.result
        res.records += len(batch)
        res.by_kind.update(batch.kind)
        lo, hi = batch.recv_ns[0], batch.recv_ns[-1]
        res.first_ns = lo if res.first_ns is None else min(res.first_ns, lo)
        res.last_ns = hi if res.last_ns is None else max(res.last_ns, hi)
        if self.builder.events:
            self._track(self.builder.take_events())

    def _track(self, events: list[BookEvent]) -> None:
        select = self.config.select
        for event in events:
            if isinstance(event, Gap):
                if not select or any(select.matches(m) for m in event.markets):
                    self.result.gaps.append(event)
            elif isinstance(event, Stale) and select.matches(event.market_ticker):
                self._stale_open.setdefault(event.market_ticker, (event.recv_ns, event.reason))
            elif isinstance(event, Valid) and event.market_ticker in self._stale_open:
                start, reason = self._stale_open.pop(event.market_ticker)
                self.result.stale_spans.append(
                    StaleSpan(event.market_ticker, start, event.recv_ns, reason)
                )

    def _finish(self) -> ReplayResult:
        res = self.result
        for ticker, (start, reason) in sorted(self._stale_open.items()):
            res.stale_spans.append(StaleSpan(ticker, start, None, reason))
        self._stale_open.clear()
        res.by_type = Counter(
            {_type_name(k): v for k, v in self._types.items() if k is not type(None)}
        )
        res.counts = dict(self.builder.counts)
        selected = {t: b for t, b in self.builder.books.items() if self.config.select.matches(t)}
        res.markets = sorted(selected)
        res.digest = books_digest(selected)
        return res


def _type_name(cls: type) -> str:
    if cls is wire.MalformedFrame:
        return "malformed"
    if cls is wire.UnknownMessage:
        return "unknown"
    return str(getattr(cls, "__struct_config__").tag)  # noqa: B009


DECODE_CHUNK = 1024
"""Records decoded and applied at a time by :func:`apply_batch`. A chunk's decoded frames are
freed before the next chunk is decoded, so their memory is reused while still in cache: on the
benchmark data this decodes about 1.5x faster than whole 32k-record batches (bench/replay.py)."""


def apply_batch(
    builder: BookBuilder, batch: RecordBatch, types: Counter[type] | None = None
) -> OrderBook | None:
    """Decode a batch's frames and apply its records to ``builder``, chunk by chunk, in order.

    Args:
        builder: the book builder to feed.
        batch: the records.
        types: if given, counts the decoded messages by class (None for non-frame records).

    Returns:
        The last book that changed, or None.
    """
    changed = None
    for chunk, messages in decoded_chunks((batch,)):
        changed = builder.apply_records(chunk.kind, chunk.conn, messages, chunk.recv_ns) or changed
        if types is not None:
            types.update(map(type, messages))
    return changed


def decoded_chunks(
    batches: Iterable[RecordBatch],
) -> Iterator[tuple[RecordBatch, list[wire.Message | None]]]:
    """Each batch cut into chunks of at most :data:`DECODE_CHUNK` records, with each chunk's
    decoded frames (None for non-frame records), in order. For consumers that walk records
    one by one: decoding chunk by chunk is faster and holds fewer decoded frames at once."""
    for batch in batches:
        if len(batch) <= DECODE_CHUNK:
            yield batch, decode_batch(batch)
            continue
        for start in range(0, len(batch), DECODE_CHUNK):
            chunk = batch.slice(start, start + DECODE_CHUNK)
            yield chunk, decode_batch(chunk)


def decode_batch(batch: RecordBatch) -> list[wire.Message | None]:
    """Decode the frames of a batch's ``frame`` records (None for every other record)."""
    return decode_records(batch.kind, batch.frame)


def decode_records(kinds: list[str], frames: list[bytes | None]) -> list[wire.Message | None]:
    """Decode the frames of ``frame`` records (None for every other record), in order."""
    if kinds.count(FRAME) == len(kinds) and None not in frames:
        return cast("list[wire.Message | None]", wire.decode_frames(cast("list[bytes]", frames)))
    return [
        wire.decode_frame(f) if k == FRAME and f is not None else None
        for k, f in zip(kinds, frames, strict=True)
    ]
