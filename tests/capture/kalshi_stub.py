"""A minimal Kalshi-like WebSocket server for the recorder's transport tests.

127.0.0.1, ephemeral port, the real websockets server. It checks the three KALSHI-ACCESS-*
headers (a bad signature gets HTTP 401), answers ``subscribe`` with one ``subscribed`` per
channel, sends a snapshot per market then seeded random deltas with per-sid ``seq``, answers
``get_snapshot`` with snapshots that take the next seqs, and ``unsubscribe`` with
``unsubscribed``. Faults: frames whose seq is in ``drop`` are skipped (the seq is used up), a
frame can be sent twice (``duplicate``), a malformed frame can be slipped in, the connection
can be closed after N frames or stalled (no frame, no ping). A :class:`BookBuilder` keeps
the books exactly as sent, so tests compare the recording with what the server meant.
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from kcap.book import BookBuilder, books_digest
from kcap.capture.signing import HEADER_KEY, HEADER_SIGNATURE, HEADER_TIMESTAMP, verify
from kcap.schemas import wire


@dataclass
class Faults:
    """What to break (seq numbers are per sid, on the first connection unless noted)."""

    drop: set[int] = field(default_factory=set)
    duplicate: set[int] = field(default_factory=set)
    malformed_after: int | None = None
    close_after_frames: int | None = None
    stall_after_frames: int | None = None


class StubKalshi:
    """See the module docstring.

    Args:
        public_key: verifies signatures (None: any headers accepted, but they must be there).
        markets_prices: levels of each market's first snapshot.
        deltas: deltas sent per subscription after the snapshots.
        faults: faults on the first connection.
        reject: HTTP status to refuse every upgrade with.
    """

    def __init__(
        self,
        public_key: rsa.RSAPublicKey | None,
        *,
        deltas: int = 50,
        faults: Faults | None = None,
        reject: int | None = None,
        seed: int = 7,
    ) -> None:
        self.public_key = public_key
        self.deltas = deltas
        self.faults = faults or Faults()
        self.reject = reject
        self.rng = random.Random(seed)
        self.server: Server | None = None
        self.url = ""
        self.connections = 0
        self.commands: list[dict[str, Any]] = []
        self.sent = BookBuilder()  # books as sent, connection by connection
        self.frames_sent = 0
        self.delivered: list[bytes] = []
        self.digests: list[str] = []
        self.done = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> StubKalshi:
        self.server = await serve(
            self._handle, "127.0.0.1", 0, process_request=self._check, compression=None
        )
        port = next(iter(self.server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/trade-api/ws/v2"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.reject is not None:
            return connection.respond(HTTPStatus(self.reject), "refused by the stub\n")
        headers = request.headers
        if not all(h in headers for h in (HEADER_KEY, HEADER_TIMESTAMP, HEADER_SIGNATURE)):
            return connection.respond(HTTPStatus.UNAUTHORIZED, "missing auth headers\n")
        if self.public_key is not None and not verify(
            self.public_key,
            headers[HEADER_TIMESTAMP],
            "GET",
            request.path.split("?")[0],
            headers[HEADER_SIGNATURE],
        ):
            return connection.respond(HTTPStatus.UNAUTHORIZED, "bad signature\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        conn = _Conn(self, ws, f"stub.{self.connections}", self.connections == 1)
        try:
            async for message in ws:
                command = json.loads(message)
                self.commands.append(command)
                await conn.command(command)
        except Exception:  # the client went away
            pass


class _Conn:
    def __init__(self, stub: StubKalshi, ws: ServerConnection, name: str, faulty: bool) -> None:
        self.stub, self.ws, self.name = stub, ws, name
        self.faults = stub.faults if faulty else Faults()
        self.next_sid = 1
        self.seq: dict[int, int] = {}
        self.markets: dict[int, list[str]] = {}
        self.frames = 0
        self.stalled = False

    async def send(self, obj: dict[str, Any], *, sid: int | None = None) -> None:
        if self.stalled:
            return
        if sid is not None:
            self.seq[sid] += 1
            obj["seq"] = self.seq[sid]
        data = json.dumps(obj, separators=(",", ":"))
        self.stub.sent.apply(self.name, wire.decode_frame(data.encode()), 0)
        faults = self.faults
        if sid is not None and obj["seq"] in faults.drop:
            return
        self.stub.delivered.append(data.encode())
        self.stub.digests.append(books_digest(self.stub.sent.books))
        await self.ws.send(data)
        self.frames += 1
        self.stub.frames_sent += 1
        if sid is not None and obj["seq"] in faults.duplicate:
            await self.ws.send(data)
        if faults.malformed_after == self.frames:
            await self.ws.send('{"type":"orderbook_delta","sid":')
        if faults.close_after_frames == self.frames:
            await self.ws.close(1011, "stub closing")
        if faults.stall_after_frames == self.frames:
            self.stalled = True  # the socket stays open; nothing more is sent

    async def command(self, command: dict[str, Any]) -> None:
        cmd, params, cmd_id = command["cmd"], command.get("params", {}), command["id"]
        if cmd == "subscribe":
            for channel in params["channels"]:
                sid = self.next_sid
                self.next_sid += 1
                self.seq[sid] = 0
                self.markets[sid] = list(params.get("market_tickers", []))
                await self.send(
                    {"id": cmd_id, "type": "subscribed", "msg": {"channel": channel, "sid": sid}}
                )
                if channel == "orderbook_delta":
                    for ticker in self.markets[sid]:
                        await self.snapshot(sid, ticker, None)
                    task = asyncio.create_task(self.stream(sid))
                    self.stub._tasks.add(task)
                    task.add_done_callback(self.stub._tasks.discard)
        elif cmd == "update_subscription" and params.get("action") == "get_snapshot":
            sid = params["sids"][0]
            for ticker in params["market_tickers"]:
                await self.snapshot(sid, ticker, cmd_id)
        elif cmd == "unsubscribe":
            for sid in params["sids"]:
                self.markets.pop(sid, None)
                await self.send(
                    {"id": cmd_id, "sid": sid, "seq": self.seq[sid], "type": "unsubscribed"}
                )

    async def snapshot(self, sid: int, ticker: str, cmd_id: int | None) -> None:
        book = self.stub.sent.books.get(ticker)
        yes = sorted(book.yes.items()) if book and book.valid else [(3000, 1000)]
        no = sorted(book.no.items()) if book and book.valid else [(5000, 450)]
        msg = {
            "market_ticker": ticker,
            "yes_dollars_fp": [[f"{p / 10000:.4f}", f"{s / 100:.2f}"] for p, s in yes],
            "no_dollars_fp": [[f"{p / 10000:.4f}", f"{s / 100:.2f}"] for p, s in no],
        }
        obj: dict[str, Any] = {"type": "orderbook_snapshot", "sid": sid}
        if cmd_id is not None:
            obj["id"] = cmd_id
        obj["msg"] = msg
        await self.send(obj, sid=sid)

    async def stream(self, sid: int) -> None:
        rng = self.stub.rng
        for _ in range(self.stub.deltas):
            markets = self.markets.get(sid)
            if not markets or self.ws.state.name != "OPEN":
                return
            ticker = rng.choice(markets)
            price = f"0.{rng.randint(10, 40):02d}00"
            size = f"{rng.choice([-1, 1, 2, 5])}.00"
            side = rng.choice(["yes", "no"])
            msg = {"market_ticker": ticker, "price_dollars": price, "delta_fp": size, "side": side}
            await self.send({"type": "orderbook_delta", "sid": sid, "msg": msg}, sid=sid)
            await asyncio.sleep(0)
        self.stub.done.set()
