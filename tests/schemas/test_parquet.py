from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from frames import DOC_DELTA, DOC_SNAPSHOT, DOC_TRADE
from kcap.capture.compact import compact_jsonl
from kcap.schemas.parquet import CAPTURE_SCHEMA
from kcap.schemas.record import encode_record, header_info


def write_capture(path: Path) -> None:
    lines = [
        encode_record("header", "", 0, 1_000, 1, info=header_info(session="t")),
        encode_record(
            "connect", "t.1", 0, 1_001, 2, info={"url": "ws://127.0.0.1:1", "status": 101}
        ),
        encode_record("frame", "t.1", 1, 1_002, 3, frame=DOC_SNAPSHOT),
        encode_record("frame", "t.1", 2, 1_003, 4, frame=DOC_DELTA),
        encode_record("frame", "t.1", 3, 1_004, 5, frame=DOC_TRADE),
        encode_record("frame", "t.1", 4, 1_005, 6, frame=b"not json"),
        encode_record("disconnect", "t.1", 5, 1_006, 7, info={"code": 1006}),
    ]
    path.write_bytes(b"".join(lines))


def test_compacted_file_has_the_schema_metadata_and_exact_frames(tmp_path: Path) -> None:
    src = tmp_path / "c.jsonl"
    write_capture(src)
    dst, summary = compact_jsonl(src)
    assert dst == tmp_path / "c.parquet" and summary.rows == 7
    table = pq.read_table(dst)
    assert table.schema.remove_metadata().equals(CAPTURE_SCHEMA)
    meta = pq.read_metadata(dst).metadata
    assert meta[b"kcap.format"] == b"kcap-capture" and meta[b"kcap.schema_version"] == b"1"
    capture = json.loads(meta[b"kcap.capture"])
    assert capture["rows"] == 7 and capture["types"]["orderbook_delta"] == 1
    assert pq.ParquetFile(dst).metadata.row_group(0).column(0).compression == "ZSTD"
    frames = table.column("frame").to_pylist()
    assert frames[2] == DOC_SNAPSHOT and frames[5] == b"not json"


def test_polars_reads_it_and_can_filter_on_extracted_columns(tmp_path: Path) -> None:
    src = tmp_path / "c.jsonl"
    write_capture(src)
    dst, _ = compact_jsonl(src)
    df = pl.read_parquet(dst)
    books = df.filter(pl.col("type").cast(pl.Utf8).is_in(["orderbook_snapshot", "orderbook_delta"]))
    assert books["seq"].to_list() == [1, 2]
    assert set(books["market_ticker"].cast(pl.Utf8)) == {"KXHIGHNY-26NOV21-B53.5"}
    assert df.filter(pl.col("type") == "trade")["ts_ms"].to_list() == [1669149841000]
    assert df.filter(pl.col("type") == "malformed").height == 1
    assert df["kind"].cast(pl.Utf8).to_list()[-1] == "disconnect"


def test_compaction_is_idempotent(tmp_path: Path) -> None:
    src = tmp_path / "c.jsonl"
    write_capture(src)
    first, _ = compact_jsonl(src, tmp_path / "a.parquet")
    second, _ = compact_jsonl(src, tmp_path / "b.parquet")
    assert pq.read_table(first).equals(pq.read_table(second))
