"""Reading captures: JSONL and Parquet files, directories and globs, in column batches.

A :class:`RecordBatch` holds up to a few tens of thousands of records as parallel Python
lists, the shape the replay hot path wants. Readers check the format version, report a torn
last line (a crashed writer) and skip it, and refuse a damaged line elsewhere unless told to
skip damaged lines, in which case every skipped line is reported. Problems go to the
``problems`` list the caller passes, and to the ``kcap.replay`` logger.
"""

from __future__ import annotations

import glob
import gzip
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from kcap.errors import CaptureFormatError, CaptureNotFoundError
from kcap.schemas.parquet import (
    META_FORMAT,
    META_SCHEMA_VERSION,
    PARQUET_SCHEMA_VERSION,
)
from kcap.schemas.record import (
    HEADER,
    RECORD_FORMAT,
    RECORD_VERSION,
    Record,
    record_decoder,
    record_frame,
)

log = logging.getLogger("kcap.replay")

CAPTURE_SUFFIXES = (".jsonl", ".jsonl.part", ".jsonl.gz", ".parquet")
"""File name endings kcap reads as captures."""

_CHUNK_BYTES = 1 << 22
BATCH_ROWS = 32_768
"""Records per batch produced by the readers."""


@dataclass(slots=True)
class RecordBatch:
    """Capture records as parallel lists (one entry per record, same order in every list).

    ``frame`` holds each frame's bytes (or a buffer over them), None when the record has none.
    ``info`` holds each record's info object (None when absent). A batch read with
    ``replay_only`` has None for every ``rec``, ``mono_ns``, ``origin`` and ``info``.
    """

    kind: list[str] = field(default_factory=list)
    conn: list[str] = field(default_factory=list)
    rec: list[Any] = field(default_factory=list)
    recv_ns: list[int] = field(default_factory=list)
    mono_ns: list[Any] = field(default_factory=list)
    origin: list[str | None] = field(default_factory=list)
    info: list[dict[str, Any] | None] = field(default_factory=list)
    frame: list[Any] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.kind)

    def slice(self, start: int, stop: int) -> RecordBatch:
        """Records ``start`` to ``stop`` (exclusive) as a new batch."""
        return RecordBatch(
            self.kind[start:stop],
            self.conn[start:stop],
            self.rec[start:stop],
            self.recv_ns[start:stop],
            self.mono_ns[start:stop],
            self.origin[start:stop],
            self.info[start:stop],
            self.frame[start:stop],
        )

    def extend(self, other: RecordBatch) -> None:
        """Append every record of ``other``."""
        self.kind.extend(other.kind)
        self.conn.extend(other.conn)
        self.rec.extend(other.rec)
        self.recv_ns.extend(other.recv_ns)
        self.mono_ns.extend(other.mono_ns)
        self.origin.extend(other.origin)
        self.info.extend(other.info)
        self.frame.extend(other.frame)

    def append_record(self, record: Record) -> None:
        """Append one decoded JSONL record."""
        self.kind.append(record.kind)
        self.conn.append(record.conn)
        self.rec.append(record.rec)
        self.recv_ns.append(record.recv_ns)
        self.mono_ns.append(record.mono_ns)
        self.origin.append(record.origin)
        self.info.append(record.info)
        self.frame.append(record.frame if record.frame else record_frame(record))


@dataclass(frozen=True, slots=True)
class ReadProblem:
    """Something wrong in a capture file that the reader skipped: where and what."""

    path: str
    line: int
    message: str


# ---------------------------------------------------------------------------------------------
# finding files


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Capture files named by files, directories (searched recursively) and glob patterns.

    Returns:
        The files, de-duplicated, in sorted path order (the merge's tie-break order).

    Raises:
        CaptureNotFoundError: a path or pattern matched no capture file.
    """
    found: dict[Path, None] = {}
    for item in paths:
        text = str(item)
        path = Path(text)
        if path.is_dir():
            matches = [p for p in sorted(path.rglob("*")) if _is_capture(p)]
        elif path.exists():
            matches = [path]
        elif glob.has_magic(text):
            matches = [
                Path(p)
                # glob.glob takes absolute patterns, Path.glob does not
                for p in sorted(glob.glob(text, recursive=True))  # noqa: PTH207
                if _is_capture(Path(p))
            ]
        else:
            raise CaptureNotFoundError(f"no such capture file or directory: {text}")
        if not matches:
            raise CaptureNotFoundError(
                f"{text} holds no capture file (expected names ending in {', '.join(CAPTURE_SUFFIXES)})"
            )
        for m in matches:
            found[m] = None
    return sorted(found)


def _is_capture(path: Path) -> bool:
    return path.is_file() and path.name.endswith(CAPTURE_SUFFIXES)


# ---------------------------------------------------------------------------------------------
# JSONL


def _open_binary(path: Path) -> BinaryIO:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def read_jsonl(
    path: str | Path,
    *,
    skip_damaged: bool = False,
    problems: list[ReadProblem] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Iterator[RecordBatch]:
    """Read a JSONL capture file in batches.

    Args:
        path: a ``.jsonl``, ``.jsonl.part`` or ``.jsonl.gz`` capture.
        skip_damaged: report and skip a damaged line anywhere instead of raising.
        problems: list to which skipped lines are appended as :class:`ReadProblem`.
        batch_rows: records per batch.

    Yields:
        :class:`RecordBatch` values, in file order.

    Raises:
        CaptureFormatError: a damaged line before the last one (unless ``skip_damaged``), or a
            header of another format or of a newer version.
    """
    path = Path(path)
    decode = record_decoder.decode
    batch = RecordBatch()
    line_no = 0
    pending = b""
    with _open_binary(path) as fh:
        while True:
            chunk = fh.read(_CHUNK_BYTES)
            data = pending + chunk
            if not chunk:
                lines = [data] if data else []
                pending = b""
            else:
                cut = data.rfind(b"\n")
                if cut < 0:
                    pending = data
                    continue
                lines = data[: cut + 1].splitlines()
                pending = data[cut + 1 :]
            last_chunk = not chunk
            for i, line in enumerate(lines):
                line_no += 1
                if not line.strip():
                    continue
                try:
                    record = decode(line)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    torn = last_chunk and i == len(lines) - 1
                    _damaged(path, line_no, line, exc, torn, skip_damaged, problems)
                    continue
                if record.kind == HEADER:
                    check_header(record.info, str(path))
                batch.append_record(record)
                if len(batch) >= batch_rows:
                    yield batch
                    batch = RecordBatch()
            if last_chunk:
                break
    if len(batch):
        yield batch


def _damaged(
    path: Path,
    line_no: int,
    line: bytes,
    exc: Exception,
    torn: bool,
    skip_damaged: bool,
    problems: list[ReadProblem] | None,
) -> None:
    what = "torn last line (the writer stopped mid-line)" if torn else "damaged line"
    message = f"{what}, {len(line)} bytes skipped: {exc}"
    if not torn and not skip_damaged:
        raise CaptureFormatError(
            f"damaged record ({exc}); pass skip_damaged / --skip-damaged to skip such lines",
            path=str(path),
            line=line_no,
        )
    log.warning("%s:%d: %s", path, line_no, message)
    if problems is not None:
        problems.append(ReadProblem(str(path), line_no, message))


def check_header(info: dict[str, Any] | None, where: str) -> None:
    """Check a header record's ``info``: format ``kcap-capture`` and a version kcap can read.

    Raises:
        CaptureFormatError: another format, or a newer version than :data:`RECORD_VERSION`.
    """
    info = info or {}
    if info.get("format") != RECORD_FORMAT:
        raise CaptureFormatError(
            f"expected a header with format {RECORD_FORMAT!r}, found {info.get('format')!r}",
            path=where,
        )
    version = info.get("version")
    if not isinstance(version, int) or version > RECORD_VERSION:
        raise CaptureFormatError(
            f"capture format version {version!r} is newer than this kcap reads "
            f"(<= {RECORD_VERSION}); upgrade kcap",
            path=where,
        )


# ---------------------------------------------------------------------------------------------
# Parquet

_PARQUET_COLUMNS = ["kind", "conn", "rec", "recv_ns", "mono_ns", "origin", "info", "frame"]
REPLAY_COLUMNS = ("kind", "conn", "recv_ns", "frame")
"""What replay needs; reading only these leaves ``rec``, ``mono_ns``, ``origin`` and ``info``
of each batch filled with None."""


def _column(array: pa.Array) -> list[Any]:
    """A column as a Python list, fast: C-level conversion instead of per-value scalars."""
    if pa.types.is_dictionary(array.type):
        values = np.array([*array.dictionary.to_pylist(), None], dtype=object)
        indices = array.indices.fill_null(len(values) - 1).to_numpy()
        return values[indices].tolist()  # type: ignore[no-any-return]
    if pa.types.is_integer(array.type) and array.null_count == 0:
        return array.to_numpy().tolist()  # type: ignore[no-any-return]
    if pa.types.is_binary(array.type):
        return array.to_numpy(zero_copy_only=False).tolist()  # type: ignore[no-any-return]
    as_list: list[Any] = array.to_pylist()
    return as_list


def parquet_metadata(path: str | Path) -> dict[str, Any]:
    """The ``kcap.capture`` footer metadata of a compacted capture (checked for version).

    Raises:
        CaptureFormatError: not a kcap capture, a newer schema version, or unreadable.
    """
    try:
        meta = pq.read_metadata(path).metadata or {}
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise CaptureFormatError(f"unreadable Parquet file: {exc}", path=str(path)) from exc
    if meta.get(META_FORMAT) != RECORD_FORMAT.encode():
        raise CaptureFormatError(
            f"not a kcap capture (footer {META_FORMAT.decode()!r} is {meta.get(META_FORMAT)!r})",
            path=str(path),
        )
    version = int(meta.get(META_SCHEMA_VERSION, b"0"))
    if version > PARQUET_SCHEMA_VERSION:
        raise CaptureFormatError(
            f"Parquet schema version {version} is newer than this kcap reads "
            f"(<= {PARQUET_SCHEMA_VERSION}); upgrade kcap",
            path=str(path),
        )
    capture = meta.get(b"kcap.capture")
    return json.loads(capture) if capture else {}


def read_parquet(
    path: str | Path, *, batch_rows: int = BATCH_ROWS, replay_only: bool = False
) -> Iterator[RecordBatch]:
    """Read a compacted Parquet capture in batches, in file order.

    Args:
        path: the ``.parquet`` capture.
        batch_rows: records per batch.
        replay_only: read only :data:`REPLAY_COLUMNS` (the others come back as None).

    Raises:
        CaptureFormatError: not a kcap capture, newer version, or a damaged file (reported
            with the path, never half-read in silence).
    """
    parquet_metadata(path)
    decode_info = msgspec.json.Decoder(dict[str, Any]).decode
    columns = list(REPLAY_COLUMNS) if replay_only else _PARQUET_COLUMNS
    try:
        pf = pq.ParquetFile(path)
        for rb in pf.iter_batches(batch_size=batch_rows, columns=columns):
            n = rb.num_rows
            rec: list[Any]
            mono: list[Any]
            origin: list[Any]
            info: list[Any]
            if replay_only:
                rec = mono = origin = info = [None] * n
            else:
                rec, mono = _column(rb.column("rec")), _column(rb.column("mono_ns"))
                origin = _column(rb.column("origin"))
                info = [None if s is None else decode_info(s) for s in _column(rb.column("info"))]
            yield RecordBatch(
                _column(rb.column("kind")),
                _column(rb.column("conn")),
                rec,
                _column(rb.column("recv_ns")),
                mono,
                origin,
                info,
                _column(rb.column("frame")),
            )
    except CaptureFormatError:
        raise
    except (OSError, ValueError) as exc:
        raise CaptureFormatError(f"damaged Parquet file: {exc}", path=str(path)) from exc


def first_recv_ns(path: str | Path) -> int | None:
    """Receive time of a capture's first record (its start, since records are written in
    receive order), read cheaply: the Parquet footer, or the first JSONL line. None if unknown.
    """
    name = str(path)
    try:
        if name.endswith(".parquet"):
            start = parquet_metadata(path).get("recv_ns_min")
            return start if isinstance(start, int) else None
        with _open_binary(Path(path)) as fh:
            for line in fh:
                if line.strip():
                    return int(record_decoder.decode(line).recv_ns)
    except (CaptureFormatError, OSError, EOFError, msgspec.DecodeError, msgspec.ValidationError):
        return None  # the full read reports the problem
    return None


def read_capture(
    path: str | Path,
    *,
    skip_damaged: bool = False,
    problems: list[ReadProblem] | None = None,
    batch_rows: int = BATCH_ROWS,
    replay_only: bool = False,
) -> Iterator[RecordBatch]:
    """Read one capture file of any supported kind (by its name's ending).

    ``replay_only`` lets a Parquet reader skip the columns replay does not use.
    """
    name = str(path)
    if name.endswith(".parquet"):
        return read_parquet(path, batch_rows=batch_rows, replay_only=replay_only)
    return read_jsonl(path, skip_damaged=skip_damaged, problems=problems, batch_rows=batch_rows)
