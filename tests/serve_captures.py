"""Captures for the ``kcap serve`` tests: literal frames, and real REST books turned into a capture.

``mixed_records`` holds every kind of frame the server forwards (book snapshots and deltas in
both wire generations, trades, tickers, lifecycle), from literal Kalshi frames.
``rest_books_capture`` is the tiny test-side converter of the real REST order books in
``shared/real-data/kalshi-headless-weather-books``: the first book of each market becomes an
``orderbook_snapshot``, each later book becomes the ``orderbook_delta`` frames that turn the
previous book into it (one sid, seq without holes), received at the book's ``captured_at``.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from captures import T0, S
from frames import delta, frame, snapshot
from kcap.fixedpoint import format_price, format_size, price_cc, size_cx
from kcap.schemas.record import encode_record, header_info

B385 = "KXHIGHNY-25DEC20-B38.5"
T36 = "KXHIGHNY-25DEC20-T36"
T42 = "KXHIGHNY-25DEC20-T42"
EVENT = "KXHIGHNY-25DEC20"


def trade(ticker: str, yes: str, count: str, *, sid: int = 7, legacy: bool = False) -> bytes:
    """A ``trade`` frame (Kalshi's docs example, retargeted); legacy uses integer fields."""
    msg: dict[str, Any] = {"trade_id": f"t-{ticker}-{yes}", "market_ticker": ticker}
    if legacy:
        msg |= {"yes_price": round(float(yes) * 100), "count": int(float(count))}
    else:
        no = format_price(10_000 - price_cc(yes))
        msg |= {"yes_price_dollars": yes, "no_price_dollars": no, "count_fp": count}
    msg |= {"taker_side": "no", "ts": 1669149841, "ts_ms": 1669149841000}
    return frame({"type": "trade", "sid": sid, "msg": msg})


def ticker(ticker_: str, price: str, *, sid: int = 8, legacy: bool = False) -> bytes:
    """A ``ticker`` frame; ``Clock`` is an undocumented field seen in production (kept verbatim)."""
    msg: dict[str, Any] = {"market_ticker": ticker_, "Clock": 123}
    if legacy:
        msg |= {"price": round(float(price) * 100), "volume": 10, "open_interest": 5}
    else:
        msg |= {"price_dollars": price, "volume_fp": "10.00", "open_interest_fp": "5.00"}
    return frame({"type": "ticker", "sid": sid, "sending_ts_ms": 1669149841123, "msg": msg})


def lifecycle(ticker_: str, event_type: str, **fields: Any) -> bytes:
    """A ``market_lifecycle_v2`` frame."""
    msg = {"market_ticker": ticker_, "event_type": event_type, **fields}
    return frame({"type": "market_lifecycle_v2", "sid": 9, "seq": 1, "msg": msg})


def legacy_delta(ticker_: str, side: str, cents: int, contracts: int, *, seq: int) -> bytes:
    """A pre-2026-03 ``orderbook_delta`` with integer ``price`` and ``delta`` only."""
    msg = {"market_ticker": ticker_, "price": cents, "delta": contracts, "side": side}
    return frame({"type": "orderbook_delta", "sid": 1, "seq": seq, "msg": msg})


def mixed_records() -> list[tuple[str, bytes | None]]:
    """``(kind, frame)`` of a capture using every frame kind the server forwards."""
    created = {
        "open_ts": 1766070000,
        "close_ts": 1766210340,
        "additional_metadata": {
            "title": "Highest temperature in NYC on Dec 20, 2025?",
            "yes_sub_title": "38° to 39°",
            "event_ticker": EVENT,
            "strike_type": "between",
            "floor_strike": 38,
            "cap_strike": 39,
        },
    }
    return [
        ("frame", lifecycle(B385, "created", **created)),
        ("frame", snapshot(B385, [["0.3000", "10.00"]], [["0.5000", "4.50"]], seq=1)),
        ("frame", snapshot(T36, [["0.0100", "100.00"]], [["0.9700", "2.00"]], seq=2)),
        ("frame", delta(B385, "yes", "0.3200", "5.00", seq=3)),
        ("frame", trade(B385, "0.3200", "3.00")),
        ("frame", ticker(B385, "0.3200")),
        ("frame", legacy_delta(T36, "no", 97, -1, seq=4)),
        ("frame", trade(T36, "0.0300", "2", legacy=True)),
        ("frame", ticker(T36, "0.03", legacy=True)),
        ("frame", snapshot(T42, [["0.0200", "7.25"]], [], sid=3, seq=1)),
        ("frame", delta(T42, "no", "0.9500", "1.50", sid=3, seq=2)),
        ("frame", lifecycle(T36, "determined", result="no", settlement_value="0.0000")),
        ("frame", delta(B385, "no", "0.5000", "-4.50", seq=5)),
    ]


def write_records(path: Path, records: list[tuple[str, bytes | None]], *, step_ns: int = S) -> Path:
    """A JSONL capture of ``records``, one record per ``step_ns`` from ``T0`` on connection c.1."""
    lines = [encode_record("header", "", 0, T0, 0, info=header_info(session="serve-test"))]
    for i, (kind, data) in enumerate(records):
        t = T0 + (i + 1) * step_ns
        lines.append(encode_record(kind, "c.1", i + 1, t, i + 1, frame=data))
    path.write_bytes(b"".join(lines))
    return path


# ---------------------------------------------------------------------------------------------
# real REST books -> capture


def _epoch_ns(text: str) -> int:
    when = datetime.fromisoformat(text)
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1_000


def _ladder(levels: list[list[str]] | None) -> dict[int, int]:
    return {price_cc(p): size_cx(s) for p, s in levels or []}


def rest_books_capture(real_data: Path, dst: Path, *, series: str = "KXHIGHNY") -> Path:
    """Convert one day of real REST books of ``series`` into a capture (module docstring)."""
    src = real_data / "kalshi-headless-weather-books" / "weather_books_2026-07-17.jsonl.gz"
    rows = []
    with gzip.open(src, "rt") as fh:
        for line in fh:
            row = json.loads(line)
            if row["series"] == series:
                rows.append(row)
    rows.sort(key=lambda r: (r["captured_at"], r["ticker"]))
    books: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
    seq = 0
    lines = [
        encode_record("header", "", 0, _epoch_ns(rows[0]["captured_at"]), 0, info=header_info())
    ]
    for row in rows:
        t = _epoch_ns(row["captured_at"])
        raw = row["raw_orderbook"]
        yes, no = _ladder(raw.get("yes_dollars")), _ladder(raw.get("no_dollars"))
        ticker_ = row["ticker"]
        frames_: list[bytes] = []
        if ticker_ not in books:
            seq += 1
            frames_.append(
                snapshot(
                    ticker_, raw.get("yes_dollars") or [], raw.get("no_dollars") or [], seq=seq
                )
            )
        else:
            for side, new, old in (("yes", yes, books[ticker_][0]), ("no", no, books[ticker_][1])):
                for p in sorted(new.keys() | old.keys()):
                    change = new.get(p, 0) - old.get(p, 0)
                    if change:
                        seq += 1
                        frames_.append(
                            delta(ticker_, side, format_price(p), format_size(change), seq=seq)
                        )
        books[ticker_] = (yes, no)
        for data in frames_:
            lines.append(
                encode_record("frame", "rest.1", seq, t, seq, frame=data, origin="derived:test")
            )
    dst.write_bytes(b"".join(lines))
    return dst


def capture_times(path: Path) -> list[int]:
    """The distinct receive times of a capture's frame records, ascending."""
    times = set()
    for line in path.read_bytes().splitlines():
        record = json.loads(line)
        if record["kind"] == "frame":
            times.add(record["recv_ns"])
    return sorted(times)


def busy_records(n: int) -> list[tuple[str, bytes | None]]:
    """Snapshots of B38.5 and T36, then ``n`` deltas alternating between them (sizes stay > 0)."""
    out: list[tuple[str, bytes | None]] = [
        ("frame", snapshot(B385, [["0.3000", "10.00"]], [["0.5000", "4.50"]], seq=1)),
        ("frame", snapshot(T36, [["0.0100", "100.00"]], [["0.9700", "2.00"]], seq=2)),
    ]
    for i in range(n):
        market, side, price = (B385, "yes", "0.3100") if i % 2 == 0 else (T36, "no", "0.9600")
        size = "1.00" if i % 4 < 2 else "-1.00"
        out.append(("frame", delta(market, side, price, size, seq=i + 3)))
    return out
