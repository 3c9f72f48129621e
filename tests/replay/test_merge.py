from __future__ import annotations

from collections.abc import Iterator

from hypothesis import given
from hypothesis import strategies as st

from kcap.replay.merge import LazySource, merge_batches
from kcap.replay.readers import RecordBatch


def source(tag: str, times: list[int], size: int) -> Iterator[RecordBatch]:
    for start in range(0, len(times), size):
        chunk = times[start : start + size]
        yield RecordBatch(
            kind=["frame"] * len(chunk),
            conn=[tag] * len(chunk),
            rec=list(range(start, start + len(chunk))),
            recv_ns=chunk,
            mono_ns=chunk,
            origin=[None] * len(chunk),
            info=[None] * len(chunk),
            frame=[None] * len(chunk),
        )


def flatten(batches: Iterator[RecordBatch]) -> list[tuple[int, str, int]]:
    return [(t, c, r) for b in batches for t, c, r in zip(b.recv_ns, b.conn, b.rec, strict=True)]


def test_interleaves_by_time_with_source_order_tie_break() -> None:
    merged = flatten(merge_batches([source("a", [1, 3, 3, 7], 2), source("b", [2, 3, 8], 5)]))
    assert merged == [
        (1, "a", 0),
        (2, "b", 0),
        (3, "a", 1),
        (3, "a", 2),
        (3, "b", 1),
        (7, "a", 3),
        (8, "b", 2),
    ]


def test_disjoint_files_pass_whole_batches_through() -> None:
    a = list(source("a", [1, 2, 3], 3))
    out = list(merge_batches([iter(a), source("b", [10, 11], 2)], min_rows=1))
    assert out[0] is a[0]


def test_short_runs_are_joined_into_bigger_batches() -> None:
    out = list(merge_batches([source("a", [1, 3, 5, 7], 1), source("b", [2, 4, 6], 1)], min_rows=3))
    assert [b.recv_ns for b in out] == [[1, 2, 3], [4, 5, 6], [7]]
    assert out[0].conn == ["a", "b", "a"]


@given(
    st.lists(st.lists(st.integers(0, 50), max_size=30).map(sorted), min_size=1, max_size=4),
    st.integers(1, 7),
)
def test_merge_equals_a_stable_sort(lists: list[list[int]], size: int) -> None:
    sources = [source(str(i), times, size) for i, times in enumerate(lists)]
    expected = sorted(
        ((t, str(i), r) for i, times in enumerate(lists) for r, t in enumerate(times)),
        key=lambda x: (x[0], int(x[1]), x[2]),
    )
    assert flatten(merge_batches(sources)) == expected


def test_lazy_sources_open_only_when_their_time_comes() -> None:
    opened: list[str] = []

    def lazy(tag: str, times: list[int]) -> LazySource:
        def open_() -> Iterator[RecordBatch]:
            opened.append(tag)
            return source(tag, times, 2)

        return LazySource(times[0], open_)

    merged = merge_batches(
        [lazy("a", [1, 2, 3]), lazy("b", [10, 11]), lazy("c", [2, 20])], min_rows=1
    )
    first = next(merged)
    assert first.recv_ns == [1, 2] and opened == ["a"]
    rest = flatten(merged)
    assert [t for t, _, _ in rest] == [2, 3, 10, 11, 20]
    assert opened == ["a", "c", "b"]
