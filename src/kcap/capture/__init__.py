"""Recording Kalshi's WebSocket feed: signing, the session protocol (pure), the asyncio
transport (thin), the JSONL writer and the Parquet compactor.

Today it holds the compactor (:mod:`kcap.capture.compact`), which turns JSONL capture
records into the Parquet layout of :mod:`kcap.schemas.parquet`; ``kcap record`` builds on it.
"""
