"""The writer thread: batches of lines to ``write(2)``, the fsync policy, sealing files.

The other side of :class:`kcap.capture.writer.CaptureWriter` (see its module docstring for the
durability rules). It takes whole batches from the :class:`~kcap.capture.writer.RecordQueue`,
so its cost per record is a share of one ``bytes.join`` and one ``write(2)``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kcap.capture.rotate import JSONL, PART, fsync_dir, publish

if TYPE_CHECKING:
    from kcap.capture.writer import CaptureWriter

log = logging.getLogger("kcap.capture.writer")


class OpenFile:
    """Queue marker: seal the current file, open ``path`` and write ``header`` first."""

    __slots__ = ("header", "path")

    def __init__(self, path: Path, header: bytes) -> None:
        self.path = path
        self.header = header


class Stop:
    """Queue marker: seal the current file and end the thread."""


class RecordQueue:
    """Lines waiting for the writer thread, with the monotonic time each was received.

    Two lists: the event loop appends a line (or a marker) to :attr:`lines`, then its time to
    :attr:`monos`; the writer takes everything up to ``len(monos)`` in two slices. Each of
    these list operations is atomic under the interpreter lock, so neither side locks and the
    writer handles whole batches, never one record at a time.
    """

    def __init__(self) -> None:
        self.lines: list[Any] = []
        self.monos: list[int] = []
        self.markers = 0
        self.wake = threading.Event()

    def __len__(self) -> int:
        return len(self.monos)

    def put_marker(self, marker: OpenFile | Stop, mono_ns: int) -> None:
        """Queue a marker (never refused: it does not count against the capacity)."""
        self.markers += 1
        self.lines.append(marker)
        self.monos.append(mono_ns)
        self.wake.set()

    def take(self) -> tuple[list[Any], list[int]]:
        """Everything queued so far, oldest first (writer thread)."""
        n = len(self.monos)
        lines = self.lines[:n]
        del self.lines[:n]
        monos = self.monos[:n]
        del self.monos[:n]
        return lines, monos

    def clear(self) -> None:
        """Forget everything queued (after a write failure)."""
        del self.lines[:]
        del self.monos[:]


class WriterIO:
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
        self.markers_seen = 0
        self.os_write = os.write  # replaced in tests to simulate a full disk

    def run(self) -> None:
        """The thread: wait for records, let a batch gather for at most ``flush_ms`` (or until
        ``flush_records`` are pending), write it, apply the fsync policy; until :class:`Stop`."""
        owner = self.owner
        queue = owner.queue
        monos, wake = queue.monos, queue.wake
        try:
            while True:
                if not monos:
                    wake.wait(self._idle_timeout())
                    wake.clear()
                    if not monos:
                        self._fsync_if_due()
                        continue
                if len(monos) < owner.flush_records:
                    wait_ns = monos[0] + owner.flush_ns - time.monotonic_ns()
                    if wait_ns > 0:
                        wake.wait(wait_ns / 1e9)
                        wake.clear()
                if self._drain():
                    return
        except BaseException as exc:  # reported to the owner, never lost
            self._fail(exc)

    def _idle_timeout(self) -> float | None:
        if self.dirty_since_ns is None or self.owner.fsync != "interval":
            return None
        due = self.dirty_since_ns + self.owner.fsync_ns - time.monotonic_ns()
        return max(due, 0) / 1e9

    def _drain(self) -> bool:
        """Write everything queued; True when the stop marker was reached."""
        queue = self.owner.queue
        lines, monos = queue.take()
        if queue.markers == self.markers_seen:
            self._write(lines, monos)  # the common case: no file change in the batch
            return False
        start = 0
        for i, item in enumerate(lines):
            if type(item) is bytes:
                continue
            self.markers_seen += 1
            self._write(lines[start:i], monos[start:i])
            start = i + 1
            self._seal()
            if not isinstance(item, OpenFile):
                return True
            self._open(item.path, item.header)
        self._write(lines[start:], monos[start:])
        return False

    def _write(self, lines: list[Any], monos: list[int]) -> None:
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
        owner._slow = True
        sealed: Path | None = None
        try:
            sealed = self._seal()
        except BaseException as seal_exc:  # the first error is the one to report
            log.error("could not seal %s after the write error: %s", self.path, seal_exc)
            sealed = self.path
        owner.queue.clear()
        if owner.on_error is not None:
            owner.on_error(exc, sealed)
