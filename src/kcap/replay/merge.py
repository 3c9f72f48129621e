"""Merging many captures into one stream in receive-time order, deterministically.

Order: ``recv_ns``, then the source's position in the (sorted) file list, then the record's
position in its file. Files that do not overlap in time (rotated files of one recorder) are
simply chained batch by batch; overlapping ones are interleaved in runs, so the cost stays
close to a plain read.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence

from kcap.replay.readers import RecordBatch


class _Source:
    __slots__ = ("batch", "batches", "index", "pos")

    def __init__(self, index: int, batches: Iterator[RecordBatch]) -> None:
        self.index = index
        self.batches = batches
        self.batch: RecordBatch | None = None
        self.pos = 0

    def head(self) -> int | None:
        """Receive time of the next record, loading the next batch when needed."""
        while self.batch is None or self.pos >= len(self.batch):
            nxt = next(self.batches, None)
            if nxt is None:
                self.batch = None
                return None
            self.batch, self.pos = nxt, 0
        return self.batch.recv_ns[self.pos]


def merge_batches(sources: Sequence[Iterator[RecordBatch]]) -> Iterator[RecordBatch]:
    """Merge batch streams (one per file, in tie-break order) into one time-ordered stream.

    Each source is assumed to be in receive order (as written); records with equal
    ``recv_ns`` come from the lower source index first.
    """
    if len(sources) == 1:
        yield from sources[0]
        return
    heap: list[tuple[int, int, _Source]] = []
    for i, batches in enumerate(sources):
        src = _Source(i, batches)
        head = src.head()
        if head is not None:
            heap.append((head, i, src))
    heapq.heapify(heap)
    while heap:
        _, _, src = heapq.heappop(heap)
        assert src.batch is not None
        batch, start = src.batch, src.pos
        times = batch.recv_ns
        end = len(batch)
        if heap:
            limit, other_index, _ = heap[0]
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
            heapq.heappush(heap, (head, src.index, src))
