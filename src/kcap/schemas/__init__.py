"""What a Kalshi frame, a capture record and a Parquet row are: data definitions, no behaviour.

* :mod:`kcap.schemas.wire` - Kalshi WS v2 messages as immutable structs, and ``decode_frame``.
* :mod:`kcap.schemas.record` - the JSON-lines capture record (format ``kcap-capture`` v1).
* :mod:`kcap.schemas.parquet` - the Arrow schema and footer metadata of compacted captures.
"""

from __future__ import annotations

from kcap.schemas.record import RECORD_KINDS, RECORD_VERSION, Record, encode_record, record_frame
from kcap.schemas.wire import KalshiMessage, MalformedFrame, Message, UnknownMessage, decode_frame

__all__ = [
    "RECORD_KINDS",
    "RECORD_VERSION",
    "KalshiMessage",
    "MalformedFrame",
    "Message",
    "Record",
    "UnknownMessage",
    "decode_frame",
    "encode_record",
    "record_frame",
]
