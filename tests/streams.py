"""Random capture streams for hypothesis: records as a capture holds them."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from frames import delta, frame, snapshot
from kcap.fixedpoint import format_price, format_size

# mostly a few prices, so that deltas meet the levels of snapshots and of earlier deltas
prices_cc = st.sampled_from([100, 3000, 3100, 6000, 9900]) | st.integers(1, 9_999)


@st.composite
def capture_stream(draw: st.DrawFn) -> list[tuple[str, str, bytes | None]]:
    """Records as a capture holds them: two connections with two sids each, snapshots, deltas
    (current and legacy encodings, new and repeated price texts), trades, malformed frames,
    lost and repeated seqs, unsubscribes, disconnects."""
    rows: list[tuple[str, str, bytes | None]] = []
    seqs = {(c, s): 0 for c in ("c1", "c2") for s in (1, 2)}
    for _ in range(draw(st.integers(1, 120))):
        conn = draw(st.sampled_from(["c1", "c2"]))
        sid = draw(st.sampled_from([1, 2]))
        what = draw(
            st.sampled_from(
                ["delta"] * 12
                + ["legacy", "snapshot", "snapshot", "trade", "junk", "disconnect", "unsub"]
                + ["skip", "repeat"]
            )
        )
        if what == "disconnect":
            rows.append(("disconnect", conn, None))
            for key in seqs:
                if key[0] == conn:
                    seqs[key] = 0
            continue
        if what == "skip":
            seqs[conn, sid] += 1
            continue
        if what != "repeat":
            seqs[conn, sid] += 1
        seq = max(seqs[conn, sid], 1)
        ticker = draw(st.sampled_from(["A", "B", "C"]))
        side = draw(st.sampled_from(["yes", "no"]))
        body: dict[str, Any]
        if what == "snapshot":
            yes = draw(st.dictionaries(prices_cc, st.integers(1, 500_00), max_size=4))
            no = draw(st.dictionaries(prices_cc, st.integers(1, 500_00), max_size=4))
            levels = [
                [[format_price(p), format_size(s)] for p, s in lad.items()] for lad in (yes, no)
            ]
            rows.append(("frame", conn, snapshot(ticker, levels[0], levels[1], sid=sid, seq=seq)))
            continue
        if what == "trade":
            body = {"type": "trade", "sid": sid, "seq": seq, "msg": {"market_ticker": ticker}}
        elif what == "junk":
            rows.append(("frame", conn, b'{"type":"orderbook_del'))
            continue
        elif what == "unsub":
            body = {"type": "unsubscribed", "sid": sid, "seq": seq, "id": 9}
        elif what == "legacy":
            cents = draw(st.integers(1, 99))
            count = draw(st.integers(-50, 50))
            msg = {"market_ticker": ticker, "side": side, "price": cents, "delta": count}
            body = {"type": "orderbook_delta", "sid": sid, "seq": seq, "msg": msg}
        else:
            price = format_price(draw(prices_cc))
            size = format_size(draw(st.integers(-500_00, 500_00)))
            rows.append(("frame", conn, delta(ticker, side, price, size, sid=sid, seq=seq)))
            continue
        rows.append(("frame", conn, frame(body)))
    return rows
