from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from frames import DOC_DELTA, DOC_SNAPSHOT
from kcap.capture.compact import compact_jsonl
from kcap.errors import CaptureFormatError, CaptureNotFoundError
from kcap.replay.readers import ReadProblem, expand_paths, read_capture, read_jsonl
from kcap.schemas.record import encode_record, header_info


def lines(n: int = 3) -> list[bytes]:
    out = [encode_record("header", "", 0, 0, 0, info=header_info())]
    for i in range(n):
        out.append(
            encode_record("frame", "c.1", i, 10 + i, i, frame=DOC_SNAPSHOT if i == 0 else DOC_DELTA)
        )
    return out


def read_all(path: Path, **kw: object) -> list[tuple[str, int]]:
    return [
        (k, t) for b in read_capture(path, **kw) for k, t in zip(b.kind, b.recv_ns, strict=True)
    ]  # type: ignore[arg-type]


def test_whole_file(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"".join(lines()))
    assert read_all(p) == [("header", 0), ("frame", 10), ("frame", 11), ("frame", 12)]


def test_torn_last_line_is_reported_and_skipped(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl.part"
    data = b"".join(lines())
    p.write_bytes(data + encode_record("frame", "c.1", 3, 13, 3, frame=DOC_DELTA)[:40])
    problems: list[ReadProblem] = []
    got = [t for b in read_jsonl(p, problems=problems) for t in b.recv_ns]
    assert got == [0, 10, 11, 12]
    assert len(problems) == 1 and problems[0].line == 5 and "torn last line" in problems[0].message


def test_damaged_line_in_the_middle_is_refused_with_its_location(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    ls = lines()
    p.write_bytes(b"".join([*ls[:2], b'{"kind":"frame", garbage\n', *ls[2:]]))
    with pytest.raises(CaptureFormatError, match=r"a\.jsonl:3: damaged record"):
        read_all(p)
    problems: list[ReadProblem] = []
    assert [t for b in read_jsonl(p, skip_damaged=True, problems=problems) for t in b.recv_ns] == [
        0,
        10,
        11,
        12,
    ]
    assert problems[0].line == 3


def test_trailing_garbage_without_newline_is_a_torn_tail(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"".join(lines()) + b"\x00\x00garbage")
    problems: list[ReadProblem] = []
    assert len([t for b in read_jsonl(p, problems=problems) for t in b.recv_ns]) == 4
    assert problems


def test_newer_format_version_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(
        encode_record("header", "", 0, 0, 0, info={"format": "kcap-capture", "version": 99})
    )
    with pytest.raises(CaptureFormatError, match="version 99 is newer"):
        read_all(p)


def test_gzip_and_small_batches(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl.gz"
    with gzip.open(p, "wb") as fh:
        fh.write(b"".join(lines(50)))
    batches = list(read_jsonl(p, batch_rows=7))
    assert [len(b) for b in batches] == [7] * 7 + [2]


def test_parquet_and_jsonl_read_the_same_records(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"".join(lines(5)))
    dst, _ = compact_jsonl(p)
    a = [(b.kind, b.conn, b.rec, b.recv_ns, b.mono_ns) for b in read_capture(p)]
    b = [(b.kind, b.conn, b.rec, b.recv_ns, b.mono_ns) for b in read_capture(dst)]
    assert a == b
    frames_a = [bytes(f) for batch in read_capture(p) for f in batch.frame if f is not None]
    frames_b = [f for batch in read_capture(dst) for f in batch.frame if f is not None]
    assert frames_a == frames_b


def test_damaged_parquet_is_reported_not_half_read(tmp_path: Path) -> None:
    p = tmp_path / "a.jsonl"
    p.write_bytes(b"".join(lines(5)))
    dst, _ = compact_jsonl(p)
    data = dst.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    with pytest.raises(CaptureFormatError, match=r"a\.parquet"):
        read_all(dst)
    other = tmp_path / "x.parquet"
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1]}), other)
    with pytest.raises(CaptureFormatError, match="not a kcap capture"):
        read_all(other)


def test_expand_paths_files_dirs_globs(tmp_path: Path) -> None:
    (tmp_path / "2026-11-21").mkdir()
    for name in ("2026-11-21/b.jsonl", "2026-11-21/a.parquet", "c.jsonl.part", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    # sorted by full path: the merge's tie-break order; notes.txt is not a capture
    assert [p.name for p in expand_paths([tmp_path])] == ["a.parquet", "b.jsonl", "c.jsonl.part"]
    assert [p.name for p in expand_paths([str(tmp_path / "*" / "*.jsonl")])] == ["b.jsonl"]
    with pytest.raises(CaptureNotFoundError, match="no such capture"):
        expand_paths([tmp_path / "missing.jsonl"])
    with pytest.raises(CaptureNotFoundError, match="holds no capture file"):
        expand_paths([str(tmp_path / "*.csv")])
