"""The thin asyncio transport: websockets' client, with each message handed over at the read.

:class:`RecordingConnection` is websockets' own :class:`ClientConnection` (handshake, pings,
pongs, close frames, permessage-deflate, limits all stay websockets') with one change: a data
message is not queued for ``recv()``; it is given to a *sink* callback right in
``data_received``, stamped with the wall and monotonic clocks read when that chunk came off
the socket. So the stamp is the socket read, not the moment a consumer got around to
``recv()``, and no task switch or queue sits between the socket and the capture writer.
Every chunk read (Kalshi's heartbeat pings included) also updates
:attr:`RecordingConnection.last_read_mono_ns` for the idle watchdog.

Kalshi pings every 10 s with payload ``heartbeat``; websockets answers with a pong by itself
(kalshi-protocol.md 1.4). The client sends no pings of its own: the watchdog judges the feed
by what the server sends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Final, cast

from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame, Opcode
from websockets.protocol import Event

from kcap import __version__

FrameSink = Callable[[bytes, bool, int, int], None]
"""``sink(data, binary, recv_ns, mono_ns)``: one whole message and its socket-read stamps."""

MAX_MESSAGE_BYTES: Final = 64 * 1024 * 1024
"""Largest message accepted: Kalshi's own server-side frame limit (kalshi-protocol.md 1.5)."""

_WS_LOG: Final = logging.getLogger("kcap.capture.websockets")
_WS_LOG.setLevel(logging.INFO)  # websockets logs upgrade headers (the signature) at DEBUG: never

_TEXT: Final = Opcode.TEXT
_BINARY: Final = Opcode.BINARY
_CONT: Final = Opcode.CONT


class RecordingConnection(ClientConnection):
    """A websockets client connection that hands each message to :attr:`sink` at the read.

    Messages that arrive before a sink is attached are kept (with their stamps) and handed
    over by :meth:`attach`. An exception raised by the sink aborts the connection and is kept
    in :attr:`sink_error` (a bug: the caller re-raises it).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sink: FrameSink | None = None
        self.sink_error: BaseException | None = None
        self.read_ns = 0
        self.read_mono_ns = 0
        self.last_read_mono_ns = time.monotonic_ns()
        self.heartbeats = 0
        self._early: list[tuple[bytes, bool, int, int]] = []
        self._fragments: list[bytes] = []
        self._fragments_binary = False
        self._detached = False

    def attach(self, sink: FrameSink) -> None:
        """Start handing messages to ``sink`` (first the ones that came before)."""
        early, self._early = self._early, []
        self.sink = sink
        for item in early:
            self._deliver(*item)

    def detach(self) -> None:
        """Stop handing messages over; later ones are ignored (the recorder is stopping)."""
        self.sink = None
        self._early = []
        self._detached = True

    def data_received(self, data: bytes) -> None:
        self.read_ns = time.time_ns()
        self.read_mono_ns = self.last_read_mono_ns = time.monotonic_ns()
        super().data_received(data)

    def process_event(self, event: Event) -> None:
        if self.response is None or not isinstance(event, Frame):
            super().process_event(event)  # the handshake response
            return
        opcode = event.opcode
        if (opcode is _TEXT or opcode is _BINARY) and event.fin:
            data = event.data
            if type(data) is not bytes:
                data = bytes(data)
            sink = self.sink
            if sink is None:
                self._hold(data, opcode is _BINARY)
                return
            try:
                sink(data, opcode is _BINARY, self.read_ns, self.read_mono_ns)
            except Exception as exc:  # a bug in the sink: stop, keep it for the caller
                self._sink_failed(exc)
        elif opcode is _TEXT or opcode is _BINARY:
            self._fragments = [bytes(event.data)]
            self._fragments_binary = opcode is _BINARY
        elif opcode is _CONT:
            self._fragments.append(bytes(event.data))
            if event.fin:
                data, self._fragments = b"".join(self._fragments), []
                self._deliver(data, self._fragments_binary, self.read_ns, self.read_mono_ns)
        else:
            if opcode is Opcode.PING:
                self.heartbeats += 1
            super().process_event(event)  # pongs; close frames are handled by the protocol

    def _hold(self, data: bytes, binary: bool) -> None:
        if not self._detached:
            self._early.append((data, binary, self.read_ns, self.read_mono_ns))

    def _deliver(self, data: bytes, binary: bool, recv_ns: int, mono_ns: int) -> None:
        sink = self.sink
        if sink is None:
            self._hold(data, binary)
            return
        try:
            sink(data, binary, recv_ns, mono_ns)
        except Exception as exc:  # a bug in the sink: stop, keep it for the caller
            self._sink_failed(exc)

    def _sink_failed(self, exc: Exception) -> None:
        self.sink_error = exc
        self.sink = None
        self._detached = True
        if self.transport is not None:
            self.transport.abort()


async def open_connection(
    url: str,
    headers: dict[str, str],
    *,
    open_timeout_secs: float = 10.0,
    compression: bool = True,
) -> RecordingConnection:
    """Open one WebSocket connection with the given upgrade headers (already signed).

    Args:
        url: ``wss://...`` (or ``ws://`` for a local server).
        headers: extra upgrade headers (Kalshi's three ``KALSHI-ACCESS-*`` headers).
        open_timeout_secs: limit for TCP, TLS and the upgrade together.
        compression: offer permessage-deflate (Kalshi accepts it; kalshi-protocol.md 1.5).

    Returns:
        The open connection; attach a sink to receive messages.

    Raises:
        websockets.exceptions.InvalidStatus: the upgrade was refused (401, 403, 5xx ...).
        OSError, TimeoutError, websockets.exceptions.WebSocketException: see
            :func:`kcap.capture.backoff.classify`.
    """
    connection = await connect(
        url,
        additional_headers=headers,
        create_connection=RecordingConnection,
        compression="deflate" if compression else None,
        open_timeout=open_timeout_secs,
        ping_interval=None,
        close_timeout=2.0,
        max_size=MAX_MESSAGE_BYTES,
        user_agent_header=f"kcap/{__version__}",
        logger=_WS_LOG,
    )
    return cast(RecordingConnection, connection)
