"""Compaction: capture records (JSONL) into the Parquet layout of :mod:`kcap.schemas.parquet`.

The frame is copied byte-exact; filter columns (``type``, ``sid``, ``seq``,
``market_ticker``, ``ts_ms``, ``sending_ts_ms``) are extracted with the same decoder replay
uses. Output is written to a temporary name, flushed to disk and renamed, so a reader never
sees half a Parquet file; compacting the same input again gives the same rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kcap import __version__
from kcap.capture.rotate import fsync_dir, fsync_file
from kcap.replay.readers import ReadProblem, RecordBatch, read_jsonl
from kcap.schemas import wire
from kcap.schemas.parquet import (
    CAPTURE_SCHEMA,
    COLUMN_ENCODING,
    COMPRESSION,
    COMPRESSION_LEVEL,
    DICTIONARY_COLUMNS,
    META_CAPTURE,
    META_FORMAT,
    META_SCHEMA_VERSION,
    PARQUET_SCHEMA_VERSION,
    ROW_GROUP_SIZE,
)
from kcap.schemas.record import FRAME, RECORD_FORMAT

_info_encode = json.JSONEncoder(separators=(",", ":"), sort_keys=True).encode


@dataclass
class CompactionSummary:
    """What a compaction wrote: row count, counts by record kind and message type, time range."""

    rows: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    types: Counter[str] = field(default_factory=Counter)
    markets: set[str] = field(default_factory=set)
    recv_ns_min: int | None = None
    recv_ns_max: int | None = None
    problems: list[ReadProblem] = field(default_factory=list)

    def as_metadata(self) -> dict[str, Any]:
        """The JSON-able part kept in the Parquet footer."""
        return {
            "rows": self.rows,
            "kinds": dict(sorted(self.kinds.items())),
            "types": dict(sorted(self.types.items())),
            "markets": len(self.markets),
            "recv_ns_min": self.recv_ns_min,
            "recv_ns_max": self.recv_ns_max,
            "skipped_lines": [f"{Path(p.path).name}:{p.line}: {p.message}" for p in self.problems],
        }


def _extract(
    message: wire.Message,
) -> tuple[str, int | None, int | None, str | None, int | None, int | None]:
    """``(type, sid, seq, market_ticker, ts_ms, sending_ts_ms)`` of a decoded frame."""
    kind = wire.message_type(message)
    if isinstance(message, wire.MalformedFrame):
        return kind, None, None, None, None, None
    sid = getattr(message, "sid", None)
    seq = getattr(message, "seq", None)
    if isinstance(message, wire.UnknownMessage):
        return kind, sid, seq, None, None, None
    msg = getattr(message, "msg", None)
    ticker = getattr(msg, "market_ticker", None) or getattr(msg, "ticker", None)
    ts_ms = getattr(msg, "ts_ms", None)
    if ts_ms is None:
        ts = getattr(msg, "ts", None)
        ts_ms = ts * 1000 if type(ts) is int else None
    return kind, sid, seq, ticker, ts_ms, getattr(message, "sending_ts_ms", None)


def batch_to_table(batch: RecordBatch, summary: CompactionSummary | None = None) -> pa.Table:
    """One :class:`RecordBatch` as an Arrow table of :data:`CAPTURE_SCHEMA`."""
    n = len(batch)
    frames: list[bytes | None] = [None if f is None else bytes(f) for f in batch.frame]
    extracted: list[tuple[Any, ...]] = []
    binary = []
    for kind, frame, info in zip(batch.kind, frames, batch.info, strict=True):
        binary.append(bool(info and info.get("binary")) if frame is not None else None)
        if kind == FRAME and frame is not None:
            extracted.append(_extract(wire.decode_frame(frame)))
        else:
            extracted.append((None,) * 6)
    cols = list(zip(*extracted, strict=True)) if n else [()] * 6
    table = pa.table(
        {
            "kind": pa.array(batch.kind, pa.string()).dictionary_encode(),
            "conn": pa.array(batch.conn, pa.string()).dictionary_encode(),
            "rec": pa.array(batch.rec, pa.int64()),
            "recv_ns": pa.array(batch.recv_ns, pa.int64()),
            "mono_ns": pa.array(batch.mono_ns, pa.int64()),
            "origin": pa.array(batch.origin, pa.string()).dictionary_encode(),
            "info": pa.array(
                [None if i is None else _info_encode(i) for i in batch.info], pa.string()
            ),
            "frame": pa.array(frames, pa.binary()),
            "frame_binary": pa.array(binary, pa.bool_()),
            "type": pa.array(cols[0], pa.string()).dictionary_encode(),
            "sid": pa.array(cols[1], pa.int64()),
            "seq": pa.array(cols[2], pa.int64()),
            "market_ticker": pa.array(cols[3], pa.string()).dictionary_encode(),
            "ts_ms": pa.array(cols[4], pa.int64()),
            "sending_ts_ms": pa.array(cols[5], pa.int64()),
        }
    ).cast(CAPTURE_SCHEMA)
    if summary is not None and n:
        summary.rows += n
        summary.kinds.update(batch.kind)
        summary.types.update(t for t in cols[0] if t is not None)
        summary.markets.update(t for t in cols[3] if t is not None)
        lo, hi = min(batch.recv_ns), max(batch.recv_ns)
        summary.recv_ns_min = lo if summary.recv_ns_min is None else min(lo, summary.recv_ns_min)
        summary.recv_ns_max = hi if summary.recv_ns_max is None else max(hi, summary.recv_ns_max)
    return table


def write_parquet(
    batches: Iterable[RecordBatch],
    dst: str | Path,
    *,
    metadata: dict[str, Any] | None = None,
    summary: CompactionSummary | None = None,
) -> CompactionSummary:
    """Write record batches as one compacted Parquet capture, atomically.

    Args:
        batches: the records, in the order to keep.
        dst: the ``.parquet`` path to create (replaced if it exists).
        metadata: extra capture metadata for the ``kcap.capture`` footer entry.
        summary: a summary to fill (for example one that already holds read problems).

    Returns:
        What was written.
    """
    dst = Path(dst)
    summary = summary or CompactionSummary()
    tmp = dst.with_name(dst.name + ".tmp")
    writer = pq.ParquetWriter(
        tmp,
        CAPTURE_SCHEMA,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        use_dictionary=list(DICTIONARY_COLUMNS),
        column_encoding=COLUMN_ENCODING,
    )
    try:
        for batch in batches:
            if len(batch):
                writer.write_table(batch_to_table(batch, summary), row_group_size=ROW_GROUP_SIZE)
        footer = {"kcap_version": __version__, **(metadata or {}), **summary.as_metadata()}
        writer.add_key_value_metadata(
            {
                META_FORMAT: RECORD_FORMAT.encode(),
                META_SCHEMA_VERSION: str(PARQUET_SCHEMA_VERSION).encode(),
                META_CAPTURE: json.dumps(footer, sort_keys=True).encode(),
            }
        )
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    fsync_file(tmp)
    tmp.replace(dst)
    fsync_dir(dst.parent)
    return summary


def compact_jsonl(
    src: str | Path,
    dst: str | Path | None = None,
    *,
    metadata: dict[str, Any] | None = None,
) -> tuple[Path, CompactionSummary]:
    """Compact one JSONL capture into Parquet (``x.jsonl`` -> ``x.parquet`` by default).

    A torn last line is skipped and listed in the footer's ``skipped_lines``.

    Raises:
        CaptureFormatError: a damaged line before the last one.
    """
    src = Path(src)
    if dst is None:
        name = src.name.removesuffix(".gz").removesuffix(".part").removesuffix(".jsonl")
        dst = src.with_name(name + ".parquet")
    summary = CompactionSummary()
    meta = {"source": src.name, **(metadata or {})}
    write_parquet(read_jsonl(src, problems=summary.problems), dst, metadata=meta, summary=summary)
    return Path(dst), summary
