"""Fault injection for ``kcap serve``: seeded, reproducible, and every fault logged.

Pure: a :class:`FaultPlan` (one per accepted connection) takes each
:class:`~kcap.replay.serve.protocol.Outgoing` frame and returns what to actually write:
frame bytes, or a :class:`Close`. Its random draws come from ``random.Random`` seeded with
``(seed, connection number)``, one draw per data frame, so the same seed and the same frames
give the same faults. Command replies are never dropped, duplicated, reordered or damaged;
they are only swallowed after a close or a stall like everything else.

Faults on the stream (data frames only, numbered from 1 per connection before faults):

=============== ===============================================================================
drop            the frame is not sent (its ``seq`` is used up: the client sees a gap)
duplicate       the frame is sent twice (the client sees a repeated ``seq``)
reorder         the frame is held back and sent right after the next data frame
malformed       the frame is replaced by a damaged copy: ``truncated`` (cut at a random
                character), ``wrong_type`` (``seq``, or ``sid`` when there is no ``seq``,
                becomes a string) or ``unknown_type`` (``type`` becomes ``kcap_unknown``)
close           after data frame N (``close_after_frames``) or after a random number of frames
                with mean N (``close_every_frames``, one draw per connection) the connection is
                closed with ``close_code`` (None: the TCP connection is aborted, the client
                sees 1006)
stall           after data frame N nothing more is sent (replies included) while the socket
                stays open and heartbeat pings go on
=============== ===============================================================================

``drop``, ``duplicate``, ``reorder`` and ``malformed`` are rates in [0, 1] drawn from one
uniform number per frame, so at most one of them hits a frame. Faults on the handshake (every
upgrade request is an *attempt*, numbered from 1): ``handshake_delay_ns`` before answering,
and ``handshake_status`` (401 or 503) instead of the upgrade; both only on attempts
``1..handshake_attempts`` (all when None). Stream faults only on accepted connections
``1..faulty_connections`` (all when None).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import msgspec

from kcap.errors import UsageError
from kcap.replay.serve.protocol import Outgoing

MALFORMED_KINDS: Final = ("truncated", "wrong_type", "unknown_type")
HANDSHAKE_STATUSES: Final = (401, 503)
UNKNOWN_TYPE: Final = "kcap_unknown"
"""``type`` of the frames the ``unknown_type`` malformation makes."""


@dataclass(frozen=True)
class FaultConfig:
    """Which faults to inject (see the module docstring). Rates are fractions of data frames.

    Attributes:
        seed: seed of every random draw.
        drop, duplicate, reorder, malformed: rates in [0, 1], summing to at most 1.
        close_after_frames: close each faulty connection after this many data frames.
        close_every_frames: close each faulty connection after a random number of data frames
            (exponential, this mean, at least 1).
        close_code: WebSocket close code; None aborts the TCP connection instead.
        stall_after_frames: stop sending after this many data frames, socket left open.
        faulty_connections: stream faults on accepted connections 1..N only (None: all).
        handshake_delay_ns: wait this long before answering an upgrade request.
        handshake_status: answer upgrade requests with this HTTP status (401 or 503).
        handshake_attempts: handshake faults on attempts 1..N only (None: all).
    """

    seed: int = 0
    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    malformed: float = 0.0
    close_after_frames: int | None = None
    close_every_frames: int | None = None
    close_code: int | None = 1011
    stall_after_frames: int | None = None
    faulty_connections: int | None = None
    handshake_delay_ns: int = 0
    handshake_status: int | None = None
    handshake_attempts: int | None = None

    def check(self) -> None:
        """Raise :class:`kcap.errors.UsageError` for rates or counts kcap cannot use."""
        rates = {"drop": self.drop, "duplicate": self.duplicate}
        rates |= {"reorder": self.reorder, "malformed": self.malformed}
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise UsageError(f"--{name}: expected a fraction between 0 and 1, got {rate}")
        if sum(rates.values()) > 1.0:
            raise UsageError(f"fault rates add up to {sum(rates.values()):g}; at most 1 allowed")
        counts = {
            "close-after": self.close_after_frames,
            "close-every": self.close_every_frames,
            "stall-after": self.stall_after_frames,
            "faulty-connections": self.faulty_connections,
            "handshake-attempts": self.handshake_attempts,
        }
        for name, count in counts.items():
            if count is not None and count < 1:
                raise UsageError(f"--{name}: expected a positive count, got {count}")
        if self.close_code is not None and not (
            self.close_code in (1000, 1001, 1008, 1011, 1012, 1013)
            or 3000 <= self.close_code < 5000
        ):
            raise UsageError(
                f"--close-code: expected 1000, 1001, 1008, 1011-1013, 3000-4999 or 'abort', "
                f"got {self.close_code}"
            )
        if self.handshake_status is not None and self.handshake_status not in HANDSHAKE_STATUSES:
            raise UsageError(
                f"--handshake-status: expected 401 or 503, got {self.handshake_status}"
            )
        if self.handshake_delay_ns < 0:
            raise UsageError("--handshake-delay: expected a non-negative duration")

    @property
    def stream_faults(self) -> bool:
        """True when any fault on the stream is configured."""
        return bool(
            self.drop
            or self.duplicate
            or self.reorder
            or self.malformed
            or self.close_after_frames
            or self.close_every_frames
            or self.stall_after_frames
        )

    def handshake(self, attempt: int) -> tuple[int, int | None]:
        """``(delay_ns, status or None)`` for upgrade attempt number ``attempt`` (from 1)."""
        if self.handshake_attempts is not None and attempt > self.handshake_attempts:
            return 0, None
        return self.handshake_delay_ns, self.handshake_status


class FaultRecord(msgspec.Struct, frozen=True, omit_defaults=True):
    """One injected fault, as kept in memory and written to ``--fault-log`` (one JSON line).

    Attributes:
        fault: ``drop``, ``duplicate``, ``reorder``, ``malformed``, ``close``, ``stall``,
            ``handshake_delay`` or ``handshake_status``.
        conn: accepted-connection number (stream faults), from 1.
        attempt: upgrade-attempt number (handshake faults), from 1.
        frame: the data frame's number on its connection, from 1 (before faults).
        type, sid, seq, market_ticker: the affected frame's, when it has them.
        recv_ns: replay time of the affected frame (capture receive time, Unix ns).
        detail: fault-specific facts (malformation kind, close code, delay ...).
    """

    fault: str
    conn: int = 0
    attempt: int = 0
    frame: int = 0
    type: str | None = None
    sid: int | None = None
    seq: int | None = None
    market_ticker: str | None = None
    recv_ns: int | None = None
    detail: dict[str, Any] | None = None


_encode = msgspec.json.Encoder().encode


class FaultLog:
    """Every fault injected, in order: :attr:`records` in memory and, with a ``sink``, one JSON
    line per fault (``sink`` receives the line's bytes, ending in a newline)."""

    def __init__(self, sink: Callable[[bytes], None] | None = None) -> None:
        self.records: list[FaultRecord] = []
        self.sink = sink

    def add(self, record: FaultRecord) -> None:
        """Keep one fault record (and write it to the sink)."""
        self.records.append(record)
        if self.sink is not None:
            self.sink(_encode(record) + b"\n")

    def of(self, fault: str, conn: int | None = None) -> list[FaultRecord]:
        """The records of one fault kind (on one connection)."""
        return [r for r in self.records if r.fault == fault and (conn is None or r.conn == conn)]


class Close(NamedTuple):
    """Close the connection with ``code`` (None: abort the TCP connection) and ``reason``."""

    code: int | None
    reason: str


Action = bytes | Close


class FaultPlan:
    """The faults of one accepted connection (see the module docstring).

    Args:
        config: the fault configuration.
        conn: the connection's number, from 1.
        log: where injected faults are recorded.
    """

    def __init__(self, config: FaultConfig, conn: int, log: FaultLog) -> None:
        self.config = config
        self.conn = conn
        self.log = log
        self.active = config.stream_faults and (
            config.faulty_connections is None or conn <= config.faulty_connections
        )
        self.rng = random.Random(f"kcap-serve/{config.seed}/{conn}")
        self.frames = 0
        self.done: str | None = None
        self.swallowed = 0
        self._held: Outgoing | None = None
        ends = [config.close_after_frames] if config.close_after_frames else []
        if config.close_every_frames:
            ends.append(max(1, round(self.rng.expovariate(1.0 / config.close_every_frames))))
        self.close_at = min(ends) if ends else None
        self._rates = (
            config.drop,
            config.drop + config.duplicate,
            config.drop + config.duplicate + config.reorder,
            config.drop + config.duplicate + config.reorder + config.malformed,
        )

    def apply(self, out: Outgoing) -> list[Action]:
        """What to write for one outgoing frame (possibly nothing, or more than one thing)."""
        if self.done is not None:
            self.swallowed += 1
            return []
        if not self.active or not out.data:
            return [out.frame]
        self.frames += 1
        held = self._held
        actions = self._decide(out)
        if held is not None:  # the frame held back goes out right after this one
            self._held = None
            actions.append(held.frame)
        if self.frames == self.close_at:
            actions += self._release()
            actions.append(self._close(out))
        elif self.frames == self.config.stall_after_frames:
            actions += self._release()
            self.done = "stall"
            self._record("stall", out, self.frames)
        return actions

    def flush(self) -> list[Action]:
        """Release a frame held back for reordering (the feed ended: no next frame comes)."""
        return [] if self.done is not None else self._release()

    def _release(self) -> list[Action]:
        held, self._held = self._held, None
        return [held.frame] if held is not None else []

    def _decide(self, out: Outgoing) -> list[Action]:
        u = self.rng.random()
        drop, duplicate, reorder, malformed = self._rates
        n = self.frames
        if u < drop:
            self._record("drop", out, n)
            return []
        if u < duplicate:
            self._record("duplicate", out, n)
            return [out.frame, out.frame]
        if u < reorder and self._held is None:
            self._held = out
            self._record("reorder", out, n)
            return []
        if reorder <= u < malformed:
            kind = self.rng.choice(MALFORMED_KINDS)
            frame = malform(out.frame, kind, self.rng)
            self._record("malformed", out, n, {"kind": kind, "frame": frame.decode("utf-8")})
            return [frame]
        return [out.frame]

    def _close(self, out: Outgoing) -> Close:
        code = self.config.close_code
        self.done = "close"
        self._record("close", out, self.frames, {"code": code if code is not None else "abort"})
        return Close(code, "kcap serve: injected close")

    def _record(
        self, fault: str, out: Outgoing, frame: int, detail: dict[str, Any] | None = None
    ) -> None:
        self.log.add(
            FaultRecord(
                fault,
                conn=self.conn,
                frame=frame,
                type=out.type,
                sid=out.sid,
                seq=out.seq,
                market_ticker=out.market,
                recv_ns=out.recv_ns,
                detail=detail,
            )
        )


_decode_dict = msgspec.json.Decoder(dict[str, Any]).decode


def malform(frame: bytes, kind: str, rng: random.Random) -> bytes:
    """A damaged copy of a JSON frame (see the module docstring for the kinds).

    A truncated frame is cut between characters, so it stays valid UTF-8 text.
    """
    if kind == "truncated":
        text = frame.decode("utf-8")
        return text[: rng.randint(1, max(1, len(text) - 1))].encode("utf-8")
    obj = _decode_dict(frame)
    if kind == "wrong_type":
        key = "seq" if "seq" in obj else "sid"
        obj[key] = str(obj.get(key))
    elif kind == "unknown_type":
        obj["type"] = UNKNOWN_TYPE
    else:
        raise ValueError(f"expected a malformation in {MALFORMED_KINDS}, got {kind!r}")
    return _encode(obj)
