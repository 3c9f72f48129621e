"""Restart after a crash: seal leftover ``.jsonl.part`` files and list what still needs work.

A ``.jsonl.part`` file that no live recorder holds (each writer keeps an exclusive ``flock``
on its open file) is left over from a crash. :func:`seal_leftover` cuts its torn tail: the
bytes after the last line break, then any trailing lines that are not valid records (garbage
a power loss can leave); it reports what it cut in the log and in a ``.repair.json`` note that
the manifest takes over; then it fsyncs the file and renames it to ``.jsonl`` without
overwriting anything. A file with no whole record left is removed. Sealed ``.jsonl`` files
without a manifest (a crash before compaction finished) are listed for :func:`finalize
<kcap.capture.manifest.finalize>`. Nothing already sealed is modified.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec

from kcap.capture.rotate import (
    JSONL,
    MANIFEST,
    PART,
    REPAIR,
    fsync_dir,
    fsync_file,
    publish,
    sibling,
)
from kcap.schemas.record import record_decoder

log = logging.getLogger(__name__)

_CHUNK: Final = 1 << 20
_MAX_BAD_LINES: Final = 1000


@dataclass(frozen=True)
class Repair:
    """What sealing a leftover file cut.

    Attributes:
        path: the leftover ``.jsonl.part``.
        sealed: the sealed ``.jsonl`` (None when nothing whole was left and it was removed).
        cut_bytes: bytes removed from the end.
        cut_lines: whole lines removed (not valid records), besides a torn last line.
        torn: True when the last line was cut mid-way.
    """

    path: Path
    sealed: Path | None
    cut_bytes: int
    cut_lines: int
    torn: bool


@dataclass
class Recovery:
    """What :func:`recover` found: repaired leftovers and sealed captures still to finalize."""

    repairs: list[Repair] = field(default_factory=list)
    busy: list[Path] = field(default_factory=list)
    to_finalize: list[Path] = field(default_factory=list)


def _valid_record(line: bytes) -> bool:
    try:
        record_decoder.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return False
    return True


def _last_newline(fd: int, before: int) -> int:
    """Offset of the last ``\\n`` before offset ``before``, or -1."""
    end = before
    while end > 0:
        start = max(0, end - _CHUNK)
        found = os.pread(fd, end - start, start).rfind(b"\n")
        if found >= 0:
            return start + found
        end = start
    return -1


def good_end(fd: int, size: int) -> tuple[int, int, bool]:
    """Where the file's last whole valid record ends.

    Returns:
        ``(offset, invalid whole lines cut, torn)``: the offset just after the line break of
        the last valid record (0 if there is none); ``torn`` when the file does not end with a
        line break. After more than 1000 invalid lines the search stops and only the torn
        tail is cut (a file damaged that much is kept for a person to look at).
    """
    newline = _last_newline(fd, size)
    torn = newline != size - 1 and size > 0
    first_candidate = candidate = newline + 1
    bad = 0
    while candidate > 0:
        previous = _last_newline(fd, candidate - 1)
        line = os.pread(fd, candidate - 1 - (previous + 1), previous + 1)
        if _valid_record(line):
            return candidate, bad, torn
        bad += 1
        if bad > _MAX_BAD_LINES:
            return first_candidate, 0, torn
        candidate = previous + 1
    return 0, bad, torn


def seal_leftover(part: Path) -> Repair | None:
    """Seal one leftover ``.jsonl.part`` (see the module docstring).

    Returns:
        What was done, or None when a live recorder holds the file.
    """
    fd = os.open(part, os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        size = os.fstat(fd).st_size
        keep, bad, torn = good_end(fd, size)
        cut = size - keep
        if cut:
            os.ftruncate(fd, keep)
            os.fsync(fd)
            log.warning(
                "%s: cut %d bytes at the end (%s%d invalid lines) left by a crash",
                part,
                cut,
                "a torn last line, " if torn else "",
                bad,
            )
        if keep == 0:
            part.unlink()
            fsync_dir(part.parent)
            log.warning("%s: no whole record in it; removed", part)
            return Repair(part, None, cut, bad, torn)
        target = part.with_name(part.name.removesuffix(PART) + JSONL)
        if cut:
            note = {"source": part.name, "cut_bytes": cut, "cut_lines": bad, "torn": torn}
            repair_path = sibling(target, REPAIR)
            repair_path.write_text(json.dumps(note, sort_keys=True))
            fsync_file(repair_path)
        sealed = publish(part, target)
        log.info("sealed leftover %s as %s", part.name, sealed.name)
        return Repair(part, sealed, cut, bad, torn)
    finally:
        os.close(fd)


def recover(out_dir: Path, *, drop_kept_jsonl: bool = False) -> Recovery:
    """Seal every leftover ``.jsonl.part`` under ``out_dir`` and list sealed captures that have
    no manifest yet (oldest first).

    Args:
        out_dir: the capture root.
        drop_kept_jsonl: also list ``.jsonl`` files that have a manifest (a crash between the
            manifest and the deletion of the JSONL): finalizing them again only deletes them.

    Raises:
        OSError: a file cannot be read or repaired (nothing is deleted then).
    """
    result = Recovery()
    if not out_dir.is_dir():
        return result
    for part in sorted(out_dir.rglob("*" + PART)):
        repair = seal_leftover(part)
        if repair is None:
            result.busy.append(part)
        else:
            result.repairs.append(repair)
    for jsonl in sorted(out_dir.rglob("*" + JSONL)):
        if drop_kept_jsonl or not sibling(jsonl, MANIFEST).exists():
            result.to_finalize.append(jsonl)
    return result
