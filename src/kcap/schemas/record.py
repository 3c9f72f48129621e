"""The capture record: one JSON object per line, written before anything parses the frame.

Format ``kcap-capture`` version 1. Every line of a capture ``*.jsonl`` file is one record::

    {"kind":"frame","conn":"9f3a1c.1","rec":12,"recv_ns":1766160066931714000,
     "mono_ns":523911230554,"frame":{"type":"orderbook_delta","sid":1,"seq":12,"msg":{...}}}

Fields (all records):

======== ======= ===========================================================================
field    type    meaning
======== ======= ===========================================================================
kind     str     what happened: see :data:`RECORD_KINDS`
conn     str     connection id, unique across sessions: ``<session>.<attempt>``
rec      int     record number within the connection, from 0, no holes
recv_ns  int     wall clock, Unix nanoseconds, read at the socket read (or at the event)
mono_ns  int     monotonic clock, nanoseconds, same instant (orders records within a session)
origin   str     absent for live capture; ``derived:<source>`` for records kcap converted
                 from other data (never raw Kalshi frames)
info     object  details of a control record (close code, sid, error text, ...)
frame    JSON    the frame **verbatim**, when it is valid JSON without line breaks; always last
frame_text str   the frame as a JSON string, when it is not valid JSON (kept byte-exact)
frame_b64 str    the frame base64-encoded, for binary frames or bytes that are not UTF-8
======== ======= ===========================================================================

A frame round-trips byte for byte: :func:`record_frame` returns exactly the bytes received.
The first line of every file is a ``header`` record whose ``info`` holds ``format``,
``version`` and capture metadata; readers refuse a newer ``version``.
"""

from __future__ import annotations

import base64
from typing import Any, Final

import msgspec

RECORD_FORMAT: Final = "kcap-capture"
"""Value of ``info.format`` in a file's header record."""
RECORD_VERSION: Final = 1
"""Version of the record format written by this kcap; readers accept versions <= this."""

HEADER: Final = "header"
FRAME: Final = "frame"
SENT: Final = "sent"
CONNECT: Final = "connect"
CONNECT_FAILED: Final = "connect_failed"
DISCONNECT: Final = "disconnect"
SUBSCRIPTION: Final = "subscription"
GAP: Final = "gap"
RESNAPSHOT: Final = "resnapshot"
ERROR: Final = "error"
CLOCK: Final = "clock"
STATS: Final = "stats"

RECORD_KINDS: Final[dict[str, str]] = {
    HEADER: "first line of a file: info.format, info.version, capture metadata",
    FRAME: "a frame received from the server (frame / frame_text / frame_b64)",
    SENT: "a command sent to the server (frame holds the exact bytes sent)",
    CONNECT: "a connection opened: info.url, info.status",
    CONNECT_FAILED: "a connection attempt failed: info.url, info.status, info.error, info.fatal",
    DISCONNECT: "a connection closed or was lost: info.code, info.reason, info.error",
    SUBSCRIPTION: "a subscription acknowledged: info.sid, info.channel, info.markets, info.id",
    GAP: "a sequence break on a sid: info.sid, info.expected, info.received, info.markets",
    RESNAPSHOT: "a fresh snapshot requested after a gap: info.sid, info.markets, info.method",
    ERROR: "an error frame or local error worth keeping: info.code, info.message",
    CLOCK: "clock state: info.offset_ns, info.error_ns, info.source",
    STATS: "recorder telemetry: info.queue_depth, info.writer_lag_ns, info.dropped, ...",
}
"""Every record kind kcap writes, with what its ``info`` holds. Readers pass unknown kinds on."""


class Record(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """One capture record (see the module docstring for the line format).

    ``frame`` holds the verbatim JSON of the frame as a :class:`msgspec.Raw` (empty when the
    record has no spliced frame); use :func:`record_frame` to get the frame's bytes whatever field holds them.
    """

    kind: str
    conn: str
    rec: int
    recv_ns: int
    mono_ns: int
    origin: str | None = None
    info: dict[str, Any] | None = None
    frame_text: str | None = None
    frame_b64: str | None = None
    frame: msgspec.Raw = msgspec.Raw()


class _Head(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    kind: str
    conn: str
    rec: int
    recv_ns: int
    mono_ns: int
    origin: str | None = None
    info: dict[str, Any] | None = None
    frame_text: str | None = None
    frame_b64: str | None = None


_encode = msgspec.json.Encoder().encode
_raw_decoder = msgspec.json.Decoder(msgspec.Raw)
record_decoder: Final = msgspec.json.Decoder(Record)
"""Decodes one JSONL line into a :class:`Record` (raises msgspec errors on a bad line)."""


def _spliceable(frame: bytes) -> bool:
    """True when ``frame`` is one JSON value with no surrounding space and no line break."""
    if not frame or b"\n" in frame or b"\r" in frame:
        return False
    try:
        raw = _raw_decoder.decode(frame)
    except msgspec.DecodeError:
        return False
    return len(raw) == len(frame)


def encode_record(
    kind: str,
    conn: str,
    rec: int,
    recv_ns: int,
    mono_ns: int,
    *,
    frame: bytes | None = None,
    binary: bool = False,
    info: dict[str, Any] | None = None,
    origin: str | None = None,
) -> bytes:
    """Encode one record as a JSONL line (ending in ``\\n``). Pure; never parses into types.

    Args:
        kind: one of :data:`RECORD_KINDS` (others are written as given).
        conn: connection id.
        rec: record number within the connection.
        recv_ns: Unix nanoseconds. mono_ns: monotonic nanoseconds.
        frame: the frame's bytes exactly as received or sent, if any.
        binary: the frame came in a binary WebSocket message (stored base64).
        info: details for control records (JSON-serialisable).
        origin: ``derived:<source>`` for converted data, else None.

    Returns:
        The line's bytes. A frame that is one JSON value without line breaks is spliced in
        verbatim as ``"frame":<bytes>``; any other frame goes to ``frame_text`` (UTF-8) or
        ``frame_b64``, so every frame round-trips byte for byte.
    """
    text: str | None = None
    b64: str | None = None
    splice = False
    if frame is not None:
        if not binary and _spliceable(frame):
            splice = True
        elif not binary:
            try:
                text = frame.decode("utf-8")
            except UnicodeDecodeError:
                b64 = base64.b64encode(frame).decode("ascii")
        else:
            b64 = base64.b64encode(frame).decode("ascii")
            info = {**(info or {}), "binary": True}
    head = _encode(_Head(kind, conn, rec, recv_ns, mono_ns, origin, info, text, b64))
    if splice:
        assert frame is not None
        return b"".join((head[:-1], b',"frame":', frame, b"}\n"))
    return head + b"\n"


def record_frame(record: Record) -> bytes | None:
    """The record's frame, byte-exact as received or sent, or None for a record without one."""
    if record.frame:
        return bytes(record.frame)
    if record.frame_text is not None:
        return record.frame_text.encode("utf-8")
    if record.frame_b64 is not None:
        return base64.b64decode(record.frame_b64)
    return None


def header_info(**metadata: Any) -> dict[str, Any]:
    """The ``info`` of a header record: format, version and the given capture metadata."""
    return {"format": RECORD_FORMAT, "version": RECORD_VERSION, **metadata}
