"""The capture writer: verbatim records, rotation, bounded queue, write errors."""

from __future__ import annotations

import errno
import json
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frames import DOC_DELTA, DOC_FED_SNAPSHOT, DOC_SNAPSHOT
from kcap.capture.envelope import peek
from kcap.capture.rotate import RotationPolicy
from kcap.capture.writer import (
    CaptureWriter,
    Conn,
    LatencyHistogram,
    encode_frame_line,
    spliceable,
)
from kcap.replay.readers import read_jsonl
from kcap.schemas.record import encode_record, record_decoder, record_frame

S = 1_000_000_000
T0 = 1_795_000_000 * S  # 2026-11-18T11:06:40Z


def make_writer(tmp_path: Path, **kwargs: object) -> tuple[CaptureWriter, list[Path]]:
    sealed: list[Path] = []
    options: dict[str, object] = {"rotation": RotationPolicy(None, None)}
    options.update(kwargs)
    writer = CaptureWriter(
        tmp_path,
        "abcd1234",
        {"url": "ws://127.0.0.1:1/trade-api/ws/v2"},
        on_sealed=sealed.append,
        **options,  # type: ignore[arg-type]
    )
    return writer, sealed


def lines_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def records_of(path: Path) -> list[object]:
    return [record_decoder.decode(line) for line in path.read_bytes().splitlines()]


@given(st.binary(max_size=64) | st.from_regex(r'\A\{"type":"[a-z_]{0,12}","sid":-?\d{1,4}\}\Z'))
def test_fast_frame_line_is_exactly_encode_record(data: bytes | str) -> None:
    frame = data.encode() if isinstance(data, str) else data
    conn = Conn("abcd1234.7")
    expected = encode_record("frame", "abcd1234.7", 3, T0, 42, frame=frame)
    assert encode_frame_line(conn, 3, T0, 42, frame) == expected


@pytest.mark.parametrize("frame", [DOC_SNAPSHOT, DOC_DELTA, DOC_FED_SNAPSHOT, b" {}", b"{} "])
def test_fast_frame_line_on_literal_frames(frame: bytes) -> None:
    conn = Conn("s.1")
    line = encode_frame_line(conn, 0, T0, 1, frame)
    assert line == encode_record("frame", "s.1", 0, T0, 1, frame=frame)
    assert record_frame(record_decoder.decode(line)) == frame


def test_records_are_written_verbatim_in_order_with_a_header(tmp_path: Path) -> None:
    writer, sealed = make_writer(tmp_path)
    writer.start(T0, 100)
    conn = Conn("abcd1234.1")
    writer.record("connect", conn, T0 + 1, 101, info={"url": "ws://x", "status": 101})
    frames = [DOC_SNAPSHOT, DOC_DELTA, DOC_FED_SNAPSHOT, b"not json", b"\xff\x00"]
    for i, frame in enumerate(frames):
        assert writer.frame(conn, T0 + 2 + i, 102 + i, frame, False)
    writer.frame(conn, T0 + 9, 109, b"\x00\x01", True)
    writer.close()
    (path,) = sealed
    assert path.name == "kcap-20261118T110640Z-abcd1234-0001.jsonl"
    assert path.parent.name == "2026-11-18"
    assert not list(tmp_path.rglob("*.part"))
    records = records_of(path)
    header = records[0]
    assert header.kind == "header"  # type: ignore[attr-defined]
    assert header.info["format"] == "kcap-capture"  # type: ignore[attr-defined]
    assert header.info["session"] == "abcd1234"  # type: ignore[attr-defined]
    assert header.conn == "abcd1234.0"  # type: ignore[attr-defined]
    assert [r.rec for r in records[1:]] == list(range(7))  # type: ignore[attr-defined]
    assert [record_frame(r) for r in records[2:]] == [*frames, b"\x00\x01"]  # type: ignore[arg-type]
    assert records[-1].info == {"binary": True}  # type: ignore[attr-defined]
    assert writer.records == 7 and writer.dropped == 0


def test_rotation_by_size_time_and_utc_midnight(tmp_path: Path) -> None:
    writer, sealed = make_writer(tmp_path, rotation=RotationPolicy(10 * S, 2000))
    writer.start(T0, 0)
    conn = Conn("abcd1234.1")
    for i in range(20):  # ~200 bytes each: size rotation
        writer.frame(conn, T0 + i, i, DOC_DELTA, False)
    files_after_size = writer.files
    assert files_after_size > 1
    writer.frame(conn, T0 + 11 * S, 11 * S, DOC_DELTA, False)  # 11 s later: time rotation
    assert writer.files == files_after_size + 1
    midnight = (T0 // (86_400 * S) + 1) * 86_400 * S
    writer.frame(conn, midnight, 12 * S, DOC_DELTA, False)
    assert writer.files == files_after_size + 2
    writer.rotate_if_due(midnight + 30 * S, 45 * S)  # quiet feed: timer rotation
    assert writer.files == files_after_size + 3
    writer.close()
    assert len(sealed) == writer.files
    assert sealed[-1].parent.name == "2026-11-19"
    frames = [r for p in sealed for r in records_of(p) if r.kind == "frame"]  # type: ignore[attr-defined]
    assert [r.rec for r in frames] == list(range(22))  # type: ignore[attr-defined]
    headers = [records_of(p)[0] for p in sealed]
    assert [h.info["file_index"] for h in headers] == list(range(1, writer.files + 1))  # type: ignore[attr-defined]
    assert headers[1].info["previous"] == sealed[0].name  # type: ignore[attr-defined]
    assert {h.info["opened_reason"] for h in headers} == {"start", "size", "time", "date"}  # type: ignore[attr-defined]


def test_full_queue_drops_counts_and_reports(tmp_path: Path) -> None:
    writer, sealed = make_writer(tmp_path, queue_records=5, flush_records=5)
    writer.open_first(T0, 0)  # thread not started: nothing leaves the queue
    conn = Conn("abcd1234.1")
    accepted = [writer.frame(conn, T0 + i, i, DOC_DELTA, False) for i in range(8)]
    assert accepted == [True] * 4 + [False] * 4  # the header takes one place
    assert writer.dropped == 4
    writer.start_thread()
    writer.close()
    records = records_of(sealed[0])
    assert [r.kind for r in records] == ["header"] + ["frame"] * 4  # type: ignore[attr-defined]


def test_drops_are_reported_in_band_when_there_is_room_again(tmp_path: Path) -> None:
    writer, sealed = make_writer(tmp_path, queue_records=3, flush_records=1)
    writer.open_first(T0, 0)
    conn = Conn("abcd1234.1")
    for i in range(4):
        writer.frame(conn, T0 + i, i, DOC_DELTA, False)
    writer.start_thread()
    deadline = threading.Event()
    for _ in range(500):
        if writer.queue_depth == 0:
            break
        deadline.wait(0.01)
    assert writer.frame(conn, T0 + 10, 10, DOC_DELTA, False)
    writer.close()
    records = records_of(sealed[0])
    error = [r for r in records if r.kind == "error"]  # type: ignore[attr-defined]
    assert error[0].info["code"] == "queue_full"  # type: ignore[attr-defined]
    assert error[0].info["dropped"] == 2  # type: ignore[attr-defined]
    frames = [r for r in records if r.kind == "frame"]  # type: ignore[attr-defined]
    assert [r.rec for r in frames] == [0, 1, 2]  # no holes: dropped records got no number  # type: ignore[attr-defined]


def test_write_error_cuts_back_to_whole_records_and_seals(tmp_path: Path) -> None:
    errors: list[tuple[BaseException, Path | None]] = []
    writer, sealed = make_writer(tmp_path, on_error=lambda e, p: errors.append((e, p)))
    budget = {"bytes": 1500}

    def small_disk(fd: int, data: bytes) -> int:
        import os

        if budget["bytes"] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        n = min(len(data), budget["bytes"])
        budget["bytes"] -= n
        return os.write(fd, data[:n])

    writer._io.os_write = small_disk
    writer.start(T0, 0)
    conn = Conn("abcd1234.1")
    for i in range(40):
        writer.frame(conn, T0 + i, i, DOC_DELTA, False)
    writer.close()
    assert isinstance(writer.failure, OSError)
    ((exc, path),) = errors
    assert exc is writer.failure
    assert path == sealed[0]
    data = path.read_bytes()
    assert data.endswith(b"\n") and len(data) <= 1500
    assert len(list(read_jsonl(path))) == 1  # every line whole and readable
    assert not writer.frame(conn, T0 + 99, 99, DOC_DELTA, False)


def test_latency_histogram_percentiles() -> None:
    hist = LatencyHistogram()
    assert hist.percentile_ns(0.5) is None
    hist.add(1_000_000, [0] + [1_000_000 - 25_000] * 63)  # oldest first, as queued
    assert hist.total == 64
    assert hist.percentile_ns(0.5) == 30_000
    assert hist.percentile_ns(1.0) == 1_010_000  # upper edge of the 1.00-1.01 ms bin
    assert hist.max_ns == 1_000_000
    hist.reset()
    hist.add(2_000_000, [0] + [2_000_000 - 15_000] * 799)  # a big write: sampled 1 in 8
    assert hist.total == 800
    assert hist.percentile_ns(0.99) == 20_000
    assert hist.max_ns == 2_000_000


@given(
    st.binary(max_size=48)
    | st.from_regex(r'\A\s?\{"type":"[a-z]{0,6}"(,"sid":-?\d{1,3})?(,"x":\[1,)?\}\s?\Z')
    | st.from_regex(r'\A\{"type":\d,"x":[\]\}]?\}\Z')
)
def test_peek_splices_exactly_when_encode_record_does(data: bytes | str) -> None:
    frame = data.encode() if isinstance(data, str) else data
    _, splice = peek(frame)
    expected = encode_record("frame", "c.1", 0, 1, 2, frame=frame)
    assert splice == expected.startswith(
        b'{"kind":"frame","conn":"c.1","rec":0,"recv_ns":1,"mono_ns":2,"frame":'
    )
    assert splice == spliceable(frame)
