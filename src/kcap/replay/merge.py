"""Merging many captures into one stream in receive-time order, deterministically.

Order: ``recv_ns``, then the source's position in the (sorted) file list, then the record's
position in its file. Files that do not overlap in time (rotated files of one recorder) are
chained batch by batch; overlapping ones are interleaved in runs, so the cost stays close to
a plain read. A :class:`LazySource` is opened only when the merge reaches its start time, so
replaying a thousand rotated files keeps one or two open and memory bounded.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from kcap.replay.readers import RecordBatch


@dataclass(frozen=True)
class LazySource:
    """A source opened on demand.

    Attributes:
        start_ns: a lower bound of the first record's ``recv_ns`` (the file is opened when the
            merge reaches it); None opens it at once.
        open: returns the source's batches.
    """

    start_ns: int | None
    open: Callable[[], Iterator[RecordBatch]]


class _Source:
    __slots__ = ("batch", "batches", "index", "lazy", "pos")

    def __init__(self, index: int, source: Iterator[RecordBatch] | LazySource) -> None:
        self.index = index
        self.lazy = source if isinstance(source, LazySource) else None
        self.batches: Iterator[RecordBatch] | None = None if self.lazy else source  # type: ignore[assignment]
        self.batch: RecordBatch | None = None
        self.pos = 0

    def head(self) -> int | None:
        """Receive time of the next record (opening the source and loading batches as needed)."""
        if self.batches is None:
            assert self.lazy is not None
            self.batches = self.lazy.open()
        while self.batch is None or self.pos >= len(self.batch):
            nxt = next(self.batches, None)
            if nxt is None:
                self.batch = None
                return None
            self.batch, self.pos = nxt, 0
        return self.batch.recv_ns[self.pos]


def merge_batches(
    sources: Sequence[Iterator[RecordBatch] | LazySource], *, min_rows: int = 8_192
) -> Iterator[RecordBatch]:
    """Merge batch streams (one per file, in tie-break order) into one time-ordered stream.

    Each source is assumed to be in receive order (as written); records with equal
    ``recv_ns`` come from the lower source index first. Short runs from interleaved files
    are joined into batches of at least ``min_rows`` records (the hot path pays per batch).
    """
    if len(sources) == 1:
        only = sources[0]
        yield from only.open() if isinstance(only, LazySource) else only
        return
    pending: RecordBatch | None = None
    for run in _runs(sources):
        if pending is None:
            if len(run) >= min_rows:
                yield run
                continue
            pending = run.slice(0, len(run))
        else:
            pending.extend(run)
        if len(pending) >= min_rows:
            yield pending
            pending = None
    if pending is not None:
        yield pending


def _runs(sources: Sequence[Iterator[RecordBatch] | LazySource]) -> Iterator[RecordBatch]:
    """The merge proper: runs of consecutive records from one source at a time."""
    if len(sources) == 1:
        only = sources[0]
        yield from only.open() if isinstance(only, LazySource) else only
        return
    heap: list[tuple[int, int, bool, _Source]] = []
    for i, item in enumerate(sources):
        src = _Source(i, item)
        if src.lazy is not None and src.lazy.start_ns is not None:
            heap.append((src.lazy.start_ns, i, False, src))  # not opened yet
            continue
        head = src.head()
        if head is not None:
            heap.append((head, i, True, src))
    heapq.heapify(heap)
    while heap:
        _, _, opened, src = heapq.heappop(heap)
        if not opened:
            head = src.head()
            if head is not None:
                heapq.heappush(heap, (head, src.index, True, src))
            continue
        assert src.batch is not None
        batch, start = src.batch, src.pos
        times = batch.recv_ns
        end = len(batch)
        if heap:
            limit, other_index, _, _ = heap[0]
            if times[end - 1] > limit or (times[end - 1] == limit and src.index > other_index):
                stop = start
                while stop < end and (
                    times[stop] < limit or (times[stop] == limit and src.index < other_index)
                ):
                    stop += 1
                end = max(stop, start + 1)
        yield batch if start == 0 and end == len(batch) else batch.slice(start, end)
        src.pos = end
        head = src.head()
        if head is not None:
            heapq.heappush(heap, (head, src.index, True, src))
