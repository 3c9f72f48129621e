"""Background finalization of sealed captures, off the recording path.

One worker thread takes sealed ``.jsonl`` files in order and finalizes them
(:func:`kcap.capture.manifest.finalize`: Parquet, verification, manifest), all the files
waiting at that moment in one go. In ``process`` mode (the default for ``kcap record``) the
work runs in a child Python process at a lower priority, so the CPU-heavy Parquet encoding
never competes for the recorder's interpreter lock; ``thread`` mode runs it in-process (tests, small captures); ``off`` leaves the JSONL
files as they are (a later ``kcap record`` run, or ``python -m kcap.capture.manifest``,
finalizes them).
"""

from __future__ import annotations

import logging
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Final

from kcap.capture.manifest import finalize
from kcap.capture.rotate import MANIFEST, sibling
from kcap.errors import CaptureFormatError

log = logging.getLogger(__name__)

MODES: Final = ("process", "thread", "off")


class Compactor:
    """Finalizes sealed captures in the background, one at a time, in submission order.

    Args:
        mode: ``process``, ``thread`` or ``off``.
        keep_jsonl: keep the JSONL next to its Parquet.

    Attributes:
        done: files finalized; failed: ``(file, reason)`` for files that could not be.
    """

    def __init__(self, mode: str = "process", *, keep_jsonl: bool = True) -> None:
        if mode not in MODES:
            raise ValueError(f"expected a compaction mode in {MODES}, got {mode!r}")
        self.mode = mode
        self.keep_jsonl = keep_jsonl
        self.done: list[Path] = []
        self.failed: list[tuple[Path, str]] = []
        self._queue: queue.Queue[Path | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        if mode != "off":
            self._thread = threading.Thread(target=self._run, name="kcap-compactor", daemon=True)
            self._thread.start()

    def submit(self, path: Path) -> None:
        """Queue a sealed ``.jsonl`` (thread-safe)."""
        if self._thread is not None:
            self._queue.put(path)

    @property
    def pending(self) -> int:
        """Files waiting (the one being finalized included)."""
        return self._queue.unfinished_tasks

    def close(self, timeout_secs: float | None = None) -> None:
        """Finish every queued file, then stop."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout_secs)
        self._thread = None

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while True:  # everything already waiting goes into the same run
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            paths = [p for p in batch if p is not None]
            try:
                if paths:
                    self._finalize(paths)
            finally:
                for _ in batch:
                    self._queue.task_done()
            if None in batch:
                return

    def _finalize(self, paths: list[Path]) -> None:
        if self.mode == "thread":
            for path in paths:
                try:
                    finalize(path, keep_jsonl=self.keep_jsonl)
                except (OSError, CaptureFormatError) as exc:
                    self._failed(path, str(exc))
                else:
                    self.done.append(path)
            return
        try:
            self._in_child(paths)
        except OSError as exc:
            for path in paths:
                self._failed(path, str(exc))
            return
        for path in paths:
            if sibling(path, MANIFEST).exists():
                self.done.append(path)
            else:
                self._failed(path, "no manifest after compaction (see the log above)")

    def _failed(self, path: Path, reason: str) -> None:
        log.error("could not compact %s: %s (the JSONL is kept)", path, reason)
        self.failed.append((path, reason))

    def _in_child(self, paths: list[Path]) -> None:
        args = [sys.executable, "-m", "kcap.capture.manifest", "--nice"]
        if self.keep_jsonl:
            args.append("--keep-jsonl")
        result = subprocess.run(
            [*args, *map(str, paths)], capture_output=True, text=True, check=False
        )
        for line in result.stderr.splitlines():
            if line.strip():
                log.info("%s", line)
