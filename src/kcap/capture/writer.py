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

import fcntl
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import msgspec

from kcap.capture.rotate import JSONL, PART, RotationPolicy, fsync_dir, part_path, publish
from kcap.schemas.record import ERROR, FRAME, HEADER, encode_record, header_info

log = logging.getLogger(__name__)

_raw_decode = msgspec.json.Decoder(msgspec.Raw).decode


class Conn:
    """A connection's id (``<session>.<attempt>``) and its next record number.

    ``rec`` counts records of this connection that were queued, from 0, without holes.
    """

    __slots__ = ("id", "quoted", "rec")

    def __init__(self, conn_id: str) -> None:
        self.id = conn_id
        self.quoted = msgspec.json.encode(conn_id)
        self.rec = 0


def encode_frame_line(conn: Conn, rec: int, recv_ns: int, mono_ns: int, data: bytes) -> bytes:
    """The JSONL line of a ``frame`` record: byte for byte what
    :func:`kcap.schemas.record.encode_record` gives, faster for the common case (one JSON
    value without line breaks, spliced verbatim)."""
    if b"\n" not in data and b"\r" not in data:
        try:
            ok = len(_raw_decode(data)) == len(data)
        except msgspec.DecodeError:
            ok = False
        if ok:
            return b'{"kind":"frame","conn":%b,"rec":%d,"recv_ns":%d,"mono_ns":%d,"frame":%b}\n' % (
                conn.quoted,
                rec,
                recv_ns,
                mono_ns,
                data,
            )
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
        """Count records queued at ``monos`` (monotonic ns) and written at ``done_mono_ns``."""
        counts, width, top = self.counts, self.BIN_NS, self.BINS
        for mono in monos:
            counts[min((done_mono_ns - mono) // width, top)] += 1
        self.total += len(monos)
        if monos:
            self.max_ns = max(self.max_ns, done_mono_ns - min(monos))

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


class _Open:
    """Queue marker: seal the current file, open ``path`` and write ``header`` first."""

    __slots__ = ("header", "path")

    def __init__(self, path: Path, header: bytes) -> None:
        self.path = path
        self.header = header


class _Stop:
    """Queue marker: seal the current file and end the thread."""


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
        self.bytes = 0
        self.dropped = 0
        self.files = 0
        self._dropped_pending = 0
        self._file_bytes = 0
        self._deadline_mono = 0
        self._deadline_ns = 0
        self._max_bytes = 0
        self._current: Path | None = None
        self._queue: deque[tuple[int, Any]] = deque()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._io = _WriterIO(self)

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
        return len(self._queue)

    def lag_ns(self, mono_ns: int) -> int:
        """Age of the oldest record not yet written, ns (0 when the queue is empty)."""
        try:
            return max(0, mono_ns - self._queue[0][0])
        except IndexError:
            return 0

    def frame(self, conn: Conn, recv_ns: int, mono_ns: int, data: bytes, binary: bool) -> bool:
        """Queue a received frame as a ``frame`` record (the hot path).

        Returns:
            False when it was not queued (queue full, or the writer failed): counted and
            reported as described in the module docstring.
        """
        if binary:
            return self.record(FRAME, conn, recv_ns, mono_ns, frame=data, binary=True)
        if len(self._queue) >= self.capacity or self.failure is not None:
            self._drop()
            return False
        if self._dropped_pending:
            self._report_drops(recv_ns, mono_ns)
        line = encode_frame_line(conn, conn.rec, recv_ns, mono_ns, data)
        return self._put(conn, line, recv_ns, mono_ns)

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
        if len(self._queue) >= self.capacity or self.failure is not None:
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
        self._queue.append((time.monotonic_ns(), _Stop()))
        self._wake.set()
        self._thread.join(timeout_secs)
        self._thread = None

    def _put(self, conn: Conn, line: bytes, recv_ns: int, mono_ns: int) -> bool:
        size = len(line)
        if recv_ns >= self._deadline_ns:
            self._open(recv_ns, mono_ns, "date")
        elif mono_ns >= self._deadline_mono:
            self._open(recv_ns, mono_ns, "time")
        elif self._file_bytes + size > self._max_bytes:
            self._open(recv_ns, mono_ns, "size")
        conn.rec += 1
        queue = self._queue
        queue.append((mono_ns, line))
        n = len(queue)
        if n == 1 or n == self.flush_records:
            self._wake.set()
        self.records += 1
        self.bytes += size
        self._file_bytes += size
        return True

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
        self._queue.append((mono_ns, _Open(path, header)))
        self._wake.set()
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

    def _report_drops(self, now_ns: int, mono_ns: int) -> None:
        lost, self._dropped_pending = self._dropped_pending, 0
        log.error("writer queue has room again; %d records were lost", lost)
        info = {
            "code": "queue_full",
            "dropped": lost,
            "message": f"writer queue full: {lost} records lost",
        }
        line = encode_record(ERROR, self.control.id, self.control.rec, now_ns, mono_ns, info=info)
        self._put(self.control, line, now_ns, mono_ns)


class _WriterIO:
    """The writer thread's side: files, write(2), fsync, sealing."""

    def __init__(self, owner: CaptureWriter) -> None:
        self.owner = owner
        self.fd: int | None = None
        self.path: Path | None = None
        self.offset = 0
        self.records = 0
        self.dirty_since_ns: int | None = None
        self.written_records = 0
        self.written_bytes = 0
        self.os_write = os.write  # replaced in tests to simulate a full disk

    def run(self) -> None:
        owner = self.owner
        queue, wake = owner._queue, owner._wake
        try:
            while True:
                if not queue:
                    wake.wait(self._idle_timeout())
                    wake.clear()
                    if not queue:
                        self._fsync_if_due()
                        continue
                if len(queue) < owner.flush_records:
                    wait_ns = queue[0][0] + owner.flush_ns - time.monotonic_ns()
                    if wait_ns > 0:
                        wake.wait(wait_ns / 1e9)
                        wake.clear()
                if self._drain(queue):
                    return
        except BaseException as exc:  # reported to the owner, never lost
            self._fail(exc)

    def _idle_timeout(self) -> float | None:
        if self.dirty_since_ns is None or self.owner.fsync != "interval":
            return None
        due = self.dirty_since_ns + self.owner.fsync_ns - time.monotonic_ns()
        return max(due, 0) / 1e9

    def _drain(self, queue: deque[tuple[int, Any]]) -> bool:
        """Write everything queued; True when the stop marker was reached."""
        lines: list[bytes] = []
        monos: list[int] = []
        popleft = queue.popleft
        while queue:
            mono, item = popleft()
            if type(item) is bytes:
                lines.append(item)
                monos.append(mono)
                continue
            self._write(lines, monos)
            lines, monos = [], []
            if isinstance(item, _Open):
                self._seal()
                self._open(item.path, item.header)
            else:
                self._seal()
                return True
        self._write(lines, monos)
        return False

    def _write(self, lines: list[bytes], monos: list[int]) -> None:
        if not lines:
            return
        assert self.fd is not None
        data = b"".join(lines)
        done = 0
        try:
            while done < len(data):
                done += self.os_write(self.fd, data[done:] if done else data)
        except OSError:
            # keep every whole line that reached the file, cut the rest
            keep = data.rfind(b"\n", 0, done) + 1
            os.ftruncate(self.fd, self.offset + keep)
            self.offset += keep
            self.records += data.count(b"\n", 0, keep)
            raise
        self.offset += len(data)
        self.records += len(lines)
        self.written_records += len(lines)
        self.written_bytes += len(data)
        now = time.monotonic_ns()
        self.owner.latency.add(now, monos)
        if self.owner.fsync == "always":
            os.fsync(self.fd)
        elif self.dirty_since_ns is None:
            self.dirty_since_ns = now
        self._fsync_if_due()

    def _fsync_if_due(self) -> None:
        if self.fd is None or self.dirty_since_ns is None:
            return
        if time.monotonic_ns() - self.dirty_since_ns >= self.owner.fsync_ns and (
            self.owner.fsync == "interval"
        ):
            os.fsync(self.fd)
            self.dirty_since_ns = None

    def _open(self, path: Path, header: bytes) -> None:
        new_dir = not path.parent.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        if new_dir:
            fsync_dir(path.parent.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # recovery skips files a live writer holds
        self.fd, self.path, self.offset, self.records = fd, path, 0, 0
        self.dirty_since_ns = None
        fsync_dir(path.parent)
        self._write([header], [time.monotonic_ns()])

    def _seal(self) -> Path | None:
        """fsync, close and rename the open ``.jsonl.part`` to ``.jsonl``."""
        if self.fd is None or self.path is None:
            return None
        fd, path = self.fd, self.path
        self.fd = None
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        sealed = publish(path, path.with_name(path.name.removesuffix(PART) + JSONL))
        log.info("sealed %s (%d records, %d bytes)", sealed, self.records, self.offset)
        if self.owner.on_sealed is not None:
            self.owner.on_sealed(sealed)
        return sealed

    def _fail(self, exc: BaseException) -> None:
        owner = self.owner
        owner.failure = exc
        sealed: Path | None = None
        try:
            sealed = self._seal()
        except BaseException as seal_exc:  # the first error is the one to report
            log.error("could not seal %s after the write error: %s", self.path, seal_exc)
            sealed = self.path
        owner._queue.clear()
        if owner.on_error is not None:
            owner.on_error(exc, sealed)
