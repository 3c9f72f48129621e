"""Run a :class:`~kcap.replay.serve.server.KalshiServer` in a background thread, for callers that
are not inside an event loop (a synchronous test, or a test whose code under test runs its own
``asyncio.run``)::

    with ServerThread(ServeConfig(paths=[capture], auth=None)) as served:
        run_my_client(served.url)                 # any client, any thread
        served.call(served.server.start_feed)     # touch the server on its own loop
        assert served.wait_finished(timeout_secs=10)
        faults = served.fault_records()
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TypeVar

from kcap.replay.serve.faults import FaultRecord
from kcap.replay.serve.server import KalshiServer, ServeConfig

T = TypeVar("T")


class ServerThread:
    """A :class:`KalshiServer` on its own event loop in a daemon thread.

    Args:
        config: what to serve.
        start_timeout_secs: how long :meth:`__enter__` waits for the server to listen.

    Attributes:
        server: the server (valid inside the ``with`` block).
    """

    def __init__(self, config: ServeConfig, *, start_timeout_secs: float = 30.0) -> None:
        self.config = config
        self.start_timeout_secs = start_timeout_secs
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._server: KalshiServer | None = None
        self._thread = threading.Thread(target=self._run, name="kcap-serve", daemon=True)

    @property
    def server(self) -> KalshiServer:
        """The running server."""
        assert self._server is not None, "use ServerThread as a context manager"
        return self._server

    @property
    def url(self) -> str:
        """The WebSocket URL."""
        return self.server.url

    @property
    def rest_url(self) -> str:
        """The REST base URL."""
        return self.server.rest_url

    def __enter__(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(self.start_timeout_secs):
            raise TimeoutError(f"kcap serve did not start within {self.start_timeout_secs} s")
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def call(self, fn: Callable[[], T], *, timeout_secs: float = 10.0) -> T:
        """Run ``fn()`` on the server's loop and return its result."""
        assert self._loop is not None

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout_secs)

    def wait_finished(self, *, timeout_secs: float) -> bool:
        """Wait until the capture's timeline has ended; False on timeout."""
        assert self._loop is not None

        async def wait() -> bool:
            try:
                await asyncio.wait_for(self.server.finished.wait(), timeout_secs)
            except TimeoutError:
                return False
            return True

        future = asyncio.run_coroutine_threadsafe(wait(), self._loop)
        return future.result(timeout_secs + 5)

    def fault_records(self) -> list[FaultRecord]:
        """A copy of the faults injected so far."""
        return self.call(lambda: list(self.server.fault_log.records))

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = KalshiServer(self.config)
        try:
            await server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._server = server
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.close()
