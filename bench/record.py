"""Benchmark ``kcap record``: records/s with zero loss, versus a bare websockets client.

Usage::

    python bench/record.py [--frames 200000] [--rounds 3] [--cpu 1]

Throughput: a fresh ``kcap serve <the embedded sample> --speed max --loop --no-auth`` process
per run (the CLI, as a user runs it) plays the six sample days flat out, over and over. In the
same run, alternately:

* a **bare client** (websockets ``recv(decode=False)`` in a loop, nothing done with the
  frames) subscribes ``orderbook_delta`` on every market and measures the receive rate;
* the **recorder** (``kcap.capture.run.Recorder``, default durability options, compaction
  off) records the same subscription; its rate is book frames on disk / (last - first receive
  time), and it must lose nothing: every sid's seq on disk without a hole, no gap, no record
  dropped.

Both clients run pinned to one core (``--cpu``); the server runs on the others (it is the
bottleneck when it is slower than the client: then both rates are the server's).

Latency: a small local sender paces Kalshi-shaped deltas at exactly ``--paced-rate`` frames/s
(kcap serve follows the capture's own, bursty, timing) and the recorder's receive-to-``write(2)``
latency (stamp at the socket read to the write returning, fsync every second) is reported as
p50 / p99.

The script prints the figures, the ratio and this command line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from kcap import sample
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


class ServeProcess:
    """``kcap serve`` on the embedded sample, flat out, looping, pinned to ``cpus``."""

    def __init__(self, cpus: set[int]) -> None:
        self.command = [
            sys.executable,
            "-m",
            "kcap.cli",
            "serve",
            *map(str, sample.capture_paths()),
            "--speed",
            "max",
            "--loop",
            "--no-auth",
            "--heartbeat",
            "0",
            "--port",
            "0",
        ]
        self.cpus = cpus
        self.proc: asyncio.subprocess.Process | None = None
        self.url = ""
        self.markets: list[str] = []

    async def __aenter__(self) -> ServeProcess:
        cpus = self.cpus
        pin: Callable[[], None] = lambda: os.sched_setaffinity(0, cpus)  # noqa: E731
        self.proc = await asyncio.create_subprocess_exec(
            *self.command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            preexec_fn=pin,
        )
        assert self.proc.stdout is not None
        line = (await asyncio.wait_for(self.proc.stdout.readline(), 60)).decode()
        match = re.search(r"(ws://\S+)", line)
        if not match:
            sys.exit(f"kcap serve did not print its URL: {line!r}")
        self.url = match.group(1)
        rest = self.url.replace("ws://", "http://").replace("/ws/v2", "/v2")

        def tickers() -> list[str]:
            with urllib.request.urlopen(f"{rest}/markets?limit=1000", timeout=10) as response:
                return sorted(m["ticker"] for m in json.loads(response.read())["markets"])

        self.markets = await asyncio.to_thread(tickers)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        await self.proc.wait()


async def bare_client(url: str, frames: int, markets: list[str]) -> tuple[float, float]:
    """Frames/s received by a client that does nothing with them, and its CPU s/frame."""
    async with connect(url, compression=None, ping_interval=None, max_size=2**26) as ws:
        params = {"channels": ["orderbook_delta"], "market_tickers": markets}
        await ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": params}))
        for _ in range(1 + len(markets)):  # the ack and one snapshot per market
            await ws.recv(decode=False)
        await ws.recv(decode=False)
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(frames - 1):
            await ws.recv(decode=False)
        cpu = time.process_time() - cpu
        return (frames - 1) / (time.perf_counter() - start), cpu / (frames - 1)


async def record(url: str, frames: int, out: Path, key: Path, markets: list[str]) -> dict[str, Any]:
    """Record ``frames`` book frames; returns the rate, loss checks and writer latency."""
    config = RecordConfig(
        key_id="bench",
        private_key_path=key,
        ws_url=url,
        rest_url="http://127.0.0.1:9/trade-api/v2",
        env="custom",
        channels=("orderbook_delta",),
        markets=tuple(markets),
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
        if session is not None and session.counts.get("orderbook_delta", 0) >= frames:
            break
        await asyncio.sleep(0.05)
    recorder.request_stop()
    result = await task
    cpu = time.process_time() - cpu
    monos: list[int] = []
    last_seq: dict[tuple[str, int], int] = {}
    holes = 0
    for path in expand_paths([out]):
        for batch in read_jsonl(path):
            for kind, conn, mono, frame in zip(
                batch.kind, batch.conn, batch.mono_ns, batch.frame, strict=True
            ):
                if kind != "frame" or not bytes(frame).startswith(b'{"type":"orderbook_'):
                    continue
                msg = json.loads(bytes(frame))
                key_ = (conn, msg["sid"])
                if key_ in last_seq and msg["seq"] != last_seq[key_] + 1:
                    holes += 1
                last_seq[key_] = msg["seq"]
                monos.append(mono)
    hist = recorder.writer.latency
    return {
        "rate": (len(monos) - 1) / ((monos[-1] - monos[0]) / 1e9),
        "frames": len(monos),
        "lossless": holes == 0 and result.dropped == 0 and result.gaps == 0,
        "p50_ms": (hist.percentile_ns(0.5) or 0) / 1e6,
        "p99_ms": (hist.percentile_ns(0.99) or 0) / 1e6,
        "cpu_per_frame": cpu / len(monos),
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


class Series:
    """Rates and CPU costs of one source, over the rounds."""

    def __init__(self) -> None:
        self.bare: list[float] = []
        self.bare_cpu: list[float] = []
        self.recorder: list[float] = []
        self.recorder_cpu: list[float] = []
        self.lossless = True

    def line(self, name: str) -> str:
        bare, rec = statistics.median(self.bare), statistics.median(self.recorder)
        cpu_bare, cpu_rec = statistics.median(self.bare_cpu), statistics.median(self.recorder_cpu)
        return (
            f"{name}:\n"
            f"  recorder, zero loss ({'yes' if self.lossless else 'NO'}): {rec:>10,.0f} records/s\n"
            f"  bare websockets client:   {bare:>10,.0f} frames/s\n"
            f"  ratio recorder / bare:    {rec / bare:>10.2f}\n"
            f"  CPU per frame:            recorder {cpu_rec * 1e6:.2f} us (writer thread "
            f"included), bare {cpu_bare * 1e6:.2f} us (ratio {cpu_bare / cpu_rec:.2f})"
        )


async def one_round(
    source: str, args: argparse.Namespace, cpus: set[int], out: Path, key: Path, series: Series
) -> None:
    """One bare run and one recorder run, each from a fresh sender of ``source``."""
    for who in ("bare", "recorder"):
        if source == "serve":
            async with ServeProcess(cpus) as server:
                url, markets = server.url, server.markets
                result = await measure(who, url, markets, args.frames, out, key)
        else:
            sender_ = Sender(args.frames, None, cpus)
            try:
                result = await measure(who, sender_.url, MARKETS, args.frames, out, key)
            finally:
                sender_.stop()
        rate, cpu, lossless = result
        getattr(series, who).append(rate)
        getattr(series, f"{who}_cpu").append(cpu)
        series.lossless = series.lossless and lossless
        print(f"  {source} {who}: {rate:,.0f}/s (lossless={lossless})", file=sys.stderr)


async def measure(
    who: str, url: str, markets: list[str], frames: int, out: Path, key: Path
) -> tuple[float, float, bool]:
    if who == "bare":
        rate, cpu = await bare_client(url, frames, markets)
        return rate, cpu, True
    stats = await record(url, frames, out / f"run{time.monotonic_ns()}", key, markets)
    return stats["rate"], stats["cpu_per_frame"], stats["lossless"] and stats["frames"] >= frames


async def main(args: argparse.Namespace) -> None:
    cpus = set(os.sched_getaffinity(0))
    client_cpus = {args.cpu} if args.cpu in cpus and len(cpus) > 1 else cpus
    sender_cpus = (cpus - client_cpus) or cpus
    os.sched_setaffinity(0, client_cpus)
    results = {"serve": Series(), "raw": Series()}
    with tempfile.TemporaryDirectory() as tmp:
        key = write_key(Path(tmp))
        for i in range(args.rounds):
            print(f"round {i + 1}", file=sys.stderr)
            for source in ("serve", "raw"):
                await one_round(source, args, sender_cpus, Path(tmp), key, results[source])
        paced = Sender(args.paced_frames, args.paced_rate, sender_cpus)
        try:
            latency = await record(paced.url, args.paced_frames, Path(tmp) / "paced", key, MARKETS)
        finally:
            paced.stop()
    serve_args = " ".join(ServeProcess(set()).command[4 + len(list(sample.capture_paths())) :])
    print(f"medians of {args.rounds} rounds, {args.frames:,} book frames each")
    print(results["serve"].line(f"from kcap serve <the embedded sample> {serve_args}"))
    print(results["raw"].line("from a raw local sender (pre-framed deltas: client-bound)"))
    print(
        f"receive-to-write latency at {args.paced_rate:,.0f} records/s: "
        f"p50 {latency['p50_ms']:.2f} ms, p99 {latency['p99_ms']:.2f} ms "
        f"(lossless={latency['lossless']})"
    )
    print(
        f"clients on cpu {sorted(client_cpus)}, senders on {sorted(sender_cpus)}, {os.cpu_count()} cpus"
    )
    print("command: python bench/record.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200_000, help="book frames per run")
    parser.add_argument("--rounds", type=int, default=3, help="bare/recorder pairs")
    parser.add_argument("--cpu", type=int, default=1, help="core for the clients")
    parser.add_argument("--paced-rate", type=float, default=10_000.0, help="frames/s, latency run")
    parser.add_argument("--paced-frames", type=int, default=50_000, help="frames, latency run")
    asyncio.run(main(parser.parse_args()))
