"""kcap: record Kalshi WebSocket market data, replay it through the same order book, train offline.

Subpackages:
    kcap.schemas  - what a Kalshi frame, a capture record and a Parquet row are (no behaviour).
    kcap.book     - the one order-book builder, pure and exact (fixed-point integers).
    kcap.capture  - recording: signing, session protocol, transport, writer, compactor.
    kcap.replay   - readers, time-ordered merge, pacing, the replay player.
    kcap.envs     - Gymnasium environments (``KalshiWeather-v0``); importing kcap registers them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from kcap import envs as envs  # registers KalshiWeather-v0 and its variants with Gymnasium
from kcap.errors import KcapError

__all__ = ["KcapError", "__version__"]
