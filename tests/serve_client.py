"""Clients for the ``kcap serve`` network tests: a plain ``websockets`` client that rebuilds books
with kcap's ``BookBuilder``, a raw socket client that never answers pings, and small waits.

Every wait polls with a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import struct
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from kcap.book import BookBuilder
from kcap.replay.serve import KalshiServer
from kcap.schemas.wire import decode_frame

DEADLINE_SECS = 10.0


async def wait_until(check: Callable[[], bool], *, timeout: float = DEADLINE_SECS) -> None:
    """Poll ``check`` until it is true; fail after ``timeout`` seconds."""
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.005)


class Client:
    """A plain websockets client: sends commands, keeps every frame, rebuilds books.

    Attributes:
        frames: every text frame received, as bytes, in order.
        builder: kcap's book builder fed with every frame (connection id ``client``).
    """

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[bytes] = []
        self.builder = BookBuilder()
        self._next_id = 0

    @classmethod
    async def connect(cls, server: KalshiServer, **kwargs: Any) -> Client:
        return cls(await websockets.connect(server.url, open_timeout=5, **kwargs))

    async def close(self) -> None:
        """Close, reading whatever still arrives (a client that stops reading never sees the
        server's close frame behind the data)."""

        async def drain() -> None:
            with contextlib.suppress(websockets.ConnectionClosed):
                async for _ in self.ws:
                    pass

        await asyncio.wait_for(asyncio.gather(self.ws.close(), drain()), DEADLINE_SECS)

    async def send(
        self, cmd: str, params: dict[str, Any] | None = None, *, command_id: int | None = None
    ) -> int:
        """Send a command; return its id (fresh unless given)."""
        if command_id is None:
            self._next_id += 1
            command_id = self._next_id
        command: dict[str, Any] = {"id": command_id, "cmd": cmd}
        if params is not None:
            command["params"] = params
        await self.ws.send(json.dumps(command))
        return command_id

    def _take(self, raw: str | bytes) -> dict[str, Any]:
        data = raw.encode() if isinstance(raw, str) else raw
        self.frames.append(data)
        self.builder.apply("client", decode_frame(data), len(self.frames))
        try:
            return json.loads(data)  # type: ignore[no-any-return]
        except ValueError:
            return {"type": "<not json>", "raw": data}

    async def recv(self, *, timeout: float = DEADLINE_SECS) -> dict[str, Any]:
        """The next frame, decoded as JSON (also kept and applied to the builder)."""
        return self._take(await asyncio.wait_for(self.ws.recv(), timeout))

    async def reply(
        self, command_id: int, *, timeout: float = DEADLINE_SECS
    ) -> list[dict[str, Any]]:
        """Frames up to and including the first with ``id == command_id``."""
        out = []
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv()
                out.append(frame)
                if frame.get("id") == command_id and frame.get("type") != "orderbook_snapshot":
                    return out

    async def command(self, cmd: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Send a command; return every frame it made (replies, snapshots), and any data frame
        the feed queued meanwhile."""
        await self.send(cmd, params)
        return await self.barrier()

    async def barrier(self) -> list[dict[str, Any]]:
        """Every frame the server queued before now: a ``list_subscriptions`` round trip
        (replies and data share one ordered queue per connection)."""
        return (await self.reply(await self.send("list_subscriptions")))[:-1]

    def received(self) -> list[dict[str, Any]]:
        """Every frame received so far, decoded (frames that are not JSON are left out)."""
        out = []
        for data in self.frames:
            with contextlib.suppress(ValueError):
                out.append(json.loads(data))
        return out

    async def drain_until_finished(self, server: KalshiServer) -> list[dict[str, Any]]:
        """Read until the capture has ended, then take every frame sent before its end."""
        before = len(self.frames)
        finished = asyncio.ensure_future(server.finished.wait())
        async with asyncio.timeout(DEADLINE_SECS):
            while not finished.done():
                recv = asyncio.ensure_future(self.ws.recv())
                await asyncio.wait({recv, finished}, return_when=asyncio.FIRST_COMPLETED)
                if recv.done():
                    self._take(recv.result())
                else:
                    recv.cancel()  # safe: websockets keeps the message for the next recv()
                    with contextlib.suppress(asyncio.CancelledError):
                        await recv
        await self.barrier()
        return self._since(before)

    def _since(self, before: int) -> list[dict[str, Any]]:
        """Frames received after index ``before``, without the barrier's reply."""
        out = []
        for data in self.frames[before:-1]:
            try:
                out.append(json.loads(data))
            except ValueError:
                out.append({"type": "<not json>", "raw": data})
        return out


async def rest_get(
    server: KalshiServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """``GET http://host:port<path>`` in a thread; ``(status, JSON body)``."""

    def fetch() -> tuple[int, Any]:
        request = urllib.request.Request(f"http://{server.base}{path}", headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    return await asyncio.to_thread(fetch)


class RawClient:
    """A WebSocket client on a bare socket: completes the handshake, reads frames, and never
    answers a ping (what a hung client looks like to the server)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, server: KalshiServer) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /trade-api/ws/v2 HTTP/1.1\r\nHost: {server.base}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE_SECS)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    async def frame(self) -> tuple[int, bytes] | None:
        """``(opcode, payload)`` of the next frame, or None at end of stream."""
        try:
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            return first & 0x0F, await self.reader.readexactly(length)
        except asyncio.IncompleteReadError:
            return None

    def close(self) -> None:
        self.writer.close()


async def gather_frames(
    read: Callable[[], Awaitable[tuple[int, bytes] | None]],
) -> list[tuple[int, bytes]]:
    """Frames from ``read`` until the end of the stream (bounded by the deadline)."""
    out = []
    async with asyncio.timeout(DEADLINE_SECS):
        while (item := await read()) is not None:
            out.append(item)
    return out
