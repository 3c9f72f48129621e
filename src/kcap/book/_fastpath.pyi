"""Types of the compiled delta loop in ``_fastpath.c`` (see :mod:`kcap.book.builder`)."""

from kcap.book.orderbook import OrderBook, _Stream
from kcap.schemas import wire

def configure(
    delta_type: type[wire.OrderbookDelta],
    delta_msg_type: type[wire.OrderbookDeltaMsg],
    book_type: type[OrderBook],
    stream_type: type[_Stream],
    /,
) -> None: ...
def apply_deltas(
    streams: dict[tuple[str, int], _Stream],
    books: dict[str, OrderBook],
    prices: dict[str, int],
    sizes: dict[str, int],
    conns: list[str],
    messages: list[wire.Message | None],
    recv_ns: list[int],
    start: int,
    /,
) -> tuple[int, int, OrderBook | None]: ...
