"""The book builder: the one book builder that capture, replay, serve and the envs all use.

Pure and exact: no I/O, no clocks (times are arguments), integers only. Prices are in
centi-cents (``_cc``, $1 = 10,000) and sizes in centi-contracts (``_cx``, 1 contract = 100),
see :mod:`kcap.fixedpoint`.

Kalshi books hold **bids only**: per market a YES bid ladder and a NO bid ladder. A YES ask
at p is a NO bid at $1 - p, so ``best_yes_ask = 1 - best_no_bid`` with the NO level's size
(docs.kalshi.com "Orderbook responses"; kalshi-protocol.md section 5). A snapshot replaces
both ladders; a delta adds a signed size to one level; a level at zero or below is removed.

Sequencing (kalshi-protocol.md section 3): ``seq`` counts per subscription (``sid``), shared
by all of its markets, and sids restart on reconnect. Any break (a gap, a duplicate, a
regression) makes every book of that sid stale until a new snapshot for that market arrives;
deltas for a stale book are counted and skipped, never applied to a wrong base. A snapshot
that arrives for a live book is first compared with the book built from deltas (the
*snapshot audit*: Kalshi sends no checksum, so this is the integrity check). Each problem is
reported as a :class:`BookEvent` in :attr:`BookBuilder.events`.

Every rule lives in the Python loop (:meth:`BookBuilder._apply_records`). When the C extension
``kcap.book._fastpath`` is built, it applies the plain deltas of a batch (next seq, live book,
known price and size text, level stays >= 0) and stops before any other record, which the
Python loop then takes; :data:`FASTPATH` says which runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Final

from kcap.book.events import Audit, BookEvent, Crossed, Gap, NegativeLevel, Stale, Valid
from kcap.book.orderbook import OrderBook, _Stream, delta_level, snapshot_ladders
from kcap.fixedpoint import PRICE_CC_CACHE, SIZE_CX_CACHE
from kcap.schemas import wire

FRAME_KIND: Final = "frame"
DISCONNECT_KIND: Final = "disconnect"

_ApplyDeltas = Callable[
    [
        dict[tuple[str, int], _Stream],
        dict[str, OrderBook],
        dict[str, int],
        dict[str, int],
        list[str],
        list[wire.Message | None],
        list[int],
        int,
    ],
    tuple[int, int, OrderBook | None],
]


def _load_fastpath() -> tuple[_ApplyDeltas | None, str]:
    """The compiled delta loop and a line saying which builder runs (see FASTPATH)."""
    if os.environ.get("KCAP_PURE_PYTHON"):
        return None, "pure Python (KCAP_PURE_PYTHON is set)"
    try:
        import kcap.book._fastpath as _fastpath
    except ImportError as exc:  # built without a C compiler: the Python builder does it all
        return None, f"pure Python (the compiled fast path is not built: {exc})"
    try:
        _fastpath.configure(wire.OrderbookDelta, wire.OrderbookDeltaMsg, OrderBook, _Stream)
    except TypeError as exc:
        return None, f"pure Python (the compiled fast path does not fit: {exc})"
    return _fastpath.apply_deltas, "compiled (kcap.book._fastpath)"


_APPLY_DELTAS, FASTPATH = _load_fastpath()
"""``FASTPATH`` says which delta loop :meth:`BookBuilder.apply_records` runs: ``compiled ...``
(the C loop in ``_fastpath.c``, built at install when a C compiler is present) or ``pure
Python (why)``. Set ``KCAP_PURE_PYTHON=1`` to run the pure-Python builder alone."""


class BookBuilder:
    """Builds every market's book from decoded frames, per connection and subscription.

    Feed it with :meth:`apply` (one frame) or :meth:`apply_records` (many records: the replay
    hot path; same rules, same code), and :meth:`reset_connection` on a disconnect.

    Books are keyed by market ticker. A snapshot from a subscription takes the market's book
    over; deltas for that market from any other subscription are ignored (a redundant second
    stream cannot double-apply). Events accumulate in :attr:`events` until the caller takes them
    with :meth:`take_events`.

    Attributes:
        books: ``market_ticker -> OrderBook``.
        events: problems and state changes, oldest first.
        counts: running counters (``snapshots``, ``deltas``, ``skipped_stale``,
            ``skipped_foreign``, ``gaps``, ``audits``, ``audit_mismatches``, ``malformed``,
            ``bad_levels``).
    """

    def __init__(self, *, compiled: bool = True) -> None:
        """``compiled=False`` runs the pure-Python delta loop even when the C one is built."""
        self._apply_deltas = _APPLY_DELTAS if compiled else None
        self.books: dict[str, OrderBook] = {}
        self.events: list[BookEvent] = []
        self._streams: dict[tuple[str, int], _Stream] = {}
        self.counts: dict[str, int] = dict.fromkeys(
            (
                "snapshots",
                "deltas",
                "skipped_stale",
                "skipped_foreign",
                "gaps",
                "audits",
                "audit_mismatches",
                "malformed",
                "bad_levels",
                "resets",
            ),
            0,
        )

    # -- public API ---------------------------------------------------------------------------

    def apply(self, conn: str, message: wire.Message, recv_ns: int) -> OrderBook | None:
        """Apply one decoded frame received on connection ``conn`` at ``recv_ns``.

        Returns:
            The book that changed, or None if no book changed.
        """
        return self.apply_records((FRAME_KIND,), (conn,), (message,), (recv_ns,))

    def apply_records(
        self,
        kinds: Sequence[str],
        conns: Sequence[str],
        messages: Sequence[wire.Message | None],
        recv_ns: Sequence[int],
    ) -> OrderBook | None:
        """Apply many capture records in order (columns of equal length).

        Args:
            kinds: record kinds; ``frame`` records are applied, ``disconnect`` records reset
                their connection's books, others are ignored.
            conns: connection ids.
            messages: decoded frames (None for records without one).
            recv_ns: receive times, Unix nanoseconds.

        Returns:
            The last book that changed, or None.

        Raises:
            ValueError: columns of different lengths.

        When the columns are lists and the compiled loop is built (:data:`FASTPATH`), it
        applies the plain deltas and hands every other record to the Python loop, which holds
        every rule; the books, events and counts are the same either way.
        """
        apply_deltas = self._apply_deltas
        if (
            apply_deltas is None
            or type(conns) is not list
            or type(messages) is not list
            or type(recv_ns) is not list
        ):
            return self._apply_records(kinds, conns, messages, recv_ns)
        n = len(messages)
        if len(kinds) != n:
            raise ValueError(
                f"expected columns of equal length, found {len(kinds)} kinds, {n} messages"
            )
        streams, books, prices, sizes = self._streams, self.books, PRICE_CC_CACHE, SIZE_CX_CACHE
        delta_type = wire.OrderbookDelta
        changed: OrderBook | None = None
        applied = 0
        i = 0
        while True:
            i, count, book = apply_deltas(
                streams, books, prices, sizes, conns, messages, recv_ns, i
            )
            applied += count
            if book is not None:
                changed = book
            if i == n:
                break
            # the Python loop takes the record the C loop stopped at, and any run of other
            # messages after it
            j = i + 1
            while j < n and type(messages[j]) is not delta_type:
                j += 1
            book = self._apply_records(kinds[i:j], conns[i:j], messages[i:j], recv_ns[i:j])
            if book is not None:
                changed = book
            i = j
        self.counts["deltas"] += applied
        return changed

    def _apply_records(
        self,
        kinds: Sequence[str],
        conns: Sequence[str],
        messages: Sequence[wire.Message | None],
        recv_ns: Sequence[int],
    ) -> OrderBook | None:
        """The pure-Python loop: every rule (see :meth:`apply_records`)."""
        books = self.books
        prices = PRICE_CC_CACHE
        sizes = SIZE_CX_CACHE
        delta_type = wire.OrderbookDelta
        stream: _Stream | None = None
        stream_conn: str | None = None
        stream_sid = -1
        expected = -1  # the next seq due on ``stream`` (its last_seq + 1), kept in a local
        ticker: str | None = None
        book: OrderBook | None = None
        changed: OrderBook | None = None
        skipped = 0
        for kind, conn, m, t in zip(kinds, conns, messages, recv_ns, strict=True):
            if type(m) is not delta_type:
                skipped += 1
                if stream is not None:
                    if expected > 0:
                        stream.last_seq = expected - 1
                    stream = None
                    # the frame may move the stream's seq (a snapshot): the next delta must
                    # look its stream up again, not take the fast path on stale locals
                    stream_sid = -1
                if kind == FRAME_KIND:
                    if m is not None:
                        changed = self._apply_other(conn, m, t) or changed
                elif kind == DISCONNECT_KIND:
                    self.reset_connection(conn, t)
                ticker = None
                continue
            # the hot path: one orderbook_delta
            seq = m.seq
            if seq == expected and m.sid == stream_sid and conn == stream_conn:
                expected = seq + 1
            else:
                if stream is not None and expected > 0:
                    stream.last_seq = expected - 1
                stream = self._stream(conn, m.sid)
                stream_conn, stream_sid = conn, m.sid
                self._sequence(stream, seq, t)
                expected = -1 if stream.last_seq is None else stream.last_seq + 1
                ticker = None
            msg = m.msg
            if msg.market_ticker != ticker:
                ticker = msg.market_ticker
                book = books.get(ticker)
            if book is None or book.live is not stream:
                self._unapplied(stream, ticker, book, t)
                ticker = None
                skipped += 1
                continue
            try:
                # None (a legacy frame) is never a key: KeyError -> the slow path
                price = prices[msg.price_dollars]  # type: ignore[index]
                size = sizes[msg.delta_fp]  # type: ignore[index]
            except KeyError:
                try:
                    price, size = delta_level(msg)
                except ValueError:
                    self.counts["bad_levels"] += 1
                    self._mark_stale(book, "bad_level", t)
                    skipped += 1
                    continue
            ladder = book.yes if msg.side == "yes" else book.no
            if price in ladder:
                new = ladder[price] + size
                if new > 0:
                    ladder[price] = new
                else:
                    del ladder[price]
                    if new < 0:
                        self.events.append(NegativeLevel(t, ticker, msg.side, price, new))
            elif size > 0:
                ladder[price] = size
            else:  # a level that is not there cannot shrink
                self.events.append(NegativeLevel(t, ticker, msg.side, price, size))
            book.updated_ns = t
            changed = book
        if stream is not None and expected > 0:
            stream.last_seq = expected - 1
        self.counts["deltas"] += len(kinds) - skipped
        return changed

    def reset_connection(self, conn: str, recv_ns: int) -> None:
        """A disconnect: forget every subscription of ``conn``, empty and invalidate its books."""
        self.counts["resets"] += 1
        for key in [k for k in self._streams if k[0] == conn]:
            for book in self._release(self._streams.pop(key), "disconnect", recv_ns):
                book.yes = {}
                book.no = {}

    def take_events(self) -> list[BookEvent]:
        """Return the events reported so far and forget them."""
        events, self.events = self.events, []
        return events

    def book(self, market_ticker: str) -> OrderBook | None:
        """The book of ``market_ticker``, or None if no snapshot for it was ever seen."""
        return self.books.get(market_ticker)

    # -- slow paths ---------------------------------------------------------------------------

    def _stream(self, conn: str, sid: int) -> _Stream:
        key = (conn, sid)
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream(conn, sid)
        return stream

    def _sequence(self, stream: _Stream, seq: int | None, recv_ns: int) -> None:
        """Check ``seq`` against the stream's last seq; on a break make its books stale."""
        last = stream.last_seq
        if seq is None:
            return
        stream.last_seq = seq
        if last is None or seq == last + 1:
            return
        reason = "gap" if seq > last + 1 else "duplicate" if seq == last else "regression"
        self.counts["gaps"] += 1
        stale = []
        for book in self._owned(stream):
            if book.valid:
                self._mark_stale(book, "gap", recv_ns)
                stale.append(book.market_ticker)
        self.events.append(
            Gap(recv_ns, stream.conn, stream.sid, last + 1, seq, reason, tuple(stale))
        )

    def _owned(self, stream: _Stream) -> list[OrderBook]:
        """The books built from ``stream``, by ticker."""
        books = (self.books.get(t) for t in sorted(stream.markets))
        return [b for b in books if b is not None and b.stream is stream]

    def _release(self, stream: _Stream, reason: str, recv_ns: int) -> list[OrderBook]:
        """The stream ends: its books become stale and belong to no stream."""
        owned = self._owned(stream)
        for book in owned:
            self._mark_stale(book, reason, recv_ns)
            book.stream = None
        return owned

    def _mark_stale(self, book: OrderBook, reason: str, recv_ns: int) -> None:
        if book.live is not None:
            book.live = None
            self.events.append(Stale(recv_ns, book.market_ticker, reason))

    def _unapplied(
        self, stream: _Stream | None, ticker: str | None, book: OrderBook | None, recv_ns: int
    ) -> None:
        """A delta that cannot be applied: no snapshot yet, a stale book, or another stream's."""
        if book is not None and book.stream is not None and book.stream is not stream:
            self.counts["skipped_foreign"] += 1
            return
        self.counts["skipped_stale"] += 1
        if book is None and ticker is not None and stream is not None:
            # a delta before any snapshot: the market exists but its book is unknown
            book = self.books[ticker] = OrderBook(ticker)
            book.stream = stream
            stream.markets.add(ticker)
            self.events.append(Stale(recv_ns, ticker, "delta_before_snapshot"))

    def _apply_other(self, conn: str, m: wire.Message, recv_ns: int) -> OrderBook | None:
        if isinstance(m, wire.OrderbookSnapshot):
            return self._snapshot(conn, m, recv_ns)
        if isinstance(m, wire.MalformedFrame):
            self.counts["malformed"] += 1
        elif isinstance(m, wire.Unsubscribed):
            stream = self._streams.pop((conn, m.sid), None)
            if stream is not None:
                self._release(stream, "unsubscribed", recv_ns)
        elif isinstance(m, wire.Ok) and m.sid is not None and isinstance(m.msg, wire.OkMsg):
            stream = self._streams.get((conn, m.sid))
            if stream is not None:
                self._sequence_control(stream, m.seq)
                if m.msg.market_tickers is not None:
                    self._keep_markets(stream, set(m.msg.market_tickers), recv_ns)
        return None

    @staticmethod
    def _sequence_control(stream: _Stream, seq: int | None) -> None:
        # ``ok``/``unsubscribed`` carry the sid's seq; whether they consume one is not documented
        # (kalshi-protocol.md 10.6), so accept either: advance only when it is the next seq.
        if seq is not None and stream.last_seq is not None and seq == stream.last_seq + 1:
            stream.last_seq = seq

    def _keep_markets(self, stream: _Stream, keep: set[str], recv_ns: int) -> None:
        for ticker in sorted(stream.markets - keep):
            book = self.books.get(ticker)
            if book is not None and book.stream is stream:
                self._mark_stale(book, "removed", recv_ns)
                book.stream = None
            stream.markets.discard(ticker)

    def _snapshot(self, conn: str, m: wire.OrderbookSnapshot, recv_ns: int) -> OrderBook | None:
        stream = self._stream(conn, m.sid)
        if m.seq is not None:
            self._sequence(stream, m.seq, recv_ns)
        ticker = m.msg.market_ticker
        try:
            yes, no = snapshot_ladders(m.msg)
        except ValueError:
            self.counts["bad_levels"] += 1
            book = self.books.get(ticker)
            if book is not None and book.stream is stream:
                self._mark_stale(book, "bad_level", recv_ns)
            return None
        self.counts["snapshots"] += 1
        book = self.books.get(ticker)
        if book is None:
            book = self.books[ticker] = OrderBook(ticker)
        elif book.valid:
            self._audit(book, yes, no, conn, m.sid, recv_ns)
        if book.stream is not None and book.stream is not stream:
            book.stream.markets.discard(ticker)
        was_valid = book.valid
        book.yes = yes
        book.no = no
        book.stream = stream
        book.live = stream
        book.updated_ns = recv_ns
        stream.markets.add(ticker)
        if not was_valid:
            self.events.append(Valid(recv_ns, ticker))
        if book.is_crossed():
            self.events.append(Crossed(recv_ns, ticker, max(yes), max(no)))
        return book

    def _audit(
        self,
        book: OrderBook,
        yes: dict[int, int],
        no: dict[int, int],
        conn: str,
        sid: int,
        recv_ns: int,
    ) -> None:
        self.counts["audits"] += 1
        differences = _diff("yes", book.yes, yes) + _diff("no", book.no, no)
        if differences:
            self.counts["audit_mismatches"] += 1
        self.events.append(Audit(recv_ns, book.market_ticker, conn, sid, differences))


def _diff(
    side: str, built: dict[int, int], snapshot: dict[int, int]
) -> tuple[tuple[str, int, int, int], ...]:
    if built == snapshot:
        return ()
    prices = sorted(set(built) | set(snapshot))
    return tuple(
        (side, p, built.get(p, 0), snapshot.get(p, 0))
        for p in prices
        if built.get(p, 0) != snapshot.get(p, 0)
    )
