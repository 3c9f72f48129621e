"""Capture files on disk: the layout by UTC date, when to rotate, and sealing without overwrite.

Layout (``--out DIR``)::

    DIR/2026-11-21/kcap-20261121T140000Z-1a2b3c4d-0001.jsonl.part   being written
    DIR/2026-11-21/kcap-20261121T140000Z-1a2b3c4d-0001.jsonl        sealed (renamed when closed)
    DIR/2026-11-21/kcap-20261121T140000Z-1a2b3c4d-0001.parquet      compacted
    DIR/2026-11-21/kcap-20261121T140000Z-1a2b3c4d-0001.manifest.json  written last: done

The date folder and the time in the name are the UTC time the file was opened; ``1a2b3c4d``
is the recording session and ``0001`` the file's number within it. A file never spans a UTC
midnight. Names sort in time order.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

PART: Final = ".jsonl.part"
JSONL: Final = ".jsonl"
PARQUET: Final = ".parquet"
MANIFEST: Final = ".manifest.json"
REPAIR: Final = ".repair.json"
TMP: Final = ".tmp"

NS_PER_DAY: Final = 86_400_000_000_000


def stem_of(path: Path) -> str:
    """The file's name without any capture suffix (``kcap-...-0001``)."""
    name = path.name
    for suffix in (PART, MANIFEST, REPAIR, JSONL, PARQUET):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def sibling(path: Path, suffix: str) -> Path:
    """The file of the same capture with another suffix (``.parquet``, ``.manifest.json``...)."""
    return path.with_name(stem_of(path) + suffix)


def part_path(out_dir: Path, session: str, index: int, opened_ns: int) -> Path:
    """Where file ``index`` of ``session``, opened at ``opened_ns`` (Unix ns), is written."""
    when = datetime.fromtimestamp(opened_ns / 1e9, UTC)
    day = when.strftime("%Y-%m-%d")
    name = f"kcap-{when.strftime('%Y%m%dT%H%M%S')}Z-{session}-{index:04d}{PART}"
    return out_dir / day / name


def next_midnight_ns(now_ns: int) -> int:
    """The next UTC midnight after ``now_ns``, Unix ns."""
    return (now_ns // NS_PER_DAY + 1) * NS_PER_DAY


@dataclass(frozen=True)
class RotationPolicy:
    """When the open file is closed and a new one started.

    Attributes:
        max_age_ns: age of the file (monotonic ns since it opened) that closes it, or None.
        max_bytes: size that closes it, or None.

    Files also close at every UTC midnight, so each lies within one date folder.
    """

    max_age_ns: int | None = 3_600_000_000_000
    max_bytes: int | None = None

    def deadlines(self, opened_ns: int, opened_mono_ns: int) -> tuple[int, int, int]:
        """``(mono deadline, wall deadline, byte limit)`` of a file opened at these times;
        a limit that does not apply is a number never reached."""
        never = 1 << 62
        mono = opened_mono_ns + self.max_age_ns if self.max_age_ns else never
        return mono, next_midnight_ns(opened_ns), self.max_bytes or never


def fsync_file(path: Path) -> None:
    """fsync a file's data and metadata to disk.

    Raises:
        OSError: the file cannot be opened or synced.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """fsync a directory so that a rename or a new file in it is durable (best effort)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(src: Path, dst: Path) -> Path:
    """Rename ``src`` to ``dst`` atomically **without overwriting** anything.

    If ``dst`` exists, ``-2``, ``-3``... is added before the suffix. The directory is fsynced.

    Returns:
        The final path.
    """
    candidate = dst
    n = 1
    while True:
        try:
            os.link(src, candidate)
        except FileExistsError:
            n += 1
            candidate = dst.with_name(f"{stem_of(dst)}-{n}{dst.name[len(stem_of(dst)) :]}")
            continue
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK):
                raise
            if candidate.exists():  # no hard links here: check, then rename
                n += 1
                candidate = dst.with_name(f"{stem_of(dst)}-{n}{dst.name[len(stem_of(dst)) :]}")
                continue
            src.replace(candidate)
            break
        src.unlink()
        break
    fsync_dir(candidate.parent)
    return candidate
