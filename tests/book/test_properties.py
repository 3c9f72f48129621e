"""Hypothesis properties of the book: snapshot + deltas equals a rebuild from the final
snapshot; sizes are never negative; legacy and current encodings give the same book."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from frames import frame
from kcap.book import Audit, BookBuilder
from kcap.fixedpoint import format_price, format_size
from kcap.schemas.wire import decode_frame
from streams import capture_stream

prices_cc = st.integers(min_value=1, max_value=9_999)  # sub-cent ticks included
sizes_cx = st.integers(min_value=1, max_value=5_000_00)
ladders = st.dictionaries(prices_cc, sizes_cx, max_size=12)
deltas = st.lists(
    st.tuples(st.sampled_from(["yes", "no"]), prices_cc, st.integers(-5_000_00, 5_000_00)),
    max_size=60,
)


def current_snapshot(ticker: str, yes: dict[int, int], no: dict[int, int], seq: int) -> bytes:
    msg: dict[str, object] = {"market_ticker": ticker}
    for key, ladder in (("yes_dollars_fp", yes), ("no_dollars_fp", no)):
        if ladder:
            msg[key] = [[format_price(p), format_size(ladder[p])] for p in sorted(ladder)]
    return frame({"type": "orderbook_snapshot", "sid": 1, "seq": seq, "msg": msg})


def current_delta(ticker: str, side: str, price: int, size: int, seq: int) -> bytes:
    return frame(
        {
            "type": "orderbook_delta",
            "sid": 1,
            "seq": seq,
            "msg": {
                "market_ticker": ticker,
                "side": side,
                "price_dollars": format_price(price),
                "delta_fp": format_size(size),
            },
        }
    )


def model_apply(ladder: dict[int, int], price: int, size: int) -> None:
    new = ladder.get(price, 0) + size
    if new > 0:
        ladder[price] = new
    else:
        ladder.pop(price, None)


@settings(max_examples=150, deadline=None)
@given(ladders, ladders, deltas)
def test_snapshot_plus_deltas_equals_rebuild_from_final_snapshot(
    yes: dict[int, int], no: dict[int, int], changes: list[tuple[str, int, int]]
) -> None:
    b = BookBuilder()
    seq = 1
    b.apply("c", decode_frame(current_snapshot("M", yes, no, seq)), 0)
    model = {"yes": dict(yes), "no": dict(no)}
    for side, price, size in changes:
        seq += 1
        b.apply("c", decode_frame(current_delta("M", side, price, size, seq)), seq)
        model_apply(model[side], price, size)
    book = b.books["M"]
    assert book.valid
    assert (book.yes, book.no) == (model["yes"], model["no"])
    assert all(s > 0 for s in (*book.yes.values(), *book.no.values()))
    rebuilt = BookBuilder()
    final = current_snapshot("M", book.yes, book.no, 1)
    rebuilt.apply("c", decode_frame(final), 0)
    assert rebuilt.books["M"].levels() == book.levels()
    # and the built book passes the snapshot audit against that final snapshot
    b.apply("c", decode_frame(current_snapshot("M", model["yes"], model["no"], seq + 1)), seq + 1)
    audits = [e for e in b.take_events() if isinstance(e, Audit)]
    assert audits and audits[-1].matched


whole = st.dictionaries(st.integers(1, 99), st.integers(1, 5_000), max_size=10)
whole_deltas = st.lists(
    st.tuples(st.sampled_from(["yes", "no"]), st.integers(1, 99), st.integers(-5_000, 5_000)),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(whole, whole, whole_deltas)
def test_legacy_and_current_encodings_build_the_same_book(
    yes: dict[int, int], no: dict[int, int], changes: list[tuple[str, int, int]]
) -> None:
    current, legacy = BookBuilder(), BookBuilder()
    cur_yes = {c * 100: n * 100 for c, n in yes.items()}
    cur_no = {c * 100: n * 100 for c, n in no.items()}
    current.apply("c", decode_frame(current_snapshot("M", cur_yes, cur_no, 1)), 0)
    legacy_msg = {
        "market_ticker": "M",
        "yes": [[c, yes[c]] for c in sorted(yes)],
        "no": [[c, no[c]] for c in sorted(no)],
    }
    legacy.apply(
        "c",
        decode_frame(frame({"type": "orderbook_snapshot", "sid": 1, "seq": 1, "msg": legacy_msg})),
        0,
    )
    for seq, (side, cents, count) in enumerate(changes, start=2):
        current.apply(
            "c", decode_frame(current_delta("M", side, cents * 100, count * 100, seq)), seq
        )
        legacy.apply(
            "c",
            decode_frame(
                frame(
                    {
                        "type": "orderbook_delta",
                        "sid": 1,
                        "seq": seq,
                        "msg": {"market_ticker": "M", "side": side, "price": cents, "delta": count},
                    }
                )
            ),
            seq,
        )
    assert current.books["M"].levels() == legacy.books["M"].levels()


@settings(max_examples=200, deadline=None)
@given(capture_stream(), st.integers(1, 7))
def test_batch_apply_equals_record_by_record_apply(
    records: list[tuple[str, str, bytes | None]], chunk: int
) -> None:
    kinds = [k for k, _, _ in records]
    conns = [c for _, c, _ in records]
    messages = [None if f is None else decode_frame(f) for _, _, f in records]
    times = list(range(len(records)))
    one, many = BookBuilder(), BookBuilder()
    for k, c, m, t in zip(kinds, conns, messages, times, strict=True):
        one.apply_records((k,), (c,), (m,), (t,))
    for i in range(0, len(records), chunk):
        many.apply_records(
            kinds[i : i + chunk],
            conns[i : i + chunk],
            messages[i : i + chunk],
            times[i : i + chunk],
        )
    assert one.counts == many.counts
    assert one.events == many.events
    assert {t: (b.valid, b.yes, b.no, b.updated_ns) for t, b in one.books.items()} == {
        t: (b.valid, b.yes, b.no, b.updated_ns) for t, b in many.books.items()
    }
