"""Benchmark ``kcap record``: records/s with zero loss, versus a bare websockets client.

Usage::

    python bench/record.py [--frames 300000] [--rounds 3] [--cpu 1]

A sender process serves Kalshi-shaped ``orderbook_delta`` frames (one sid, consecutive seq)
over a real WebSocket on 127.0.0.1 as fast as it can. In the same run, alternately:

* a **bare client** (websockets ``recv(decode=False)`` in a loop, nothing done with the
  frames) measures the receive rate the transport allows;
* the **recorder** (``kcap.capture.run.Recorder``, default durability options, compaction
  off) records the same stream; its rate is frames on disk / (last - first receive time),
  and it must lose nothing (every seq on disk, no gap, no drop).

Both clients run pinned to one core (``--cpu``); the sender runs on the others. Then the
sender paces 10,000 frames/s and the recorder's receive-to-``write(2)`` latency (stamp at the
socket read to the write returning) is reported as p50 / p99.

The script prints the figures, the ratio and this command line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from kcap.capture.config import RecordConfig
from kcap.capture.run import Recorder
from kcap.replay.readers import expand_paths, read_jsonl

MARKETS = [f"KXHIGHNY-26NOV21-B{50 + 2 * i}.5" for i in range(6)]


def make_frames(n: int) -> list[bytes]:
    """``n`` current-format deltas on sid 1, seq 2.. (after one snapshot per market)."""
    frames = []
    for i in range(n):
        msg = {
            "market_ticker": MARKETS[i % len(MARKETS)],
            "market_id": "9b0f6b43-5b68-4f9f-9f02-9a2d1b8ac1a1",
            "price_dollars": f"0.{10 + i % 80:02d}00",
            "delta_fp": f"{1 + i % 7}.00" if i % 3 else f"-{1 + i % 5}.00",
            "side": "yes" if i % 2 else "no",
            "ts_ms": 1_763_720_000_000 + i,
        }
        frame = {"type": "orderbook_delta", "sid": 1, "seq": len(MARKETS) + 1 + i, "msg": msg}
        frames.append(json.dumps(frame, separators=(",", ":")).encode())
    return frames


def _ws_frame(data: bytes) -> bytes:
    n = len(data)
    if n < 126:
        return bytes([0x81, n]) + data
    if n < 65536:
        return bytes([0x81, 126]) + n.to_bytes(2, "big") + data
    return bytes([0x81, 127]) + n.to_bytes(8, "big") + data


def sender(port_queue: Any, frames_count: int, rate: float | None, cpus: set[int]) -> None:
    """The sender process: answers a subscribe, then streams the frames."""
    if cpus:
        os.sched_setaffinity(0, cpus)
    wire = [_ws_frame(f) for f in make_frames(frames_count)]

    async def handle(ws: ServerConnection) -> None:
        async for message in ws:
            command = json.loads(message)
            if command.get("cmd") != "subscribe":
                continue
            if "orderbook_delta" not in command["params"]["channels"]:
                continue
            ack = {
                "id": command["id"],
                "type": "subscribed",
                "msg": {"channel": "orderbook_delta", "sid": 1},
            }
            await ws.send(json.dumps(ack))
            for seq, ticker in enumerate(MARKETS, 1):
                snap = {
                    "type": "orderbook_snapshot",
                    "sid": 1,
                    "seq": seq,
                    "msg": {"market_ticker": ticker, "yes_dollars_fp": [["0.3000", "10.00"]]},
                }
                await ws.send(json.dumps(snap, separators=(",", ":")))
            await stream(ws)

    async def stream(ws: ServerConnection) -> None:
        transport = ws.transport
        loop = asyncio.get_running_loop()
        start = loop.time()
        sent = 0
        batch = 1000 if rate is None else max(1, int(rate / 1000))
        while sent < len(wire):
            if rate is not None:
                due = start + sent / rate
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            transport.write(b"".join(wire[sent : sent + batch]))
            sent += batch
            while transport.get_write_buffer_size() > 1 << 20:
                await asyncio.sleep(0.0005)

    async def main() -> None:
        async with serve(handle, "127.0.0.1", 0, compression=None) as server:
            port_queue.put(next(iter(server.sockets)).getsockname()[1])
            await asyncio.Future()

    asyncio.run(main())


class Sender:
    """A sender process on the given CPUs."""

    def __init__(self, frames: int, rate: float | None, cpus: set[int]) -> None:
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        self.process = ctx.Process(target=sender, args=(queue, frames, rate, cpus), daemon=True)
        self.process.start()
        self.url = f"ws://127.0.0.1:{queue.get(timeout=60)}/trade-api/ws/v2"

    def stop(self) -> None:
        self.process.kill()
        self.process.join()


async def bare_client(url: str, frames: int) -> tuple[float, float]:
    """Frames/s received by a client that does nothing with them, and its CPU s/frame."""
    async with connect(url, compression=None, ping_interval=None, max_size=2**26) as ws:
        await ws.send(
            json.dumps(
                {
                    "id": 1,
                    "cmd": "subscribe",
                    "params": {"channels": ["orderbook_delta"], "market_tickers": MARKETS},
                }
            )
        )
        for _ in range(1 + len(MARKETS)):
            await ws.recv(decode=False)
        await ws.recv(decode=False)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(frames - 1):
            await ws.recv(decode=False)
        cpu = time.process_time() - cpu
        return (frames - 1) / (time.perf_counter() - start), cpu / (frames - 1)


async def record(url: str, frames: int, out: Path, key: Path) -> dict[str, Any]:
    """Record the stream; returns the rate, loss checks and writer latency."""
    config = RecordConfig(
        key_id="bench",
        private_key_path=key,
        ws_url=url,
        rest_url="http://127.0.0.1:9/trade-api/v2",
        env="custom",
        channels=("orderbook_delta",),
        markets=tuple(MARKETS),
        out_dir=out,
        compact="off",
        status=False,
    )
    recorder = Recorder(config)
    cpu = time.process_time()
    task = asyncio.create_task(recorder.run())
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not task.done():
        session = recorder.session
        if session is not None and session.counts["orderbook_delta"] >= frames:
            break
        await asyncio.sleep(0.05)
    recorder.request_stop()
    result = await task
    cpu = time.process_time() - cpu
    monos: list[int] = []
    seqs: list[int] = []
    for path in expand_paths([out]):
        for batch in read_jsonl(path):
            for kind, mono, frame in zip(batch.kind, batch.mono_ns, batch.frame, strict=True):
                if kind == "frame" and bytes(frame).startswith(b'{"type":"orderbook_delta"'):
                    monos.append(mono)
                    seqs.append(json.loads(bytes(frame))["seq"])
    hist = recorder.writer.latency
    return {
        "rate": (len(monos) - 1) / ((monos[-1] - monos[0]) / 1e9),
        "frames": len(monos),
        "lossless": seqs == list(range(len(MARKETS) + 1, len(MARKETS) + 1 + frames))
        and result.dropped == 0
        and result.gaps == 0,
        "p50_ms": (hist.percentile_ns(0.5) or 0) / 1e6,
        "p99_ms": (hist.percentile_ns(0.99) or 0) / 1e6,
        "cpu_per_frame": cpu / frames,
    }


def write_key(directory: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = directory / "bench.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


async def main(args: argparse.Namespace) -> None:
    cpus = set(os.sched_getaffinity(0))
    client_cpus = {args.cpu} if args.cpu in cpus and len(cpus) > 1 else cpus
    sender_cpus = (cpus - client_cpus) or cpus
    os.sched_setaffinity(0, client_cpus)
    bare_rates: list[float] = []
    record_rates: list[float] = []
    bare_cpu: list[float] = []
    record_cpu: list[float] = []
    lossless = True
    with tempfile.TemporaryDirectory() as tmp:
        key = write_key(Path(tmp))
        for i in range(args.rounds):
            server = Sender(args.frames, None, sender_cpus)
            try:
                rate, cpu = await bare_client(server.url, args.frames)
                bare_rates.append(rate)
                bare_cpu.append(cpu)
            finally:
                server.stop()
            server = Sender(args.frames, None, sender_cpus)
            try:
                stats = await record(server.url, args.frames, Path(tmp) / f"max{i}", key)
            finally:
                server.stop()
            record_rates.append(stats["rate"])
            record_cpu.append(stats["cpu_per_frame"])
            lossless = lossless and stats["lossless"] and stats["frames"] == args.frames
            print(
                f"round {i + 1}: bare {bare_rates[-1]:,.0f}/s  recorder {stats['rate']:,.0f}/s "
                f"({stats['frames']:,} frames, lossless={stats['lossless']})",
                file=sys.stderr,
            )
        paced = Sender(args.paced_frames, args.paced_rate, sender_cpus)
        try:
            latency = await record(paced.url, args.paced_frames, Path(tmp) / "paced", key)
        finally:
            paced.stop()
    bare = statistics.median(bare_rates)
    recorded = statistics.median(record_rates)
    command = "python bench/record.py " + " ".join(sys.argv[1:])
    print(
        f"recorder, sustained, zero loss:   {recorded:,.0f} records/s (median of {args.rounds}; lossless={lossless})"
    )
    print(f"bare websockets client:           {bare:,.0f} frames/s")
    print(f"ratio recorder / bare:            {recorded / bare:.2f}")
    cpu_bare, cpu_rec = statistics.median(bare_cpu), statistics.median(record_cpu)
    print(
        f"CPU per frame:                    recorder {cpu_rec * 1e6:.2f} us (writer thread "
        f"included), bare {cpu_bare * 1e6:.2f} us; ratio {cpu_bare / cpu_rec:.2f}"
    )
    print(
        f"receive-to-write latency at {args.paced_rate:,.0f}/s: p50 {latency['p50_ms']:.2f} ms, "
        f"p99 {latency['p99_ms']:.2f} ms (lossless={latency['lossless']})"
    )
    print(
        f"one client core (cpu {sorted(client_cpus)}), sender on {sorted(sender_cpus)}; {os.cpu_count()} cpus"
    )
    print(f"command: {command.strip()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300_000, help="frames per max-speed run")
    parser.add_argument("--rounds", type=int, default=3, help="bare/recorder pairs")
    parser.add_argument("--cpu", type=int, default=1, help="core for the clients")
    parser.add_argument("--paced-rate", type=float, default=10_000.0, help="frames/s, latency run")
    parser.add_argument("--paced-frames", type=int, default=50_000, help="frames, latency run")
    asyncio.run(main(parser.parse_args()))
