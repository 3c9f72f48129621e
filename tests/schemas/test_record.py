from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcap.schemas.record import (
    RECORD_KINDS,
    encode_record,
    header_info,
    record_decoder,
    record_frame,
)


@pytest.mark.parametrize(
    "frame",
    [
        b'{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"M","price_dollars":"0.0110","delta_fp":"91.74","side":"yes"}}',
        b'{"type": "ok" , "x" :1}',  # spaces inside are kept
        b'{"type":"orderbook_del',  # truncated JSON
        b' {"a":1}',  # leading space: not spliceable, still exact
        b'{"a":\n1}',  # a line break inside a frame
        b'"just a string"',
        b"\xff\xfe not utf-8",
        b"",
    ],
)
def test_frames_round_trip_byte_for_byte(frame: bytes) -> None:
    line = encode_record("frame", "s.1", 7, 1_766_000_000_000_000_000, 42, frame=frame)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    rec = record_decoder.decode(line)
    assert (rec.kind, rec.conn, rec.rec, rec.recv_ns, rec.mono_ns) == (
        "frame",
        "s.1",
        7,
        1_766_000_000_000_000_000,
        42,
    )
    assert record_frame(rec) == frame


def test_valid_frames_are_spliced_verbatim_not_escaped() -> None:
    frame = b'{"type":"trade","sid":3,"msg":{"market_ticker":"M"}}'
    line = encode_record("frame", "s.1", 0, 1, 2, frame=frame)
    assert (
        line
        == b'{"kind":"frame","conn":"s.1","rec":0,"recv_ns":1,"mono_ns":2,"frame":' + frame + b"}\n"
    )


def test_binary_frames_are_marked_and_kept() -> None:
    line = encode_record("frame", "s.1", 0, 1, 2, frame=b"\x00\x01{", binary=True)
    rec = record_decoder.decode(line)
    assert rec.info == {"binary": True}
    assert record_frame(rec) == b"\x00\x01{"


def test_control_records_carry_info() -> None:
    line = encode_record("disconnect", "s.1", 9, 5, 6, info={"code": 1006, "reason": ""})
    rec = record_decoder.decode(line)
    assert rec.info == {"code": 1006, "reason": ""} and record_frame(rec) is None
    assert "disconnect" in RECORD_KINDS


def test_header_names_format_and_version() -> None:
    info = header_info(session="abc")
    assert info == {"format": "kcap-capture", "version": 1, "session": "abc"}


@given(st.binary(max_size=200))
def test_any_bytes_round_trip(frame: bytes) -> None:
    rec = record_decoder.decode(encode_record("frame", "c", 0, 0, 0, frame=frame))
    assert record_frame(rec) == frame


@given(st.text(max_size=100))
def test_any_text_frame_round_trips(text: str) -> None:
    frame = text.encode("utf-8", "surrogatepass") if text else b"{}"
    try:
        frame.decode("utf-8")
    except UnicodeDecodeError:
        return
    rec = record_decoder.decode(encode_record("frame", "c", 0, 0, 0, frame=frame))
    assert record_frame(rec) == frame


def test_unknown_record_fields_and_kinds_decode() -> None:
    rec = record_decoder.decode(
        b'{"kind":"future_kind","conn":"c","rec":1,"recv_ns":2,"mono_ns":3,"extra":{"a":1}}'
    )
    assert rec.kind == "future_kind"
    with pytest.raises(msgspec.ValidationError):
        record_decoder.decode(b'{"kind":"frame","conn":"c"}')
