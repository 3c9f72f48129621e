"""The session protocol of one Kalshi WebSocket connection, pure: no sockets, no clock.

Feed it what arrives and the time; it answers with what to send and what to record, in the
style of python-websockets' ``protocol.py`` and h11::

    session = Session(("orderbook_delta", "trade"), markets=["KXHIGHNY-26NOV21-B53.5"])
    outputs = session.start(now_ns)              # [Send(subscribe ...)]
    outputs = session.receive(frame_bytes, now_ns)  # [Note("subscription", ...), ...]
    outputs = session.tick(now_ns)               # ack timeouts, stuck resnapshots

Each output is a :class:`Send` (a command's exact bytes), a :class:`Note` (a control record
to write: ``subscription``, ``gap``, ``resnapshot``, ``error``) or a :class:`Reconnect`.
Outputs come in the order they must be recorded and sent.

Kalshi rules implemented here (kalshi-protocol.md sections 2-3):

* commands are ``{"id": n, "cmd": ..., "params": {...}}`` with ids from 1, unique per
  connection (2); a ``subscribe`` is acknowledged by one ``subscribed`` per channel, each
  with its own ``sid`` (2.1); ``update_subscription`` answers ``ok`` with the sid's full
  market list (2.5); errors carry the command ``id`` (2.5, 2.6);
* ``seq`` counts per sid, +1 per message, shared by all of the sid's markets; the first
  seq-bearing frame of a sid is its baseline; anything else than ``last + 1`` (a gap, a
  duplicate, a regression) is a break (3.3), exactly as :class:`kcap.book.BookBuilder` sees
  it in replay, so that a replayed book is stale exactly where the recorder asked for a new
  snapshot;
* after a break on an ``orderbook_delta`` sid every market of the sid gets a fresh snapshot:
  ``update_subscription`` ``action: get_snapshot`` (the sid stays), or ``unsubscribe`` +
  ``subscribe`` (a new sid) when so configured, when Kalshi refuses ``get_snapshot``, when
  snapshots do not come within the ack timeout, or when breaks keep coming while snapshots
  are outstanding (3.3 (a), (b));
* ``market_lifecycle_v2`` ``created`` events add new markets of followed series and events
  (``update_subscription`` ``add_markets``, 2.4; 4.5).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from kcap.capture.config import MARKET_CHANNELS
from kcap.capture.envelope import Envelope, peek
from kcap.schemas import wire
from kcap.schemas.record import ERROR, GAP, RESNAPSHOT, SUBSCRIPTION

TYPE_CHANNEL: Final[dict[str, str]] = {
    t: channel for channel, types in wire.CHANNEL_TYPES.items() for t in types
}
"""Kalshi message ``type`` -> the channel that sends it."""

BOOK_CHANNEL: Final = "orderbook_delta"


@dataclass(frozen=True, slots=True)
class Send:
    """A command to send as one text frame: ``data`` holds its exact bytes."""

    data: bytes
    id: int
    cmd: str


@dataclass(frozen=True, slots=True)
class Note:
    """A control record to write: ``kind`` from :data:`kcap.schemas.record.RECORD_KINDS`."""

    kind: str
    info: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reconnect:
    """The connection is no longer trustworthy (a command went unanswered): reconnect."""

    reason: str


Output = Send | Note | Reconnect


class Subscription:
    """What the session knows of one sid.

    Attributes:
        sid: Kalshi's subscription id (per connection).
        channel: its channel (None until acknowledged, for a frame that came first).
        markets: its market tickers (from the command, ``ok`` replies and snapshots).
        last_seq: last ``seq`` seen, None before the first.
        valid: markets whose book is whole: a snapshot came and no break since.
        outstanding: markets whose fresh snapshot was requested and has not come.
        outstanding_since_ns: when the oldest outstanding request was sent.
        breaks_recovering: breaks seen while snapshots were outstanding.
        closing: being replaced (unsubscribe sent); its frames are no longer checked.
    """

    __slots__ = (
        "breaks_recovering",
        "channel",
        "closing",
        "last_seq",
        "markets",
        "outstanding",
        "outstanding_since_ns",
        "refused_get_snapshot",
        "sid",
        "valid",
    )

    def __init__(self, sid: int, channel: str | None) -> None:
        self.sid = sid
        self.channel = channel
        self.markets: set[str] = set()
        self.last_seq: int | None = None
        self.valid: set[str] = set()
        self.outstanding: set[str] = set()
        self.outstanding_since_ns = 0
        self.breaks_recovering = 0
        self.closing = False
        self.refused_get_snapshot = False


@dataclass
class _Pending:
    """A command waiting for its answer."""

    id: int
    cmd: str
    sent_ns: int
    channels: set[str] = field(default_factory=set)
    markets: tuple[str, ...] = ()
    sid: int | None = None
    action: str | None = None


_encode = msgspec.json.encode


class Session:
    """Subscriptions, command ids, acks and per-sid sequencing of one connection.

    Args:
        channels: Kalshi channels to subscribe (validated names).
        markets: market tickers to subscribe on channels that take markets.
        follow: series or event tickers whose new markets are added when
            ``market_lifecycle_v2`` announces them (``created``); settled ones are dropped
            from :attr:`markets` (kept for the next connection otherwise).
        resnapshot: ``get_snapshot`` or ``resubscribe`` (see the module docstring).
        chunk_markets: most markets per ``subscribe`` / ``add_markets`` command.
        ack_timeout_ns: a command unanswered this long asks for a reconnect; snapshots
            outstanding this long make the sid resubscribe.
        max_breaks_recovering: breaks tolerated while snapshots are outstanding before the sid
            is resubscribed instead.
    """

    def __init__(
        self,
        channels: Iterable[str],
        markets: Iterable[str] = (),
        *,
        follow: Iterable[str] = (),
        resnapshot: str = "get_snapshot",
        chunk_markets: int = 250,
        ack_timeout_ns: int = 15_000_000_000,
        max_breaks_recovering: int = 4,
    ) -> None:
        self.channels = tuple(channels)
        self.markets: set[str] = set(markets)
        self.follow = tuple(follow)
        self.resnapshot = resnapshot
        self.chunk_markets = chunk_markets
        self.ack_timeout_ns = ack_timeout_ns
        self.max_breaks_recovering = max_breaks_recovering
        self.subs: dict[int, Subscription] = {}
        self.counts: dict[str, int] = {}  # frames by type (a plain dict: the hot path)
        self.gaps = 0
        self.errors = 0
        self.resnapshots = 0
        self.last_error: str | None = None
        self._explicit = set(self.markets)
        self._pending: dict[int, _Pending] = {}
        self._next_id = 1
        self._out: list[Output] = []
        self._handlers = {
            "orderbook_snapshot": self._on_snapshot,
            "subscribed": self._on_subscribed,
            "ok": self._on_ok,
            "unsubscribed": self._on_unsubscribed,
            "error": self._on_error,
            "market_lifecycle_v2": self._on_lifecycle,
        }

    # -- public API ---------------------------------------------------------------------------

    def start(self, now_ns: int) -> list[Output]:
        """The subscribe commands of a new connection: global channels first (so that no
        ``created`` event is missed), then market channels in chunks of ``chunk_markets``."""
        global_channels = [c for c in self.channels if c not in MARKET_CHANNELS]
        if global_channels:
            self._subscribe(global_channels, (), now_ns)
        self._subscribe_markets(sorted(self.markets), now_ns, existing=False)
        return self._take()

    def receive(self, data: bytes, now_ns: int) -> list[Output]:
        """Process one received frame (already recorded raw).

        Args:
            data: the frame's bytes as received.
            now_ns: its receive time, Unix nanoseconds.

        Returns:
            What to record and send because of it (most often nothing).
        """
        return self.receive_envelope(peek(data)[0], data, now_ns)

    def receive_envelope(self, env: Envelope | None, data: bytes, now_ns: int) -> list[Output]:
        """:meth:`receive` for a frame whose envelope was already decoded by :func:`peek`."""
        if env is None:
            self.counts["malformed"] = self.counts.get("malformed", 0) + 1
            return []
        kind = env.type
        counts = self.counts
        counts[kind] = counts.get(kind, 0) + 1
        seq = env.seq
        if kind in self._handlers:
            self._handlers[kind](env, data, now_ns)
        elif seq is not None and env.sid is not None:
            sub = self.subs.get(env.sid)
            if sub is not None and sub.last_seq is not None and seq == sub.last_seq + 1:
                sub.last_seq = seq  # the hot path: the next seq of a known sid
                return []
            self._sequence(self._sub(env.sid, kind), seq, now_ns, None)
        return self._take() if self._out else []

    def add_markets(self, tickers: Iterable[str], now_ns: int) -> list[Output]:
        """Add markets (discovered while running) to every market channel.

        Returns:
            ``update_subscription`` ``add_markets`` commands for sids with room, ``subscribe``
            commands otherwise; nothing for markets already recorded.
        """
        new = [t for t in dict.fromkeys(tickers) if t not in self.markets]
        if new:
            self.markets.update(new)
            self._subscribe_markets(new, now_ns, existing=True)
        return self._take()

    def tick(self, now_ns: int) -> list[Output]:
        """Check deadlines: a command unanswered for ``ack_timeout_ns`` -> :class:`Reconnect`;
        snapshots outstanding that long -> the sid is resubscribed."""
        for pending in self._pending.values():
            if pending.action != "get_snapshot" and now_ns - pending.sent_ns > self.ack_timeout_ns:
                message = (
                    f"no answer to {pending.cmd} id {pending.id} within "
                    f"{self.ack_timeout_ns / 1e9:g} s"
                )
                self._error_note({"message": message, "id": pending.id, "cmd": pending.cmd})
                self._out.append(Reconnect(message))
                return self._take()
        for sub in list(self.subs.values()):
            late = now_ns - sub.outstanding_since_ns > self.ack_timeout_ns
            if sub.outstanding and not sub.closing and late:
                self._resubscribe(sub, now_ns, "snapshots not received in time")
        return self._take()

    @property
    def pending_commands(self) -> int:
        """Commands sent and not answered yet."""
        return len(self._pending)

    # -- sequencing ---------------------------------------------------------------------------

    def _sub(self, sid: int, kind: str) -> Subscription:
        sub = self.subs.get(sid)
        if sub is None:
            # a frame before its sid's ack: track it anyway, the ack fills in the rest
            sub = self.subs[sid] = Subscription(sid, TYPE_CHANNEL.get(kind))
        return sub

    def _sequence(self, sub: Subscription, seq: int, now_ns: int, arriving: str | None) -> None:
        if sub.closing:
            return
        last = sub.last_seq
        sub.last_seq = seq
        if last is None or seq == last + 1:
            return
        reason = "gap" if seq > last + 1 else "duplicate" if seq == last else "regression"
        self.gaps += 1
        stale = sorted(sub.valid)
        sub.valid.clear()
        self._note(
            GAP,
            {
                "sid": sub.sid,
                "channel": sub.channel,
                "expected": last + 1,
                "received": seq,
                "reason": reason,
                "markets": stale,
            },
        )
        if sub.channel == BOOK_CHANNEL:
            if sub.outstanding:
                sub.breaks_recovering += 1
            self._request_snapshots(sub, now_ns, reason, arriving)

    def _request_snapshots(
        self, sub: Subscription, now_ns: int, reason: str, arriving: str | None
    ) -> None:
        use_resubscribe = (
            self.resnapshot == "resubscribe"
            or sub.refused_get_snapshot
            or sub.breaks_recovering > self.max_breaks_recovering
        )
        if use_resubscribe:
            self._resubscribe(sub, now_ns, reason)
            return
        wanted = sorted(sub.markets - sub.outstanding - {arriving})
        if not wanted:
            return
        if not sub.outstanding:
            sub.outstanding_since_ns = now_ns
        sub.outstanding.update(wanted)
        self.resnapshots += 1
        cmd_id = self._next_id
        self._note(
            RESNAPSHOT,
            {
                "sid": sub.sid,
                "channel": sub.channel,
                "markets": wanted,
                "method": "get_snapshot",
                "id": cmd_id,
                "reason": reason,
            },
        )
        params = {"sids": [sub.sid], "market_tickers": wanted, "action": "get_snapshot"}
        self._send("update_subscription", params, now_ns, sid=sub.sid, action="get_snapshot")

    def _resubscribe(self, sub: Subscription, now_ns: int, reason: str) -> None:
        """Replace the sid by a new subscription to the same channel and markets."""
        if sub.closing or sub.channel is None:
            return
        sub.closing = True
        markets = sorted(sub.markets)
        self.resnapshots += 1
        self._note(
            RESNAPSHOT,
            {
                "sid": sub.sid,
                "channel": sub.channel,
                "markets": markets,
                "method": "resubscribe",
                "id": self._next_id,
                "reason": reason,
            },
        )
        self._send("unsubscribe", {"sids": [sub.sid]}, now_ns, sid=sub.sid)
        self._subscribe([sub.channel], markets, now_ns)

    # -- handlers (rare messages: full decode) ------------------------------------------------

    def _on_snapshot(self, env: Envelope, data: bytes, now_ns: int) -> None:
        message = wire.decode_frame(data)
        if not isinstance(message, wire.OrderbookSnapshot):
            return
        sub = self._sub(message.sid, env.type)
        ticker = message.msg.market_ticker
        if message.seq is not None:
            self._sequence(sub, message.seq, now_ns, ticker)
        if sub.closing:
            return
        sub.markets.add(ticker)
        sub.valid.add(ticker)
        if ticker in sub.outstanding:
            sub.outstanding.discard(ticker)
            if not sub.outstanding:
                sub.breaks_recovering = 0

    def _on_subscribed(self, env: Envelope, data: bytes, now_ns: int) -> None:
        message = wire.decode_frame(data)
        if not isinstance(message, wire.Subscribed):
            return
        sid, channel = message.msg.sid, message.msg.channel
        sub = self.subs.get(sid)
        if sub is None:
            sub = self.subs[sid] = Subscription(sid, channel)
        sub.channel = channel
        pending = self._pending.get(message.id or 0)
        if pending is not None:
            sub.markets.update(pending.markets)
            pending.channels.discard(channel)
            if not pending.channels:
                del self._pending[pending.id]
        self._note(
            SUBSCRIPTION,
            {"sid": sid, "channel": channel, "markets": sorted(sub.markets), "id": message.id},
        )

    def _on_ok(self, env: Envelope, data: bytes, now_ns: int) -> None:
        message = wire.decode_frame(data)
        if not isinstance(message, wire.Ok):
            return
        pending = self._pending.pop(message.id, None) if message.id else None
        sid = message.sid if message.sid is not None else (pending.sid if pending else None)
        sub = self.subs.get(sid) if sid is not None else None
        if sub is None or (pending is not None and pending.action == "get_snapshot"):
            return
        if isinstance(message.msg, wire.OkMsg) and message.msg.market_tickers is not None:
            sub.markets = set(message.msg.market_tickers)
        elif pending is not None and pending.action == "add_markets":
            sub.markets.update(pending.markets)
        else:
            return
        if message.seq is not None and sub.last_seq is not None and message.seq == sub.last_seq + 1:
            sub.last_seq = message.seq  # as BookBuilder: ``ok`` may or may not consume a seq
        self._note(
            SUBSCRIPTION,
            {
                "sid": sub.sid,
                "channel": sub.channel,
                "markets": sorted(sub.markets),
                "id": message.id,
                "action": pending.action if pending else None,
            },
        )

    def _on_unsubscribed(self, env: Envelope, data: bytes, now_ns: int) -> None:
        if env.id:
            self._pending.pop(env.id, None)
        if env.sid is not None:
            self.subs.pop(env.sid, None)

    def _on_error(self, env: Envelope, data: bytes, now_ns: int) -> None:
        message = wire.decode_frame(data)
        pending = self._pending.pop(env.id, None) if env.id else None
        info: dict[str, Any] = {"id": env.id, "cmd": pending.cmd if pending else None}
        if isinstance(message, wire.Error):
            info.update(code=message.msg.code, message=message.msg.msg, sid=message.sid)
            if message.msg.market_ticker:
                info["market_ticker"] = message.msg.market_ticker
        else:
            info["message"] = "error frame kcap could not read"
        if pending is not None and pending.action:
            info["action"] = pending.action
        self._error_note(info)
        if pending is not None and pending.action == "get_snapshot" and pending.sid in self.subs:
            sub = self.subs[pending.sid]
            sub.refused_get_snapshot = True
            self._resubscribe(sub, now_ns, "get_snapshot refused")

    def _on_lifecycle(self, env: Envelope, data: bytes, now_ns: int) -> None:
        if env.seq is not None and env.sid is not None:
            self._sequence(self._sub(env.sid, env.type), env.seq, now_ns, None)
        if not self.follow:
            return
        message = wire.decode_frame(data)
        if not isinstance(message, wire.MarketLifecycle):
            return
        ticker = message.msg.market_ticker
        if not any(ticker.startswith(prefix + "-") for prefix in self.follow):
            return
        if message.msg.event_type == "created" and ticker not in self.markets:
            self.markets.add(ticker)
            self._subscribe_markets([ticker], now_ns, existing=True)
        elif message.msg.event_type == "settled" and ticker not in self._explicit:
            self.markets.discard(ticker)  # not restored on the next connection

    # -- commands -----------------------------------------------------------------------------

    def _subscribe_markets(self, tickers: list[str], now_ns: int, *, existing: bool) -> None:
        """Subscribe ``tickers`` on every market channel: ``add_markets`` to a live sid with
        room when ``existing``, else new ``subscribe`` commands."""
        market_channels = [c for c in self.channels if c in MARKET_CHANNELS]
        if not tickers or not market_channels:
            return
        fresh: list[str] = []
        for channel in market_channels:
            sub = self._room(channel, len(tickers)) if existing else None
            if sub is None:
                fresh.append(channel)
                continue
            params = {"sids": [sub.sid], "market_tickers": tickers, "action": "add_markets"}
            self._send(
                "update_subscription",
                params,
                now_ns,
                sid=sub.sid,
                action="add_markets",
                markets=tuple(tickers),
            )
        for start in range(0, len(tickers), self.chunk_markets) if fresh else ():
            self._subscribe(fresh, tickers[start : start + self.chunk_markets], now_ns)

    def _room(self, channel: str, extra: int) -> Subscription | None:
        for sub in self.subs.values():
            if (
                sub.channel == channel
                and not sub.closing
                and len(sub.markets) + extra <= self.chunk_markets
            ):
                return sub
        return None

    def _subscribe(self, channels: list[str], markets: Iterable[str], now_ns: int) -> None:
        markets = tuple(markets)
        params: dict[str, Any] = {"channels": list(channels)}
        if markets:
            params["market_tickers"] = list(markets)
        self._send("subscribe", params, now_ns, channels=set(channels), markets=markets)

    def _send(
        self,
        cmd: str,
        params: dict[str, Any],
        now_ns: int,
        *,
        channels: set[str] | None = None,
        markets: tuple[str, ...] = (),
        sid: int | None = None,
        action: str | None = None,
    ) -> None:
        cmd_id = self._next_id
        self._next_id += 1
        data = _encode({"id": cmd_id, "cmd": cmd, "params": params})
        self._pending[cmd_id] = _Pending(
            cmd_id, cmd, now_ns, channels or set(), markets, sid, action
        )
        self._out.append(Send(data, cmd_id, cmd))

    def _note(self, kind: str, info: dict[str, Any]) -> None:
        self._out.append(Note(kind, info))

    def _error_note(self, info: dict[str, Any]) -> None:
        self.errors += 1
        code = info.get("code")
        text = info.get("message") or ""
        self.last_error = f"{code}: {text}" if code is not None else text
        self._note(ERROR, {k: v for k, v in info.items() if v is not None})

    def _take(self) -> list[Output]:
        out, self._out = self._out, []
        return out
