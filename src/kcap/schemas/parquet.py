"""The Parquet layout of compacted captures: an explicit Arrow schema plus footer metadata.

One row per capture record, in the order the records were written. The record fields are
columns as they are (``kind`` ... ``origin``), the frame is kept byte-exact in ``frame``
(binary), ``info`` is the JSON text of the record's info object, and a few columns are
extracted from the frame by kcap's decoder so that readers can filter without parsing JSON:

================= ============= ================================================================
column            Arrow type    meaning
================= ============= ================================================================
kind              dict<string>  record kind (``frame``, ``sent``, ``connect``, ...)
conn              dict<string>  connection id
rec               int64         record number within the connection
recv_ns           int64         receive time, Unix nanoseconds
mono_ns           int64         monotonic nanoseconds at receipt
origin            dict<string>  null for live capture, ``derived:<source>`` for converted data
info              string        JSON text of the record's ``info`` (control records)
frame             binary        the frame, byte-exact (null for records without one)
frame_binary      bool          the frame came as a binary WebSocket message
type              dict<string>  Kalshi message ``type`` (``malformed`` if it did not decode)
sid               int64         envelope ``sid``
seq               int64         envelope ``seq``
market_ticker     dict<string>  ``msg.market_ticker`` (or ``msg.ticker`` on user_order)
ts_ms             int64         exchange time ``msg.ts_ms`` (legacy ``ts`` seconds x 1000)
sending_ts_ms     int64         envelope ``sending_ts_ms``
================= ============= ================================================================

Files are zstd-compressed (integer columns delta-packed) and carry footer key-value metadata: ``kcap.format``
(``kcap-capture``), ``kcap.schema_version`` and ``kcap.capture`` (JSON: kcap version,
session, sources, record counts, time range). They are plain Parquet: polars, pyarrow and
DuckDB read them as they are.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

PARQUET_SCHEMA_VERSION: Final = 1
"""Version of the Parquet layout; bumped on any incompatible column change."""

_dict_str = pa.dictionary(pa.int32(), pa.string())

CAPTURE_SCHEMA: Final = pa.schema(
    [
        pa.field("kind", _dict_str, nullable=False),
        pa.field("conn", _dict_str, nullable=False),
        pa.field("rec", pa.int64(), nullable=False),
        pa.field("recv_ns", pa.int64(), nullable=False),
        pa.field("mono_ns", pa.int64(), nullable=False),
        pa.field("origin", _dict_str),
        pa.field("info", pa.string()),
        pa.field("frame", pa.binary()),
        pa.field("frame_binary", pa.bool_()),
        pa.field("type", _dict_str),
        pa.field("sid", pa.int64()),
        pa.field("seq", pa.int64()),
        pa.field("market_ticker", _dict_str),
        pa.field("ts_ms", pa.int64()),
        pa.field("sending_ts_ms", pa.int64()),
    ]
)
"""The Arrow schema of a compacted capture file."""

META_FORMAT: Final = b"kcap.format"
META_SCHEMA_VERSION: Final = b"kcap.schema_version"
META_CAPTURE: Final = b"kcap.capture"

COMPRESSION: Final = "zstd"
COMPRESSION_LEVEL: Final = 6
"""zstd level: 18 bytes a record on real weather books at ~500k records/s written."""
ROW_GROUP_SIZE: Final = 65_536
DICTIONARY_COLUMNS: Final = ("kind", "conn", "origin", "type", "market_ticker")
"""Columns stored dictionary-encoded (few distinct values)."""
COLUMN_ENCODING: Final = {
    **dict.fromkeys(
        ("rec", "recv_ns", "mono_ns", "sid", "seq", "ts_ms", "sending_ts_ms"), "DELTA_BINARY_PACKED"
    ),
    "frame": "DELTA_LENGTH_BYTE_ARRAY",
    "info": "PLAIN",
    "frame_binary": "PLAIN",
}
"""Parquet encodings of the other columns: counters and clocks delta-packed (they grow by
small steps), frames length-prefixed; this halves files against plain encoding."""
