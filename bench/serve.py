"""Serve benchmark: frames/s that ``kcap serve --speed max`` sends one client over loopback.

In one run (best of ``--repeat`` passes each):

* **served**: a fresh ``kcap serve <capture> --speed max --no-auth --port 0`` process (the CLI,
  exactly as a user runs it); one client in this process discovers the markets over REST,
  subscribes ``orderbook_delta``, ``trade`` and ``ticker`` on all of them and counts frames
  until the stream has been quiet for ``--quiet`` seconds; the rate is frames over the time
  from the ``subscribe`` to the last frame (the quiet tail is not counted). The client only
  counts (no parsing), so the figure is the server's: read + merge + decode + book + route +
  encode + send.
* **baseline**: the same capture files read from disk (``kcap.replay.readers.read_capture``,
  records/s, no decoding): the floor cost of touching the data at all.
* the ratio served / read.

Usage::

    python bench/serve.py [CAPTURE ...] [--repeat 3] [--quiet 1.0]

No capture: the embedded sample (six KXHIGHNY event days, ``kcap.sample``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import re
import shlex
import sys
import time
import urllib.request
from pathlib import Path

import websockets

from kcap.replay.readers import expand_paths, read_capture


def capture_files(paths: list[str]) -> list[Path]:
    if paths:
        return expand_paths(paths)
    from kcap import sample

    return expand_paths(sample.capture_paths())


def serve_command(paths: list[str]) -> list[str]:
    """The server's command line: ``kcap serve`` itself (no paths: it serves the sample)."""
    return [
        sys.executable,
        "-m",
        "kcap.cli",
        "serve",
        *paths,
        "--no-auth",
        "--port",
        "0",
        "--speed",
        "max",
        "--heartbeat",
        "0",
    ]


async def served_rate(command: list[str], quiet_secs: float) -> tuple[int, float]:
    """``(frames, seconds)`` for one client of a fresh server process."""
    proc = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        match = re.search(r"(ws://\S+)", line)
        if not match:
            sys.exit(f"kcap serve did not print its URL: {line!r}")
        url = match.group(1)
        rest = url.replace("ws://", "http://").replace("/trade-api/ws/v2", "/trade-api/v2")
        with urllib.request.urlopen(f"{rest}/markets?limit=1000", timeout=10) as response:
            tickers = [m["ticker"] for m in json.loads(response.read())["markets"]]
        async with websockets.connect(url, max_queue=None, compression=None) as ws:
            params = {"channels": ["orderbook_delta", "trade", "ticker"], "market_tickers": tickers}
            started = last = time.perf_counter()
            frames = 0

            async def watchdog() -> None:
                while time.perf_counter() - last < quiet_secs:
                    await asyncio.sleep(quiet_secs / 10)
                await ws.close()

            await ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": params}))
            task = asyncio.create_task(watchdog())
            async for _ in ws:  # count only: the client must not be the bottleneck
                frames += 1
                last = time.perf_counter()
            await task
        return frames, last - started
    finally:
        proc.terminate()
        await proc.wait()


def read_rate(files: list[Path]) -> tuple[int, float]:
    """``(records, seconds)`` to read the capture files from disk, no decoding."""
    gc.collect()
    started = time.perf_counter()
    records = sum(len(batch) for f in files for batch in read_capture(f))
    return records, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", help="capture files (default: the embedded sample)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quiet", type=float, default=1.0, help="seconds of silence = the end")
    args = parser.parse_args()

    files = capture_files(args.paths)
    command = serve_command(args.paths)
    served = [asyncio.run(served_rate(command, args.quiet)) for _ in range(args.repeat)]
    frames, secs = max(served, key=lambda fs: fs[0] / fs[1])
    records, read_secs = min((read_rate(files) for _ in range(args.repeat)), key=lambda rs: rs[1])
    serve_fps = frames / secs
    read_rps = records / read_secs
    print(f"{records:,} records in {len(files)} file(s); best of {args.repeat}")
    print(
        f"  served to one client over loopback   {serve_fps:>12,.0f} frames/s  ({frames:,} frames)"
    )
    print(f"  read from disk (baseline)            {read_rps:>12,.0f} records/s")
    print(f"  ratio served / read                  {serve_fps / read_rps:>12.3f}")
    print("server: " + shlex.join(["kcap", *command[3:]]))
    print(("command: python bench/serve.py " + shlex.join(args.paths)).rstrip())


if __name__ == "__main__":
    main()
