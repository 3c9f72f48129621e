"""The capture writer: records encoded at the socket read, written to disk by one thread.

The event loop (the socket reader) encodes each record into its JSONL line and appends it to a
bounded queue; it never touches a file. One writer thread takes the lines, writes them with
``write(2)`` in batches, applies the fsync policy and rotates files. The queue is bounded: when
it is full the record is **not** queued, the loss is counted, logged as an error, and written
as an ``error`` record (``info.code = "queue_full"``) as soon as there is room again; the
caller learns it from the return value (a frame that was not queued is not given to the
session either, so its sid's next frame shows a gap and a fresh snapshot is requested).

Durability (see also :class:`kcap.capture.config.RecordConfig`):

* a record reaches the OS within ``flush_ms`` of being queued, or sooner when
  ``flush_records`` are pending; after that a crash of the process (``kill -9``) loses
  nothing, a crash of the machine loses what was not fsynced;
* ``fsync``: ``always`` after each write, ``interval`` at most ``fsync_ms`` after a write,
  ``close`` only when a file is sealed (every sealed file is fsynced, then renamed);
* a write error (full disk, file size limit) cuts the open file back to its last whole
  record, seals it, and stops the writer; :attr:`CaptureWriter.failure` tells why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import msgspec

from kcap.capture.rotate import JSONL, PART, RotationPolicy, part_path
from kcap.capture.writer_io import OpenFile, RecordQueue, Stop, WriterIO
from kcap.errors import CaptureWriteError
from kcap.schemas.record import ERROR, FRAME, HEADER, encode_record, header_info

log = logging.getLogger(__name__)

_raw_decode = msgspec.json.Decoder(msgspec.Raw).decode


class Conn:
    """A connection's id (``<session>.<attempt>``) and its next record number.

    ``rec`` counts records of this connection that were queued, from 0, without holes;
    ``head`` is the start of its ``frame`` lines, encoded once.
    """

    __slots__ = ("head", "id", "rec")

    def __init__(self, conn_id: str) -> None:
        self.id = conn_id
        self.head = b'{"kind":"frame","conn":' + msgspec.json.encode(conn_id) + b',"rec":'
        self.rec = 0


def stamp_segment(recv_ns: int, mono_ns: int) -> bytes:
    """The middle of a ``frame`` line: both clocks and the ``frame`` key."""
    return b',"recv_ns":%d,"mono_ns":%d,"frame":' % (recv_ns, mono_ns)


def spliceable(data: bytes) -> bool:
    """True when ``data`` is one JSON value with no surrounding space and no line break (the
    rule of :func:`kcap.schemas.record.encode_record` for splicing a frame verbatim)."""
    if 10 in data or 13 in data:  # a line feed or carriage return (``int in bytes``: memchr)
        return False
    try:
        return len(_raw_decode(data)) == len(data)
    except msgspec.DecodeError:
        return False


def encode_frame_line(conn: Conn, rec: int, recv_ns: int, mono_ns: int, data: bytes) -> bytes:
    """The JSONL line of a ``frame`` record: byte for byte what
    :func:`kcap.schemas.record.encode_record` gives, faster for the common case (one JSON
    value without line breaks, spliced verbatim)."""
    if spliceable(data):
        return b"%b%d%b%b}\n" % (conn.head, rec, stamp_segment(recv_ns, mono_ns), data)
    return encode_record(FRAME, conn.id, rec, recv_ns, mono_ns, frame=data)


class LatencyHistogram:
    """Receive-to-write latency (queue + batching + ``write(2)``): 10 µs bins up to 100 ms.

    Updated by the writer thread; read by anyone (approximate while it runs).
    """

    BIN_NS: Final = 10_000
    BINS: Final = 10_000

    def __init__(self) -> None:
        self.counts = [0] * (self.BINS + 1)
        self.total = 0
        self.max_ns = 0

    def add(self, done_mono_ns: int, monos: list[int]) -> None:
        """Count records received at ``monos`` (monotonic ns) and written at ``done_mono_ns``.

        Every record of a small write counts; of a large one (the writer is behind, many
        records per write) every 8th, the first (the oldest) always: an unbiased sample
        that keeps this off the hot path.
        """
        counts, width, top = self.counts, self.BIN_NS, self.BINS
        step = 1 if len(monos) <= 64 else 8  # a sample stands for ``step`` records
        for mono in monos[::step]:
            counts[min((done_mono_ns - mono) // width, top)] += step
        self.total += step * len(range(0, len(monos), step))
        if monos:
            self.max_ns = max(self.max_ns, done_mono_ns - monos[0])

    def percentile_ns(self, q: float) -> int | None:
        """Upper edge of the bin holding quantile ``q`` (0-1), ns; None when empty."""
        if not self.total:
            return None
        rank = q * self.total
        seen = 0
        for i, n in enumerate(self.counts):
            seen += n
            if seen >= rank and n:
                return (i + 1) * self.BIN_NS if i < self.BINS else self.max_ns
        return self.max_ns

    def reset(self) -> None:
        """Forget every sample."""
        self.counts = [0] * (self.BINS + 1)
        self.total = 0
        self.max_ns = 0


SealedHook = Callable[[Path], None]
ErrorHook = Callable[[BaseException, Path | None], None]


class CaptureWriter:
    """Bounded queue + writer thread + rotation (see the module docstring).

    Args:
        out_dir: capture root (files go to ``out_dir/YYYY-MM-DD/``).
        session: recording session id (in file names and ``conn`` ids).
        metadata: capture metadata for every file's header record.
        rotation: when to start a new file.
        flush_records / flush_ms: write batching bounds.
        fsync / fsync_ms: fsync policy.
        queue_records: queue capacity in records.
        on_sealed: called (in the writer thread) with each sealed ``.jsonl`` path.
        on_error: called (in the writer thread) when writing fails, with the exception and the
            sealed path of the file that was open (if any).
    """

    def __init__(
        self,
        out_dir: Path,
        session: str,
        metadata: dict[str, Any],
        *,
        rotation: RotationPolicy,
        flush_records: int = 1000,
        flush_ms: float = 5.0,
        fsync: str = "interval",
        fsync_ms: float = 1000.0,
        queue_records: int = 250_000,
        on_sealed: SealedHook | None = None,
        on_error: ErrorHook | None = None,
    ) -> None:
        self.out_dir = out_dir
        self.session = session
        self.metadata = metadata
        self.rotation = rotation
        self.flush_records = flush_records
        self.flush_ns = int(flush_ms * 1e6)
        self.fsync = fsync
        self.fsync_ns = int(fsync_ms * 1e6)
        self.capacity = queue_records
        self.on_sealed = on_sealed
        self.on_error = on_error
        self.control = Conn(f"{session}.0")
        self.latency = LatencyHistogram()
        self.failure: BaseException | None = None
        # loop side
        self.records = 0
        self._bytes_closed = 0
        self.dropped = 0
        self.files = 0
        self._dropped_pending = 0
        self._slow = False  # records are being dropped, or the writer failed
        self._file_bytes = 0
        self._deadline_mono = 0
        self._deadline_ns = 0
        self._max_bytes = 0
        self._current: Path | None = None
        self._stamp_ns = self._stamp_mono_ns = -1
        self._stamp = b""
        self.queue = RecordQueue()
        self._monos = self.queue.monos
        self._push_line = self.queue.lines.append
        self._push_mono = self.queue.monos.append
        self._wake = self.queue.wake
        self._thread: threading.Thread | None = None
        self._io = WriterIO(self)

    # -- loop side ------------------------------------------------------------------------------

    def start(self, now_ns: int, mono_ns: int) -> None:
        """Open the first file and start the writer thread."""
        self.open_first(now_ns, mono_ns)
        self.start_thread()

    def open_first(self, now_ns: int, mono_ns: int) -> None:
        """Queue the first file's header (records may be queued from now on)."""
        self._open(now_ns, mono_ns, "start")

    def start_thread(self) -> None:
        """Start the writer thread (after :meth:`open_first`)."""
        self._thread = threading.Thread(target=self._io.run, name="kcap-writer", daemon=True)
        self._thread.start()

    @property
    def current_path(self) -> Path | None:
        """The ``.jsonl.part`` file records are going to now."""
        return self._current

    @property
    def queue_depth(self) -> int:
        """Records waiting for the writer."""
        return len(self._monos)

    def lag_ns(self, mono_ns: int) -> int:
        """Age of the oldest record not yet written, ns (0 when the queue is empty)."""
        try:
            return max(0, mono_ns - self._monos[0])
        except IndexError:
            return 0

    def frame(
        self,
        conn: Conn,
        recv_ns: int,
        mono_ns: int,
        data: bytes,
        binary: bool,
        splice: bool | None = None,
    ) -> bool:
        """Queue a received frame as a ``frame`` record (the hot path: one socket read's
        frames share their stamp, whose encoding is cached).

        Args:
            conn: the connection (its next record number is used).
            recv_ns / mono_ns: the socket read's stamps.
            data: the message's bytes, as received.
            binary: it came as a binary message (stored base64).
            splice: whether ``data`` can be spliced verbatim, when the caller already knows
                (:func:`kcap.capture.session.peek`); None: checked here.

        Returns:
            False when it was not queued (queue full, or the writer failed): counted and
            reported as described in the module docstring.
        """
        monos = self._monos
        if binary or self._slow or len(monos) >= self.capacity:
            return self._frame_slow(conn, recv_ns, mono_ns, data, binary, splice)
        if mono_ns != self._stamp_mono_ns or recv_ns != self._stamp_ns:
            self._new_stamp(recv_ns, mono_ns)  # a new socket read: also the time to rotate
        if splice if splice is not None else spliceable(data):
            line = b"%b%d%b%b}\n" % (conn.head, conn.rec, self._stamp, data)
        else:
            line = encode_record(FRAME, conn.id, conn.rec, recv_ns, mono_ns, frame=data)
        file_bytes = self._file_bytes + len(line)
        if file_bytes > self._max_bytes:
            self._open(recv_ns, mono_ns, "size")
            file_bytes = self._file_bytes + len(line)
        self._file_bytes = file_bytes
        conn.rec += 1
        self._push_line(line)
        self._push_mono(mono_ns)
        n = len(monos)
        if n == 1 or n == self.flush_records:
            self._wake.set()
        self.records += 1
        return True

    def _new_stamp(self, recv_ns: int, mono_ns: int) -> None:
        self._stamp_ns, self._stamp_mono_ns = recv_ns, mono_ns
        self._stamp = stamp_segment(recv_ns, mono_ns)
        if recv_ns >= self._deadline_ns:
            self._open(recv_ns, mono_ns, "date")
        elif mono_ns >= self._deadline_mono:
            self._open(recv_ns, mono_ns, "time")

    @property
    def queued_bytes(self) -> int:
        """Bytes of records queued so far (all files)."""
        return self._bytes_closed + self._file_bytes

    def _frame_slow(
        self, conn: Conn, recv_ns: int, mono_ns: int, data: bytes, binary: bool, splice: bool | None
    ) -> bool:
        if len(self._monos) >= self.capacity or self.failure is not None:
            self._drop()
            return False
        if binary:
            return self.record(FRAME, conn, recv_ns, mono_ns, frame=data, binary=True)
        self._report_drops(recv_ns, mono_ns)
        return self.frame(conn, recv_ns, mono_ns, data, binary, splice)

    def record(
        self,
        kind: str,
        conn: Conn,
        recv_ns: int,
        mono_ns: int,
        *,
        info: dict[str, Any] | None = None,
        frame: bytes | None = None,
        binary: bool = False,
    ) -> bool:
        """Queue any record (control records, sent commands, binary frames).

        Returns:
            False when it was not queued (see :meth:`frame`).
        """
        if len(self._monos) >= self.capacity or self.failure is not None:
            self._drop()
            return False
        if self._dropped_pending:
            self._report_drops(recv_ns, mono_ns)
        line = encode_record(
            kind, conn.id, conn.rec, recv_ns, mono_ns, frame=frame, binary=binary, info=info
        )
        return self._put(conn, line, recv_ns, mono_ns)

    def rotate_if_due(self, now_ns: int, mono_ns: int) -> None:
        """Start a new file if the open one is due (called on a timer when the feed is quiet)."""
        if self.failure is not None:
            return
        if now_ns >= self._deadline_ns:
            self._open(now_ns, mono_ns, "date")
        elif mono_ns >= self._deadline_mono:
            self._open(now_ns, mono_ns, "time")

    def close(self, timeout_secs: float | None = None) -> None:
        """Write everything queued, seal the open file and stop the thread."""
        if self._thread is None:
            return
        self.queue.put_marker(Stop(), time.monotonic_ns())
        self._thread.join(timeout_secs)
        self._thread = None

    def _put(self, conn: Conn, line: bytes, recv_ns: int, mono_ns: int) -> bool:
        size = len(line)
        self._rotate_for(recv_ns, mono_ns, size)
        conn.rec += 1
        self._push_line(line)
        self._push_mono(mono_ns)
        n = len(self._monos)
        if n == 1 or n == self.flush_records:
            self._wake.set()
        self.records += 1
        self._file_bytes += size
        return True

    def _rotate_for(self, recv_ns: int, mono_ns: int, size: int) -> None:
        """Start a new file first if this record is past a date, age or size limit."""
        if recv_ns >= self._deadline_ns:
            self._open(recv_ns, mono_ns, "date")
        elif mono_ns >= self._deadline_mono:
            self._open(recv_ns, mono_ns, "time")
        elif self._file_bytes + size > self._max_bytes:
            self._open(recv_ns, mono_ns, "size")

    def _open(self, now_ns: int, mono_ns: int, reason: str) -> None:
        index = self.files + 1
        path = part_path(self.out_dir, self.session, index, now_ns)
        info = header_info(
            **self.metadata,
            session=self.session,
            file_index=index,
            opened_reason=reason,
            previous=self._current.name.removesuffix(PART) + JSONL if self._current else None,
        )
        control = self.control
        header = encode_record(HEADER, control.id, control.rec, now_ns, mono_ns, info=info)
        control.rec += 1
        self.files = index
        self._current = path
        self.queue.put_marker(OpenFile(path, header), mono_ns)
        self._bytes_closed += self._file_bytes
        self._file_bytes = len(header)
        self._deadline_mono, self._deadline_ns, self._max_bytes = self.rotation.deadlines(
            now_ns, mono_ns
        )

    def _drop(self) -> None:
        if not self._dropped_pending:
            log.error(
                "writer queue full (%d records): records are being LOST; the disk is too slow "
                "or stalled",
                self.capacity,
            )
        self.dropped += 1
        self._dropped_pending += 1
        self._slow = True

    def _report_drops(self, now_ns: int, mono_ns: int) -> None:
        if not self._dropped_pending:
            return
        lost, self._dropped_pending = self._dropped_pending, 0
        self._slow = self.failure is not None
        log.error("writer queue has room again; %d records were lost", lost)
        info = {
            "code": "queue_full",
            "dropped": lost,
            "message": f"writer queue full: {lost} records lost",
        }
        line = encode_record(ERROR, self.control.id, self.control.rec, now_ns, mono_ns, info=info)
        self._put(self.control, line, now_ns, mono_ns)


def write_error(
    exc: BaseException, path: Path | None, sealed: Path | None, records: int
) -> CaptureWriteError:
    """The error ``kcap record`` stops with when the writer failed (disk full, size limit)."""
    reason = f"{exc.strerror} (errno {exc.errno})" if isinstance(exc, OSError) else str(exc)
    kept = f"every record up to the error is sealed in {sealed}; " if sealed else ""
    return CaptureWriteError(
        f"cannot write {path}: {reason}. {kept}files closed before are intact. "
        "Free disk space (or raise the file size limit) and run kcap record again.",
        path=str(path),
        records=records,
    )
