"""The session protocol of ``kcap serve``: one client's commands, replies and subscriptions.

Pure, in the manner of python-websockets' ``protocol.py``: :meth:`Session.receive` takes a
command frame and returns the frames to send; :meth:`Session.route` takes a
:class:`~kcap.replay.serve.feed.FeedEvent` and returns the frames it makes for this client's
subscriptions. No sockets, no clocks.

Kalshi's rules (kalshi-protocol.md sections 2-4; AsyncAPI 2026-03 ``errorCodes``):

* Commands are ``{"id": n, "cmd": ..., "params": {...}}``; replies echo ``id`` (``id`` 0 or
  absent means no id). Error texts are Kalshi's own (:data:`ERRORS`).
* ``subscribe`` answers one ``subscribed`` per channel, each with a new ``sid`` (from 1 per
  connection). ``orderbook_delta`` requires ``market_ticker``/``market_tickers`` (code 14) and
  then sends one ``orderbook_snapshot`` per market, ``seq`` 1, 2, ... on that sid.
  ``market_lifecycle_v2`` (and the private ``communications``/``order_group_updates``) ignore
  market filters. ``trade``/``ticker`` without markets get every market.
* ``unsubscribe`` answers ``unsubscribed`` per sid; ``list_subscriptions`` answers ``ok`` with
  ``[{"channel", "sid"}]``; ``update_subscription`` takes ``sid`` or ``sids`` with exactly one
  element (code 12) and ``action`` (15) in ``add_markets``/``delete_markets``/``get_snapshot``
  (13); ``ok`` carries the sid's full market list unless ``skip_ticker_ack``.
* ``seq`` counts per sid. Data frames carry it on every channel except ``ticker`` (Kalshi's
  ticker has none; on ``trade`` and lifecycle frames it is optional in the wild, section 3.2).

Decisions where Kalshi's documentation is silent (kept here so they are stated once):

* A command with several problems answers the first found, in this order: params, channels,
  unknown channel, shard parameters, market parameters, unknown market; nothing is subscribed
  when any check fails. Repeated channels or markets in one command count once.
* Subscribing twice to the same channel makes a second, independent sid (code 6 is retired).
* ``unsubscribe`` with several sids answers each in order: ``unsubscribed`` for a known sid,
  error 7 for an unknown one.
* ``ok`` and ``unsubscribed`` carry the sid's last ``seq`` sent and do not consume one (no
  ``seq`` when the sid has sent nothing).
* ``get_snapshot`` answers with the snapshots only (no ``ok``); each carries the command ``id``
  and consumes the sid's next ``seq``, so the stream stays gap-free. Asking for a market that
  is not in the subscription is error 11, as is ``get_snapshot`` on a channel other than
  ``orderbook_delta`` (13).
* ``add_markets``/``delete_markets`` on a subscription without a market list (every market,
  or a global channel) is error 13. Markets added to ``orderbook_delta`` get their snapshot
  after the ``ok``. Deleting a market the sid does not hold is not an error.
* ``market_id``/``market_ids`` are refused with error 11: a capture names markets by ticker.
* ``send_initial_snapshot`` on ``ticker`` sends the last ``ticker`` frame seen for each
  requested market, if any. Private channels (``fill``, ``user_orders``, ...) are accepted and
  stay silent: a capture holds no one's private data.
* A frame that is not a JSON object, or whose ``id`` is not an integer, is error 1 without id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, NamedTuple, Protocol

import msgspec

from kcap.replay.serve import encode
from kcap.replay.serve.feed import FeedEvent
from kcap.replay.serve.markets import MarketCatalog
from kcap.schemas.wire import CHANNEL_TYPES

ERRORS: Final[dict[int, str]] = {
    1: "Unable to process message",
    2: "Params required",
    3: "Channels required",
    4: "Subscription IDs required",
    5: "Unknown command",
    7: "Unknown subscription ID",
    8: "Unknown channel name",
    9: "Authentication required",
    10: "Channel error",
    11: "Invalid parameter",
    12: "Exactly one subscription ID is required",
    13: "Unsupported action",
    14: "Market Ticker required",
    15: "Action required",
    16: "Market not found",
    17: "Internal error",
    18: "Command timeout",
    19: "shard_factor must be > 0",
    20: "shard_factor is required when shard_key is set",
    21: "shard_key must be >= 0 and < shard_factor",
    22: "shard_factor must be <= 100",
}
"""Kalshi's WS error codes and texts (AsyncAPI 2026-03 ``errorCodes``; code 6 is retired)."""

GLOBAL_CHANNELS: Final = frozenset({"market_lifecycle_v2", "communications", "order_group_updates"})
"""Channels that ignore market filters (kalshi-protocol.md section 4.1)."""
NO_SEQ_TYPES: Final = frozenset({"ticker"})
"""Data frame types sent without ``seq``."""
ACTIONS: Final = ("add_markets", "delete_markets", "get_snapshot")


class Outgoing(NamedTuple):
    """One frame to send, with what the fault layer and the fault log need to know about it.

    Attributes:
        frame: the JSON text frame's bytes.
        data: True for market data (snapshots, deltas, trades, tickers, lifecycle), False for
            command replies.
        type: Kalshi ``type``. sid, seq: the envelope's, when it has them.
        market: the market ticker it concerns, if any.
        recv_ns: replay time (capture receive time, Unix ns) of the data, if any.
    """

    frame: bytes
    data: bool
    type: str
    sid: int | None = None
    seq: int | None = None
    market: str | None = None
    recv_ns: int | None = None


class BookSource(Protocol):
    """What a session reads from the feed: known markets, published snapshots, last tickers."""

    catalog: MarketCatalog
    last_ticker: dict[str, FeedEvent]
    now_ns: int | None

    def snapshot_body(self, market_ticker: str) -> bytes:
        """The ``orderbook_snapshot`` ``msg`` of a market's published book."""


@dataclass
class Subscription:
    """One sid: its channel, its markets (None = every market) and the last ``seq`` sent."""

    sid: int
    channel: str
    markets: list[str] | None
    seq: int = 0


class _RejectedError(Exception):
    """A command fails: becomes an ``error`` reply (internal to this module)."""

    def __init__(self, code: int, market_ticker: str | None = None) -> None:
        super().__init__(ERRORS[code])
        self.code = code
        self.market_ticker = market_ticker


_decode_command = msgspec.json.Decoder(dict[str, Any]).decode


def _reply(frame: bytes, message_type: str) -> Outgoing:
    return Outgoing(frame, False, message_type)


class Session:
    """The protocol state of one client connection (see the module docstring).

    Args:
        source: the feed (known markets, published books, last tickers).

    Attributes:
        subs: ``sid -> Subscription``, in creation order.
        commands: commands received so far.
    """

    def __init__(self, source: BookSource) -> None:
        self.source = source
        self.subs: dict[int, Subscription] = {}
        self.commands = 0
        self._next_sid = 1
        self._global: dict[str, tuple[Subscription, ...]] = {}
        self._by_market: dict[str, dict[str, tuple[Subscription, ...]]] = {}
        self._handlers: dict[str, Callable[[int | None, Any], list[Outgoing]]] = {
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "list_subscriptions": self._list,
            "update_subscription": self._update,
        }

    @property
    def subscribed(self) -> bool:
        """True while the client holds at least one subscription."""
        return bool(self.subs)

    # -- commands -----------------------------------------------------------------------------

    def receive(self, data: str | bytes) -> list[Outgoing]:
        """Handle one command frame from the client; return the replies (and snapshots)."""
        self.commands += 1
        try:
            command = _decode_command(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return [self._error(None, _RejectedError(1))]
        command_id = command.get("id")
        if command_id is not None and (type(command_id) is not int or command_id < 0):
            return [self._error(None, _RejectedError(1))]
        handler = self._handlers.get(command.get("cmd"))  # type: ignore[arg-type]
        if handler is None:
            return [self._error(command_id, _RejectedError(5))]
        try:
            return handler(command_id, command.get("params"))
        except _RejectedError as exc:
            return [self._error(command_id, exc)]

    def _error(self, command_id: int | None, exc: _RejectedError) -> Outgoing:
        frame = encode.error(
            command_id, exc.code, ERRORS[exc.code], market_ticker=exc.market_ticker
        )
        return _reply(frame, "error")

    def _subscribe(self, command_id: int | None, params: Any) -> list[Outgoing]:
        params = _params(params)
        channels = params.get("channels")
        if not channels:
            raise _RejectedError(3)
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise _RejectedError(11)
        if any(c not in CHANNEL_TYPES for c in channels):
            raise _RejectedError(8)
        _check_shard(params)
        markets = self._markets(params)
        if "orderbook_delta" in channels and markets is None:
            raise _RejectedError(14)
        send_ticker = _flag(params, "send_initial_snapshot")
        _flag(params, "skip_ticker_ack")
        out: list[Outgoing] = []
        for channel in dict.fromkeys(channels):
            sub = Subscription(
                self._next_sid, channel, None if channel in GLOBAL_CHANNELS else markets
            )
            self._next_sid += 1
            self.subs[sub.sid] = sub
            out.append(_reply(encode.subscribed(command_id, channel, sub.sid), "subscribed"))
            out += self._initial(sub, sub.markets or [], send_ticker)
        self._reindex()
        return out

    def _unsubscribe(self, command_id: int | None, params: Any) -> list[Outgoing]:
        sids = _params(params).get("sids")
        if not sids:
            raise _RejectedError(4)
        if not isinstance(sids, list) or not all(type(s) is int for s in sids):
            raise _RejectedError(11)
        out: list[Outgoing] = []
        for sid in dict.fromkeys(sids):
            sub = self.subs.pop(sid, None)
            if sub is None:
                out.append(self._error(command_id, _RejectedError(7)))
            else:
                frame = encode.unsubscribed(command_id, sid, sub.seq)
                out.append(Outgoing(frame, False, "unsubscribed", sid, sub.seq or None))
        self._reindex()
        return out

    def _list(self, command_id: int | None, params: Any) -> list[Outgoing]:
        items = [(s.channel, s.sid) for s in self.subs.values()]
        return [_reply(encode.ok_list(command_id, items), "ok")]

    def _update(self, command_id: int | None, params: Any) -> list[Outgoing]:
        params = _params(params)
        sid = _one_sid(params)
        action = params.get("action")
        if action is None:
            raise _RejectedError(15)
        if action not in ACTIONS:
            raise _RejectedError(13)
        sub = self.subs.get(sid)
        if sub is None:
            raise _RejectedError(7)
        markets = self._markets(params)
        if markets is None:
            raise _RejectedError(14)
        if action == "get_snapshot":
            return self._get_snapshot(command_id, sub, markets)
        if sub.markets is None:
            raise _RejectedError(13)
        if action == "add_markets":
            added = [m for m in markets if m not in sub.markets]
            sub.markets += added
        else:
            gone = set(markets)
            sub.markets = [m for m in sub.markets if m not in gone]
            added = []
        self._reindex()
        skip = _flag(params, "skip_ticker_ack")
        frame = encode.ok_markets(command_id, sub.sid, sub.seq, None if skip else sub.markets)
        out = [Outgoing(frame, False, "ok", sub.sid, sub.seq or None)]
        return out + self._initial(sub, added, _flag(params, "send_initial_snapshot"))

    def _get_snapshot(
        self, command_id: int | None, sub: Subscription, markets: list[str]
    ) -> list[Outgoing]:
        if sub.channel != "orderbook_delta":
            raise _RejectedError(13)
        held = set(sub.markets or ())
        for market in markets:
            if market not in held:
                raise _RejectedError(11, market)
        return [self._snapshot(sub, m, command_id) for m in markets]

    def _initial(self, sub: Subscription, markets: list[str], send_ticker: bool) -> list[Outgoing]:
        """The frames a new subscription (or newly added markets) start with."""
        if sub.channel == "orderbook_delta":
            return [self._snapshot(sub, m, None) for m in markets]
        if sub.channel == "ticker" and send_ticker:
            last = self.source.last_ticker
            return [self._data(sub, last[m]) for m in markets if m in last]
        return []

    def _snapshot(self, sub: Subscription, market: str, command_id: int | None) -> Outgoing:
        sub.seq += 1
        body = self.source.snapshot_body(market)
        frame = encode.data_frame(
            b"orderbook_snapshot", sub.sid, sub.seq, body, command_id=command_id
        )
        return Outgoing(
            frame, True, "orderbook_snapshot", sub.sid, sub.seq, market, self.source.now_ns
        )

    def _markets(self, params: dict[str, Any]) -> list[str] | None:
        """The market tickers a command names (None when it names none), each known.

        Raises:
            _RejectedError: 11 for both forms at once, a wrong type, or market ids; 16 for an
                unknown ticker.
        """
        if "market_id" in params or "market_ids" in params:
            raise _RejectedError(11)
        one, many = params.get("market_ticker"), params.get("market_tickers")
        if one is not None and many is not None:
            raise _RejectedError(11)
        if one is not None:
            many = [one]
        if many is None:
            return None
        if not isinstance(many, list) or not all(isinstance(m, str) and m for m in many):
            raise _RejectedError(11)
        catalog = self.source.catalog
        for market in many:
            if market not in catalog:
                raise _RejectedError(16, market)
        return list(dict.fromkeys(many))

    # -- routing ------------------------------------------------------------------------------

    def route(self, event: FeedEvent) -> list[Outgoing]:
        """The frames one feed event makes for this client (none when nothing subscribes)."""
        everyone = self._global.get(event.channel)
        by_market = self._by_market.get(event.channel)
        some = by_market.get(event.market) if by_market and event.market is not None else None
        if everyone is None and some is None:
            return []
        targets: Sequence[Subscription]
        if everyone is not None and some is not None:
            targets = sorted(everyone + some, key=lambda s: s.sid)
        else:
            targets = everyone or some or ()
        return [self._data(sub, event) for sub in targets]

    def _data(self, sub: Subscription, event: FeedEvent) -> Outgoing:
        seq: int | None = None
        if event.type not in NO_SEQ_TYPES:
            sub.seq += 1
            seq = sub.seq
        frame = encode.data_frame(
            event.type.encode(), sub.sid, seq, event.body, sending_ts_ms=event.sending_ts_ms
        )
        return Outgoing(frame, True, event.type, sub.sid, seq, event.market, event.recv_ns)

    def _reindex(self) -> None:
        everyone: dict[str, list[Subscription]] = {}
        by_market: dict[str, dict[str, list[Subscription]]] = {}
        for sub in self.subs.values():
            if sub.markets is None:
                everyone.setdefault(sub.channel, []).append(sub)
            else:
                per = by_market.setdefault(sub.channel, {})
                for market in sub.markets:
                    per.setdefault(market, []).append(sub)
        self._global = {c: tuple(s) for c, s in everyone.items()}
        self._by_market = {c: {m: tuple(s) for m, s in per.items()} for c, per in by_market.items()}


# ---------------------------------------------------------------------------------------------
# parameter checks


def _params(params: Any) -> dict[str, Any]:
    if params is None:
        raise _RejectedError(2)
    if not isinstance(params, dict):
        raise _RejectedError(11)
    return params


def _flag(params: dict[str, Any], name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise _RejectedError(11)
    return value


def _one_sid(params: dict[str, Any]) -> int:
    """``sid`` (a scalar) or ``sids`` (exactly one element), else code 12."""
    sid, sids = params.get("sid"), params.get("sids")
    if sid is not None and sids is not None:
        raise _RejectedError(12)
    if sids is not None:
        if not isinstance(sids, list) or len(sids) != 1:
            raise _RejectedError(12)
        sid = sids[0]
    if type(sid) is not int:
        raise _RejectedError(12)
    return sid


def _check_shard(params: dict[str, Any]) -> None:
    """Codes 19-22 for ``shard_factor``/``shard_key`` (meaningful for ``communications`` only)."""
    factor, key = params.get("shard_factor"), params.get("shard_key")
    if factor is None and key is None:
        return
    if (factor is not None and type(factor) is not int) or (
        key is not None and type(key) is not int
    ):
        raise _RejectedError(11)
    if factor is None:
        raise _RejectedError(20)
    if factor <= 0:
        raise _RejectedError(19)
    if factor > 100:
        raise _RejectedError(22)
    if key is not None and not 0 <= key < factor:
        raise _RejectedError(21)
