"""Finalizing a sealed capture: Parquet, verification against the JSONL, then the manifest.

:func:`finalize` turns ``x.jsonl`` into ``x.parquet`` (temporary name, fsynced, renamed; by
:func:`kcap.capture.compact.compact_jsonl`), checks every Parquet row against its JSONL record
(kind, conn, rec, both clocks, origin, info and the frame's bytes), and writes
``x.manifest.json`` last (temporary name, fsynced, renamed): a manifest on disk means the
capture is complete. Only then, unless the JSONL is kept, is the JSONL deleted. Running it
again is harmless: a capture whose manifest matches its Parquet is left alone.

The manifest (``format: kcap-manifest``, ``version: 1``) holds the JSONL's and Parquet's
size and sha256, record counts by kind and by message type, the receive-time range, every
connection, every ``(conn, sid)`` with its channel and seq range, every gap, resnapshot,
error and disconnect, the markets, records lost to a full queue, and the repair done after a
crash (if any).

Run as ``python -m kcap.capture.manifest [--keep-jsonl] [--nice] FILE.jsonl ...`` (what the recorder's
background compactor does).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kcap import __version__
from kcap.capture.compact import compact_jsonl
from kcap.capture.rotate import MANIFEST, PARQUET, REPAIR, TMP, fsync_dir, sibling
from kcap.errors import CaptureFormatError
from kcap.replay.readers import read_jsonl, read_parquet
from kcap.schemas.record import DISCONNECT, ERROR, GAP, HEADER, RESNAPSHOT, SUBSCRIPTION

log = logging.getLogger(__name__)

MANIFEST_FORMAT: Final = "kcap-manifest"
MANIFEST_VERSION: Final = 1
_DESCRIBE_COLUMNS: Final = (
    "kind",
    "conn",
    "recv_ns",
    "type",
    "sid",
    "seq",
    "market_ticker",
    "info",
)
_LIST_CAP: Final = 1000
"""Most entries kept per list (gaps, errors ...); the count is always exact."""


def sha256_file(path: Path) -> tuple[str, int]:
    """``(hex sha256, size in bytes)`` of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def write_json_atomic(path: Path, obj: dict[str, Any]) -> None:
    """Write JSON to ``path`` via a temporary name: fsynced, renamed, directory fsynced."""
    tmp = path.with_name(path.name + TMP)
    with tmp.open("wb") as fh:
        fh.write(json.dumps(obj, indent=1, sort_keys=True).encode() + b"\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    fsync_dir(path.parent)


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest at ``path``, or None when absent or not a kcap manifest."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        return None
    return data


def finalize(jsonl: Path, *, keep_jsonl: bool = True) -> dict[str, Any] | None:
    """Compact, verify and commit one sealed JSONL capture (idempotent, see module docstring).

    Args:
        jsonl: a sealed ``.jsonl`` capture.
        keep_jsonl: keep the JSONL after the manifest is written.

    Returns:
        The manifest, or None when another process holds the capture (it finalizes it).

    Raises:
        CaptureFormatError: a damaged line before the last one, or a Parquet file that does not
            match its JSONL (then no manifest is written and the JSONL is kept).
        OSError: the disk failed (the JSONL is kept; running again retries).
    """
    jsonl = Path(jsonl)
    manifest_path = sibling(jsonl, MANIFEST)
    parquet = sibling(jsonl, PARQUET)
    try:
        fd = os.open(jsonl, os.O_RDONLY)
    except FileNotFoundError:
        return read_manifest(manifest_path)  # finalized (and deleted) by someone else
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        existing = read_manifest(manifest_path)
        jsonl_sha, jsonl_bytes = sha256_file(jsonl)
        if existing is not None and _committed(existing, jsonl_sha, parquet):
            manifest = existing
        else:
            manifest = _compact_and_commit(jsonl, parquet, manifest_path, jsonl_sha, jsonl_bytes)
        if not keep_jsonl:
            jsonl.unlink()
            fsync_dir(jsonl.parent)
        return manifest
    finally:
        os.close(fd)


def _committed(manifest: dict[str, Any], jsonl_sha: str, parquet: Path) -> bool:
    if manifest.get("jsonl", {}).get("sha256") != jsonl_sha or not parquet.exists():
        return False
    return bool(sha256_file(parquet)[0] == manifest.get("parquet", {}).get("sha256"))


def _compact_and_commit(
    jsonl: Path, parquet: Path, manifest_path: Path, jsonl_sha: str, jsonl_bytes: int
) -> dict[str, Any]:
    repair_path = sibling(jsonl, REPAIR)
    repair = read_manifest_like(repair_path)
    _, summary = compact_jsonl(jsonl, parquet, metadata={"jsonl_sha256": jsonl_sha})
    rows = verify_parquet(jsonl, parquet)
    parquet_sha, parquet_bytes = sha256_file(parquet)
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "kcap_version": __version__,
        "name": jsonl.name.removesuffix(".jsonl"),
        "jsonl": {"name": jsonl.name, "bytes": jsonl_bytes, "sha256": jsonl_sha},
        "parquet": {
            "name": parquet.name,
            "bytes": parquet_bytes,
            "sha256": parquet_sha,
            "rows": rows,
        },
        "skipped_lines": [f"{p.line}: {p.message}" for p in summary.problems],
        "repair": repair,
        **describe(pq.read_table(parquet, columns=list(_DESCRIBE_COLUMNS))),
    }
    write_json_atomic(manifest_path, manifest)
    repair_path.unlink(missing_ok=True)
    log.info("finalized %s: %d records, parquet %d bytes", jsonl.name, rows, parquet_bytes)
    return manifest


def read_manifest_like(path: Path) -> dict[str, Any] | None:
    """A small JSON sidecar (the repair note), or None."""
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _records(batches: Iterator[Any]) -> Iterator[tuple[Any, ...]]:
    for b in batches:
        for i in range(len(b)):
            frame = b.frame[i]
            yield (
                b.kind[i],
                b.conn[i],
                b.rec[i],
                b.recv_ns[i],
                b.mono_ns[i],
                b.origin[i],
                b.info[i],
                None if frame is None else bytes(frame),
            )


def verify_parquet(jsonl: Path, parquet: Path) -> int:
    """Check the Parquet capture record by record against the JSONL it came from.

    Returns:
        The number of records (equal in both).

    Raises:
        CaptureFormatError: a record differs, or one file has more records.
    """
    count = 0
    sentinel = object()
    left = _records(read_jsonl(jsonl))
    right = _records(read_parquet(parquet))
    while True:
        a = next(left, sentinel)
        b = next(right, sentinel)
        if a is sentinel and b is sentinel:
            return count
        if a != b:
            raise CaptureFormatError(
                f"Parquet record {count} does not match the JSONL record "
                f"({'missing' if b is sentinel else 'different'}); the JSONL is kept",
                path=str(parquet),
            )
        count += 1


def _counts(column: pa.ChunkedArray) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in pc.value_counts(column.drop_null()).to_pylist():
        out[str(item["values"])] = int(item["counts"])
    return dict(sorted(out.items()))


def _infos(table: pa.Table, kind: str) -> list[dict[str, Any]]:
    rows = table.filter(pc.equal(table["kind"], kind)).select(["conn", "recv_ns", "info"])
    out = []
    for row in rows.to_pylist():
        info = json.loads(row["info"]) if row["info"] else {}
        out.append({"conn": row["conn"], "recv_ns": row["recv_ns"], **info})
    return out


def describe(table: pa.Table) -> dict[str, Any]:
    """The manifest's content fields, computed from a compacted capture table (at least the
    columns kind, conn, recv_ns, type, sid, seq, market_ticker and info)."""
    table = pa.table({name: _plain(table[name]) for name in table.column_names})
    recv = table["recv_ns"]
    subscriptions = _infos(table, SUBSCRIPTION)
    channels = {(s["conn"], s.get("sid")): s.get("channel") for s in subscriptions}
    frames = table.filter(pc.is_valid(table["sid"]))
    sids = []
    if frames.num_rows:
        grouped = frames.group_by(["conn", "sid"], use_threads=False).aggregate(
            [("seq", "min"), ("seq", "max"), ("seq", "count"), ("sid", "count")]
        )
        for row in sorted(grouped.to_pylist(), key=lambda r: (r["conn"], r["sid"])):
            sids.append(
                {
                    "conn": row["conn"],
                    "sid": row["sid"],
                    "channel": channels.get((row["conn"], row["sid"])),
                    "frames": row["sid_count"],
                    "seq_first": row["seq_min"],
                    "seq_last": row["seq_max"],
                    "seq_frames": row["seq_count"],
                }
            )
    errors = _infos(table, ERROR)
    gaps = _infos(table, GAP)
    headers = _infos(table, HEADER)
    markets = sorted(str(m) for m in pc.unique(table["market_ticker"].drop_null()).to_pylist())
    return {
        "records": table.num_rows,
        "kinds": _counts(table["kind"]),
        "types": _counts(table["type"]),
        "recv_ns_min": pc.min(recv).as_py(),
        "recv_ns_max": pc.max(recv).as_py(),
        "header": headers[0] if headers else None,
        "connections": sorted(str(c) for c in pc.unique(table["conn"]).to_pylist()),
        "sids": sids,
        "gap_count": len(gaps),
        "gaps": gaps[:_LIST_CAP],
        "resnapshots": _infos(table, RESNAPSHOT)[:_LIST_CAP],
        "error_count": len(errors),
        "errors": errors[:_LIST_CAP],
        "disconnects": _infos(table, DISCONNECT)[:_LIST_CAP],
        "dropped": sum(int(e.get("dropped", 0)) for e in errors if e.get("code") == "queue_full"),
        "market_count": len(markets),
        "markets": markets[:_LIST_CAP],
    }


def _plain(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def main(argv: list[str] | None = None) -> int:
    """``python -m kcap.capture.manifest [--keep-jsonl] [--nice] FILE.jsonl ...``; exit 1 on a
    failure. ``--nice`` lowers the process priority (the recorder's background compactor)."""
    args = list(sys.argv[1:] if argv is None else argv)
    keep = "--keep-jsonl" in args
    if "--nice" in args:
        with contextlib.suppress(OSError):
            os.nice(10)
    paths = [Path(a) for a in args if not a.startswith("--")]
    logging.basicConfig(level=logging.INFO, format="kcap compact: %(message)s")
    status = 0
    for path in paths:
        try:
            finalize(path, keep_jsonl=keep)
        except (OSError, CaptureFormatError) as exc:
            log.error("%s: %s", path, exc)
            status = 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
