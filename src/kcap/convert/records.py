"""Derived captures: the records of one made-up connection, marked as converted data.

A converter feeds a :class:`DerivedConnection` the book changes it derives, in time order; the
connection numbers the frames (one ``sid``, ``seq`` from 1 without gaps), builds them with
:mod:`kcap.convert.frames`, and :meth:`DerivedConnection.finish` returns a
:class:`DerivedCapture`: a ``header`` record (``rec`` 0, ``info`` from
:func:`kcap.schemas.record.header_info` naming the source, its provenance and the conversion
rules) followed by ``frame`` records (``rec`` 1, 2, ...). Every record carries
``origin="derived:<source folder>"``; ``mono_ns`` equals ``recv_ns`` (there is no monotonic
clock in the sources). The capture is written as compacted Parquet
(:func:`kcap.capture.compact.write_parquet`) or as JSON lines
(:func:`kcap.schemas.record.encode_record`); both read back with
:func:`kcap.replay.readers.read_capture`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kcap.capture.compact import CompactionSummary, write_parquet
from kcap.errors import DataError
from kcap.replay.readers import RecordBatch
from kcap.schemas.record import FRAME, HEADER, encode_record, header_info

from .frames import delta_frame, snapshot_frame
from .sources import NS_PER_MS


@dataclass
class DerivedCapture:
    """The records of one derived connection, header first.

    Attributes:
        conn: the connection id (``derived.<kind>.<source>``).
        origin: ``derived:<source folder>``, on every record.
        batch: the records as one :class:`RecordBatch` (header, then frames).
        counts: ``snapshots``, ``deltas`` and converter-specific counters (``rows``, ...).
    """

    conn: str
    origin: str
    batch: RecordBatch
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def header(self) -> dict[str, Any]:
        """The header record's ``info``."""
        info = self.batch.info[0]
        assert info is not None
        return info

    def write_parquet(self, dst: str | Path) -> CompactionSummary:
        """Write the capture as one compacted Parquet file (atomically; same input, same bytes)."""
        meta = {"conn": self.conn, "origin": self.origin, "source": self.header.get("source")}
        return write_parquet([self.batch], dst, metadata=meta)

    def write_jsonl(self, dst: str | Path) -> Path:
        """Write the capture as JSON lines (one record per line), atomically."""
        dst = Path(dst)
        b = self.batch
        lines = [
            encode_record(
                b.kind[i],
                b.conn[i],
                b.rec[i],
                b.recv_ns[i],
                b.mono_ns[i],
                frame=b.frame[i],
                info=b.info[i],
                origin=b.origin[i],
            )
            for i in range(len(b))
        ]
        tmp = dst.with_name(dst.name + ".tmp")
        tmp.write_bytes(b"".join(lines))
        tmp.replace(dst)
        return dst


class DerivedConnection:
    """Collects the frames of one derived connection and numbers them.

    Args:
        conn: connection id, for example ``derived.bbo.KXHIGHNY-25DEC20``.
        origin: ``derived:<source folder>``.
        sid: the one subscription id every frame carries.
        where: the source, for error messages.
    """

    def __init__(self, conn: str, origin: str, *, sid: int = 1, where: str = "") -> None:
        self.conn = conn
        self.origin = origin
        self.sid = sid
        self.where = where or conn
        self.seq = 0
        self.counts: Counter[str] = Counter()
        self._times: list[int] = []
        self._frames: list[bytes] = []

    def _add(self, recv_ns: int, frame: bytes) -> None:
        if self._times and recv_ns < self._times[-1]:
            raise DataError(
                f"{self.where}: expected times in order, found {recv_ns} ns after "
                f"{self._times[-1]} ns (seq {self.seq})"
            )
        self._times.append(recv_ns)
        self._frames.append(frame)

    def snapshot(
        self, recv_ns: int, market_ticker: str, yes: Mapping[int, int], no: Mapping[int, int]
    ) -> None:
        """Add an ``orderbook_snapshot`` of both ladders (``{price_cc: size_cx}``)."""
        self.seq += 1
        self._add(recv_ns, snapshot_frame(self.sid, self.seq, market_ticker, yes, no))
        self.counts["snapshots"] += 1

    def delta(
        self,
        recv_ns: int,
        market_ticker: str,
        side: Literal["yes", "no"],
        price: int,
        delta: int,
    ) -> None:
        """Add an ``orderbook_delta`` (``price`` centi-cents, ``delta`` centi-contracts), ``ts_ms``
        taken from ``recv_ns``."""
        self.seq += 1
        ts_ms = recv_ns // NS_PER_MS
        self._add(
            recv_ns, delta_frame(self.sid, self.seq, market_ticker, side, price, delta, ts_ms)
        )
        self.counts["deltas"] += 1

    def finish(self, info: Mapping[str, Any]) -> DerivedCapture:
        """The capture: a header (``info`` + format, version, conn, sid, counts), then the frames.

        The header is stamped with the first frame's time (0 when there is none): no wall clock.
        """
        n = len(self._frames)
        t0 = self._times[0] if n else 0
        counts = dict(sorted(self.counts.items()))
        head = header_info(conn=self.conn, origin=self.origin, sid=self.sid, counts=counts, **info)
        times = [t0, *self._times]
        batch = RecordBatch(
            kind=[HEADER] + [FRAME] * n,
            conn=[self.conn] * (n + 1),
            rec=list(range(n + 1)),
            recv_ns=times,
            mono_ns=list(times),
            origin=[self.origin] * (n + 1),
            info=[head] + [None] * n,
            frame=[None, *self._frames],
        )
        return DerivedCapture(self.conn, self.origin, batch, Counter(self.counts))
