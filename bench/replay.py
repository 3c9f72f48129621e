"""Replay benchmark: the whole converted KXHIGHNY best-bid log through decode + book.

Prints, from one run (best of ``--repeat`` rounds in which the measured passes take turns):

* records/s through decode + book, in memory (frames already read) and end to end from the
  Parquet files (read + merge + decode + book, the ``kcap replay --speed max`` path), with the
  book builder as installed (its compiled delta loop when built) and, in memory, with its
  pure-Python loop alone (what an install without a C compiler runs);
* the decode-only ceiling: the same frames parsed by the same decoder, no book;
* a naive baseline: stdlib ``json`` + a dict-of-floats book, on the same frames;
* the ratios between them;
* peak RSS of a replay of the data and of ten times the data (time-shifted copies), each in a
  fresh process: memory must be bounded by the book, not the file.

Usage::

    python bench/replay.py [--real-data ../shared/real-data] [--cache bench/.cache] [--repeat 3]

Needs ``../shared/real-data`` (jetpackjules-kxhighny-bbo). Targets (issue: foundation, section 6):
>= 1,000,000 records/s decode + book on one core, >= 0.6 of the decode-only ceiling, and
< 50 MB more peak RSS for ten times the data.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kcap.book import BookBuilder
from kcap.book.builder import FASTPATH
from kcap.convert.bbo import convert_bbo_file
from kcap.replay.player import DECODE_CHUNK, Player, ReplayConfig, apply_batch, decode_records
from kcap.replay.readers import RecordBatch, read_capture
from kcap.schemas.parquet import COLUMN_ENCODING, COMPRESSION, COMPRESSION_LEVEL, DICTIONARY_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


def build(real_data: Path, cache: Path) -> list[Path]:
    """Convert every best-bid log once (cached) and return the Parquet files."""
    src = sorted((real_data / "jetpackjules-kxhighny-bbo").glob("market_data_KXHIGHNY-*.csv.gz"))
    if not src:
        sys.exit(f"no best-bid logs under {real_data}/jetpackjules-kxhighny-bbo")
    out = cache / "1x"
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for path in src:
        dst = out / (path.name.removeprefix("market_data_").removesuffix(".csv.gz") + ".parquet")
        if not dst.exists():
            convert_bbo_file(path).write_parquet(dst)
        files.append(dst)
    return files


def build_10x(files: list[Path], cache: Path) -> list[Path]:
    """Ten back-to-back copies of the data, each shifted in time, with its own connections."""
    out = cache / "10x"
    out.mkdir(parents=True, exist_ok=True)
    tables = [pq.read_table(f) for f in files]
    lo = min(pc.min(t["recv_ns"]).as_py() for t in tables)
    hi = max(pc.max(t["recv_ns"]).as_py() for t in tables)
    span = hi - lo + 1
    result = []
    for copy in range(10):
        for f, table in zip(files, tables, strict=True):
            dst = out / f"{copy}-{f.name}"
            result.append(dst)
            if dst.exists():
                continue
            conn = pc.binary_join_element_wise(
                table["conn"].cast(pa.string()), pa.scalar(f".{copy}"), ""
            )
            shifted = table.set_column(
                table.schema.get_field_index("recv_ns"),
                "recv_ns",
                pc.add(table["recv_ns"], copy * span),
            ).set_column(table.schema.get_field_index("conn"), "conn", conn.dictionary_encode())
            _write_like(shifted.cast(table.schema), f, dst)
    return result


def _write_like(table: pa.Table, like: Path, dst: Path) -> None:
    meta = pq.read_metadata(like).metadata
    capture = json.loads(meta[b"kcap.capture"])
    capture["recv_ns_min"] = pc.min(table["recv_ns"]).as_py()
    capture["recv_ns_max"] = pc.max(table["recv_ns"]).as_py()
    meta = {**meta, b"kcap.capture": json.dumps(capture).encode()}
    pq.write_table(
        table.replace_schema_metadata(meta),
        dst,
        compression=COMPRESSION,
        compression_level=COMPRESSION_LEVEL,
        use_dictionary=list(DICTIONARY_COLUMNS),
        column_encoding=COLUMN_ENCODING,
    )


# ---------------------------------------------------------------------------------------------
# the measured passes


def naive_book(batches: list[RecordBatch]) -> int:
    """Baseline: stdlib json, floats, a dict of dicts; same frames, same book rules."""
    books: dict[str, dict[str, dict[float, float]]] = {}
    n = 0
    for batch in batches:
        for frame in batch.frame:
            n += 1
            if frame is None:
                continue
            m = json.loads(frame)
            kind = m.get("type")
            msg = m.get("msg", {})
            if kind == "orderbook_snapshot":
                books[msg["market_ticker"]] = {
                    side: {float(p): float(s) for p, s in msg.get(side + "_dollars_fp", [])}
                    for side in ("yes", "no")
                }
            elif kind == "orderbook_delta":
                ladder = books[msg["market_ticker"]][msg["side"]]
                price = float(msg["price_dollars"])
                size = ladder.get(price, 0.0) + float(msg["delta_fp"])
                if size > 0:
                    ladder[price] = size
                else:
                    ladder.pop(price, None)
    return n


def decode_only(batches: Iterable[RecordBatch]) -> int:
    """The ceiling: the same frames decoded in the same chunks as :func:`apply_batch`, no book."""
    n = 0
    for batch in batches:
        for start in range(0, len(batch), DECODE_CHUNK):
            stop = start + DECODE_CHUNK
            decode_records(batch.kind[start:stop], batch.frame[start:stop])
        n += len(batch)
    return n


def decode_and_book(batches: list[RecordBatch], *, compiled: bool = True) -> int:
    builder = BookBuilder(compiled=compiled)
    n = 0
    for batch in batches:
        apply_batch(builder, batch)
        n += len(batch)
    return n


def end_to_end(files: list[Path]) -> int:
    return Player(ReplayConfig(files)).run().records


def end_to_end_decode_only(files: list[Path]) -> int:
    return decode_only(Player(ReplayConfig(files)).batches())


def best_rates(fns: list[Callable[[], int]], repeat: int) -> list[float]:
    """Best records/s of each function over ``repeat`` rounds, the functions taking turns in
    each round, so that a ratio between them compares passes run under the same machine load."""
    best = [float("inf")] * len(fns)
    counts = [0] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            gc.collect()
            started = time.perf_counter()
            counts[i] = fn()
            best[i] = min(best[i], time.perf_counter() - started)
    return [n / t for n, t in zip(counts, best, strict=True)]


def peak_rss_mb(files: list[Path]) -> float:
    """Peak RSS (MB) of ``kcap replay -q FILES`` in a fresh process (the path users run).

    Read from ``VmHWM`` in /proc: ``ru_maxrss`` survives fork + exec and would report the
    benchmark's own peak instead of the replay's.
    """
    code = (
        "import sys;from kcap.cli import main;"
        "sys.argv=['kcap','replay','-q',*sys.argv[1:]];"
        "exec('try:\\n main()\\nexcept SystemExit: pass');"
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *map(str, files)], capture_output=True, text=True, check=True
    ).stdout.split()
    return int(out[-1]) / 1024


def in_memory(files: list[Path], repeat: int) -> tuple[int, float, float, float, float]:
    """Records, then rates of decode + book (the builder as installed, then its pure-Python
    loop alone), decode only and the naive baseline, frames in memory."""
    batches = [b for f in files for b in read_capture(f)]
    records = sum(len(b) for b in batches)
    book, pure, decode, naive = best_rates(
        [
            lambda: decode_and_book(batches),
            lambda: decode_and_book(batches, compiled=False),
            lambda: decode_only(batches),
            lambda: naive_book(batches),
        ],
        repeat,
    )
    return records, book, pure, decode, naive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--real-data", type=Path, default=ROOT.parent / "shared" / "real-data")
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".cache")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    files = build(args.real_data, args.cache)
    records, mem_book, mem_pure, mem_decode, naive = in_memory(files, args.repeat)
    e2e, e2e_decode = best_rates(
        [lambda: end_to_end(files), lambda: end_to_end_decode_only(files)], args.repeat
    )
    rss_1x = peak_rss_mb(files)
    rss_10x = peak_rss_mb(build_10x(files, args.cache))

    rows: list[tuple[str, float, Any]] = [
        (
            "decode + book, frames in memory",
            mem_book,
            f"{mem_book / mem_decode:.2f} of decode-only, {mem_book / naive:.1f}x naive",
        ),
        (
            "decode + book, pure-Python builder (no C compiler)",
            mem_pure,
            f"{mem_pure / mem_decode:.2f} of decode-only, {mem_pure / naive:.1f}x naive",
        ),
        ("decode only (ceiling), in memory", mem_decode, ""),
        ("naive: stdlib json + dict book", naive, ""),
        (
            "end to end from Parquet (kcap replay --speed max)",
            e2e,
            f"{e2e / e2e_decode:.2f} of read + decode only",
        ),
        ("read + decode only, from Parquet", e2e_decode, ""),
    ]
    print(
        f"{records:,} records ({len(files)} files, converted KXHIGHNY best-bid log); best of {args.repeat}"
    )
    print(f"book builder: {FASTPATH}")
    for name, rate, note in rows:
        print(f"  {name:52s} {rate:>12,.0f} records/s  {note}")
    print(
        f"  peak RSS: {rss_1x:,.0f} MB for 1x, {rss_10x:,.0f} MB for 10x ({rss_10x - rss_1x:+,.0f} MB)"
    )
    print("command: python bench/replay.py")


if __name__ == "__main__":
    main()
