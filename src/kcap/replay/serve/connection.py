"""One client connection of ``kcap serve``: the thin asyncio layer around a pure
:class:`~kcap.replay.serve.protocol.Session` and :class:`~kcap.replay.serve.faults.FaultPlan`.

Three tasks per connection:

* the **reader** hands each command frame to the session and queues the replies;
* the **writer** sends queued frames in order (``websockets`` applies TCP flow control, so a
  slow client makes ``send`` wait);
* the **heartbeat** sends a WebSocket ping with payload ``heartbeat`` every interval and drops
  the client (close 1011) when no pong arrives within the timeout (kalshi-protocol.md 1.4:
  Kalshi pings every 10 s; its pong timeout is not documented).

The outbox is bounded: once it holds ``high_water`` frames the connection reports itself full
and the feed waits until the writer has brought it down to half (backpressure, never an
unbounded buffer); it can exceed the mark by one chunk of feed events
(:data:`kcap.replay.serve.server.CHUNK_EVENTS`) and by one command's answer. Replies and
snapshots of one command are queued together, so a command's answer never interleaves with
the feed.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Final

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from kcap.replay.serve.faults import Action, Close, FaultPlan
from kcap.replay.serve.feed import FeedEvent
from kcap.replay.serve.protocol import Outgoing, Session

log = logging.getLogger("kcap.serve")

HEARTBEAT_PAYLOAD: Final = b"heartbeat"
HEARTBEAT_CLOSE_CODE: Final = 1011
WRITE_BATCH: Final = 256
"""Most frames written to the socket at once."""


class Connection:
    """The state and tasks of one accepted WebSocket connection.

    Args:
        ws: the websockets connection.
        number: the connection's number on this server, from 1.
        session: its protocol state.
        plan: its fault plan.
        high_water: outbox size (frames) at which the feed must wait for this client.
        on_full: called with this connection when its outbox reaches ``high_water``.
    """

    def __init__(
        self,
        ws: ServerConnection,
        number: int,
        session: Session,
        plan: FaultPlan,
        *,
        high_water: int,
        on_full: Callable[[Connection], None],
    ) -> None:
        self.ws = ws
        self.number = number
        self.session = session
        self.plan = plan
        self.high_water = high_water
        self.low_water = high_water // 2
        self.on_full = on_full
        self.outbox: deque[Action] = deque()
        self.room = asyncio.Event()
        self.room.set()
        self.closed = False
        self.sent = 0
        self.pongs = 0
        self._wake = asyncio.Event()

    # -- queueing (synchronous: called by the reader and by the feed) -------------------------

    def push(self, outgoing: Iterable[Outgoing]) -> None:
        """Queue frames through the fault plan."""
        if self.closed:
            return
        if self.plan.active:
            apply = self.plan.apply
            append = self.outbox.append
            for out in outgoing:
                for action in apply(out):
                    append(action)
        else:
            self.outbox.extend([out.frame for out in outgoing])
        self._after_push()

    def deliver(self, events: Iterable[FeedEvent]) -> None:
        """Route feed events through the session and queue what they make."""
        if self.closed or not self.session.subs:
            return
        route = self.session.route
        for event in events:
            frames = route(event)
            if frames:
                self.push(frames)

    def flush(self) -> None:
        """The feed ended: release any frame the fault plan holds back."""
        if not self.closed:
            self.outbox.extend(self.plan.flush())
            self._after_push()

    def _after_push(self) -> None:
        if self.outbox:
            self._wake.set()
            if len(self.outbox) >= self.high_water and self.room.is_set():
                self.room.clear()
                self.on_full(self)

    def mark_closed(self) -> None:
        self.closed = True
        self.outbox.clear()
        self.room.set()

    # -- tasks --------------------------------------------------------------------------------

    async def read(self, on_command: Callable[[], None]) -> None:
        """Handle commands until the client goes away; ``on_command`` runs after each."""
        try:
            async for data in self.ws:
                self.push(self.session.receive(data))
                on_command()
        except ConnectionClosed:
            pass

    async def write(self) -> None:
        """Send queued frames in order until the connection closes.

        Frames queued together go out in one write: ``send_context()`` around several
        ``protocol.send_text()`` is what ``send()`` does for one message (websockets'
        Sans-I/O protocol), and the frames it serialised are handed to the transport in one
        ``writelines`` (one system call) before the context flushes and waits for flow control.
        A ``send()`` per frame was half of the server's time at ``--speed max``.
        """
        outbox = self.outbox
        ws = self.ws
        protocol = ws.protocol
        send_text = protocol.send_text
        try:
            while True:
                while not outbox:
                    self._wake.clear()
                    await self._wake.wait()
                if isinstance(outbox[0], Close):
                    await self._close(outbox.popleft())  # type: ignore[arg-type]
                    return
                sent = 0
                async with ws.send_context():
                    while outbox and sent < WRITE_BATCH and type(outbox[0]) is bytes:
                        send_text(outbox.popleft())  # type: ignore[arg-type]
                        sent += 1
                    chunks = protocol.data_to_send()
                    ws.transport.writelines([c for c in chunks if c])
                    if not all(chunks):  # b"" means end of stream: let websockets see it
                        ws.transport.write_eof()
                self.sent += sent
                if not self.room.is_set() and len(outbox) <= self.low_water:
                    self.room.set()
        except ConnectionClosed:
            pass
        finally:
            self.mark_closed()

    async def _close(self, action: Close) -> None:
        log.info("connection %d: injected close %s", self.number, action.code or "abort")
        if action.code is None:
            self.ws.transport.abort()
        else:
            await self.ws.close(action.code, action.reason)

    async def heartbeat(self, interval_secs: float, timeout_secs: float) -> None:
        """Ping every ``interval_secs``; drop the client when a pong takes over ``timeout_secs``."""
        try:
            while True:
                await asyncio.sleep(interval_secs)
                try:
                    async with asyncio.timeout(timeout_secs):
                        pong = await self.ws.ping(HEARTBEAT_PAYLOAD)
                        await pong
                except TimeoutError:
                    log.info("connection %d: no pong in %.1f s, dropped", self.number, timeout_secs)
                    self.mark_closed()
                    await self.ws.close(HEARTBEAT_CLOSE_CODE, "heartbeat timeout")
                    return
                self.pongs += 1
        except ConnectionClosed:
            pass
