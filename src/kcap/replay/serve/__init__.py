"""``kcap serve``: a local Kalshi-compatible WebSocket and REST server that plays captures back,
with seeded fault injection. kcap's own test peer, and a way to develop Kalshi clients offline.

Pure core, thin I/O:

* :mod:`.encode` - typed messages and capture payloads to frame bytes (current or legacy wire);
* :mod:`.markets` - the markets and events a capture holds (validation, REST);
* :mod:`.feed` - capture records to one canonical public stream, books via
  :class:`kcap.book.BookBuilder`;
* :mod:`.protocol` - one client's commands, replies, sids, seqs and routing;
* :mod:`.faults` - the seeded fault plan and the fault log;
* :mod:`.auth`, :mod:`.rest` - Kalshi request signing checks, REST discovery answers;
* :mod:`.connection`, :mod:`.server` - the asyncio/websockets layer; :mod:`.thread` - a
  server in a background thread for synchronous callers; :mod:`.run` - the CLI glue.
"""

from __future__ import annotations

from kcap.replay.serve.faults import FaultConfig, FaultLog, FaultRecord
from kcap.replay.serve.server import KalshiServer, ServeConfig

__all__ = ["FaultConfig", "FaultLog", "FaultRecord", "KalshiServer", "ServeConfig"]
