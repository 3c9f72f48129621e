"""The ``kcap`` command line: a thin click group; each command builds a config and calls one
function. A :class:`kcap.errors.KcapError` is printed as ``kcap: <message>`` with exit code 1;
bugs keep their traceback.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from kcap import __version__
from kcap.errors import KcapError, UsageError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KcapError as exc:
            click.echo(f"kcap: {exc}", err=True)
            ctx.exit(1)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from kcap.book.builder import FASTPATH

    click.echo(f"kcap, version {__version__}\nbook builder: {FASTPATH}")
    ctx.exit()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and which book builder runs (compiled or pure Python), and exit.",
)
def main() -> None:
    """Record Kalshi WebSocket market data, replay it, train agents on it offline."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        # mimalloc keeps ~100 MB more resident for kcap's access pattern, and is not faster
        # (bench/replay.py); a user's explicit choice wins.
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())


def parse_time_ns(text: str | None, option: str) -> int | None:
    """Parse an ISO 8601 time (``2025-12-19T12:00``, ``...Z``, ``...-05:00``; naive = UTC) to
    Unix nanoseconds.

    Raises:
        UsageError: not an ISO 8601 time.
    """
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise UsageError(
            f"{option}: expected an ISO 8601 time such as 2025-12-19T12:00Z, got {text!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1_000


def _split(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(v.strip() for item in values for v in item.split(",") if v.strip())


@main.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--speed", default="max", show_default=True, help="1x, 10x, 0.5x ... or max (flat out)."
)
@click.option(
    "--max-gap", default=None, help="Longest quiet stretch played when paced, e.g. 5s, 1m."
)
@click.option(
    "--market",
    "markets",
    multiple=True,
    help="Market ticker(s) to show (repeat or comma-separate).",
)
@click.option("--series", "series", multiple=True, help="Series ticker(s) to show, e.g. KXHIGHNY.")
@click.option(
    "--event", "events", multiple=True, help="Event ticker(s) to show, e.g. KXHIGHNY-25DEC20."
)
@click.option(
    "--from", "from_", default=None, help="Start at this receive time (ISO 8601, naive = UTC)."
)
@click.option("--to", default=None, help="Stop after this receive time (ISO 8601, naive = UTC).")
@click.option(
    "--emit",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write top-N book snapshots to this Parquet file.",
)
@click.option(
    "--emit-interval",
    default=None,
    help="Emit every interval of capture time (e.g. 1s) instead of every change.",
)
@click.option("--depth", default=5, show_default=True, help="Levels per ladder in --emit output.")
@click.option(
    "--skip-damaged", is_flag=True, help="Report and skip damaged JSONL lines instead of stopping."
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the digest.")
def replay(
    paths: tuple[str, ...],
    speed: str,
    max_gap: str | None,
    markets: tuple[str, ...],
    series: tuple[str, ...],
    events: tuple[str, ...],
    from_: str | None,
    to: str | None,
    emit: Path | None,
    emit_interval: str | None,
    depth: int,
    skip_damaged: bool,
    quiet: bool,
) -> None:
    """Replay captures (files, directories, globs; none = the embedded sample) through the
    same decoder and book builder capture uses live, and print a digest of the final books."""
    from kcap.replay.cli_run import ReplayOptions, run_replay

    options = ReplayOptions(
        paths=paths,
        speed=speed,
        max_gap=max_gap,
        markets=_split(markets),
        series=_split(series),
        events=_split(events),
        from_ns=parse_time_ns(from_, "--from"),
        to_ns=parse_time_ns(to, "--to"),
        emit=emit,
        emit_interval=emit_interval,
        depth=depth,
        skip_damaged=skip_damaged,
        quiet=quiet,
    )
    run_replay(options, Console(stderr=False), wall_clock=time.perf_counter)


@main.command()
@click.argument("paths", nargs=-1)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8765, show_default=True, help="Port to listen on (0: any free port)."
)
@click.option(
    "--speed", default="1x", show_default=True, help="1x, 10x, 0.5x ... or max (flat out)."
)
@click.option("--max-gap", default=None, help="Longest quiet stretch played when paced, e.g. 5s.")
@click.option("--loop", is_flag=True, help="Start the capture over at its end.")
@click.option("--from", "from_", default=None, help="Start at this receive time (ISO 8601).")
@click.option("--to", default=None, help="Stop after this receive time (ISO 8601).")
@click.option(
    "--start",
    type=click.Choice(["subscribe", "listen"]),
    default="subscribe",
    show_default=True,
    help="Start the timeline at the first subscribe, or as soon as the server listens.",
)
@click.option(
    "--wire",
    type=click.Choice(["current", "legacy"]),
    default="current",
    show_default=True,
    help="Frame format: current (dollar strings, fixed-point counts) or legacy (+ integers).",
)
@click.option(
    "--public-key",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PEM public key that client signatures must verify against.",
)
@click.option("--no-auth", is_flag=True, help="Accept every request without a signature.")
@click.option("--key-id", default=None, help="Require this KALSHI-ACCESS-KEY.")
@click.option(
    "--auth-window", default="30s", show_default=True, help="Largest timestamp skew accepted."
)
@click.option("--heartbeat", default="10s", show_default=True, help="Ping interval (0: none).")
@click.option(
    "--heartbeat-timeout", default="10s", show_default=True, help="Pong wait before a drop."
)
@click.option("--seed", default=0, show_default=True, help="Seed of every injected fault.")
@click.option("--drop", default=0.0, help="Fraction of data frames not sent.")
@click.option("--duplicate", default=0.0, help="Fraction of data frames sent twice.")
@click.option("--reorder", default=0.0, help="Fraction of data frames sent after the next one.")
@click.option("--malformed", default=0.0, help="Fraction of data frames replaced by damaged ones.")
@click.option(
    "--close-after", type=int, default=None, help="Close each connection after N data frames."
)
@click.option("--close-every", type=int, default=None, help="Close after a random count, mean N.")
@click.option(
    "--close-code", default="1011", show_default=True, help="Close code, or 'abort' (TCP reset)."
)
@click.option("--stall-after", type=int, default=None, help="Stop sending after N data frames.")
@click.option(
    "--faulty-connections", type=int, default=None, help="Stream faults on the first N only."
)
@click.option("--handshake-delay", default=None, help="Wait this long before answering upgrades.")
@click.option(
    "--handshake-status", type=click.Choice(["401", "503"]), default=None, help="Refuse upgrades."
)
@click.option(
    "--handshake-attempts", type=int, default=None, help="Handshake faults on the first N only."
)
@click.option(
    "--fault-log",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Append every injected fault to this file as JSON lines.",
)
@click.option("--skip-damaged", is_flag=True, help="Skip damaged JSONL lines instead of stopping.")
def serve(paths: tuple[str, ...], from_: str | None, to: str | None, **options: Any) -> None:
    """Serve captures (none = the embedded sample) as a local Kalshi WebSocket + REST server."""
    from kcap.replay.serve.run import ServeOptions, build_config, run_serve

    status = options.pop("handshake_status")
    config = build_config(
        ServeOptions(
            paths=paths,
            from_ns=parse_time_ns(from_, "--from"),
            to_ns=parse_time_ns(to, "--to"),
            handshake_status=None if status is None else int(status),
            **options,
        )
    )

    def announce(server: Any) -> None:
        click.echo(f"kcap serve: {server.url}")
        click.echo(f"kcap serve: REST {server.rest_url}")

    run_serve(config, announce=announce)


@main.command()
@click.option(
    "--key-id",
    envvar="KALSHI_API_KEY_ID",
    help="Kalshi API key id (env KALSHI_API_KEY_ID).",
)
@click.option(
    "--private-key",
    envvar="KALSHI_PRIVATE_KEY_PATH",
    type=click.Path(dir_okay=False, path_type=Path),
    help="RSA private key file, PEM, unencrypted (env KALSHI_PRIVATE_KEY_PATH).",
)
@click.option(
    "--env",
    type=click.Choice(["prod", "demo"]),
    default="demo",
    show_default=True,
    help="Kalshi environment.",
)
@click.option("--url", default=None, help="WebSocket URL instead of --env (e.g. kcap serve).")
@click.option(
    "--rest-url", default=None, help="REST base for discovery (default: matches the WS host)."
)
@click.option(
    "--channels",
    default="orderbook_delta,trade",
    show_default=True,
    help="Kalshi channel names, comma-separated.",
)
@click.option("--markets", multiple=True, help="Market tickers (repeat or comma-separate).")
@click.option("--event", "events", multiple=True, help="Event tickers: their open markets.")
@click.option(
    "--series", multiple=True, help="Series tickers: open markets, and new ones as created."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("captures"),
    show_default=True,
    help="Capture root; files go to OUT/YYYY-MM-DD/ (UTC).",
)
@click.option(
    "--rotate", default="1h", show_default=True, help="New file after: 15m, 1h, 512MB, 1h,512MB."
)
@click.option(
    "--flush-records", default=1000, show_default=True, help="Write when this many are pending."
)
@click.option(
    "--flush-ms", default=5.0, show_default=True, help="Write records at most this old (ms)."
)
@click.option(
    "--fsync",
    type=click.Choice(["always", "interval", "close"]),
    default="interval",
    show_default=True,
    help="fsync after every write, every --fsync-ms, or only when a file is sealed.",
)
@click.option("--fsync-ms", default=1000.0, show_default=True, help="Interval of --fsync interval.")
@click.option(
    "--queue-size", default=250_000, show_default=True, help="Records between reader and writer."
)
@click.option(
    "--idle-timeout", default="30s", show_default=True, help="Reconnect when nothing arrives."
)
@click.option(
    "--ack-timeout", default="15s", show_default=True, help="Reconnect when a command hangs."
)
@click.option("--backoff-max", default="60s", show_default=True, help="Longest reconnect delay.")
@click.option(
    "--resnapshot",
    type=click.Choice(["get_snapshot", "resubscribe"]),
    default="get_snapshot",
    show_default=True,
    help="How a fresh snapshot is requested after a gap.",
)
@click.option(
    "--keep-jsonl", is_flag=True, help="Keep each JSONL file next to its verified Parquet."
)
@click.option("--no-compact", is_flag=True, help="Leave sealed JSONL files as they are.")
@click.option("--duration", default=None, help="Stop by itself after this long (e.g. 8h).")
@click.option(
    "--status/--no-status",
    default=None,
    help="Live status line (default on; a log line a minute when stderr is not a terminal).",
)
@click.option("--verbose", "-v", count=True, help="More log output (-vv: debug).")
def record(
    key_id: str | None,
    private_key: Path | None,
    env: str,
    url: str | None,
    rest_url: str | None,
    channels: str,
    markets: tuple[str, ...],
    events: tuple[str, ...],
    series: tuple[str, ...],
    out: Path,
    rotate: str,
    flush_records: int,
    flush_ms: float,
    fsync: str,
    fsync_ms: float,
    queue_size: int,
    idle_timeout: str,
    ack_timeout: str,
    backoff_max: str,
    resnapshot: str,
    keep_jsonl: bool,
    no_compact: bool,
    duration: str | None,
    status: bool | None,
    verbose: int,
) -> None:
    """Record Kalshi's WebSocket feed to OUT (default: daily-high weather markets of seven
    cities). Every frame is written raw with its receive time; files rotate, are sealed and
    compacted to Parquet. SIGINT / SIGTERM stop cleanly."""
    from kcap.capture.cli_run import (
        RecordOptions,
        build_config,
        run_record,
        setup_logging,
        summary,
    )

    options = RecordOptions(
        key_id=key_id,
        private_key=private_key,
        env=env,
        url=url,
        rest_url=rest_url,
        channels=channels,
        markets=markets,
        events=events,
        series=series,
        out=out,
        rotate=rotate,
        flush_records=flush_records,
        flush_ms=flush_ms,
        fsync=fsync,
        fsync_ms=fsync_ms,
        queue_size=queue_size,
        idle_timeout=idle_timeout,
        ack_timeout=ack_timeout,
        backoff_max=backoff_max,
        resnapshot=resnapshot,
        keep_jsonl=keep_jsonl,
        compact=not no_compact,
        duration=duration,
        status=status,
    )
    config = build_config(options)
    console = Console(stderr=True)
    setup_logging(console, verbose=verbose)
    result = run_record(config, console)
    click.echo(summary(result))


@main.command()
@click.option(
    "--dataset",
    default="sample",
    show_default=True,
    help="sample, rest, bbo or a dataset directory.",
)
@click.option(
    "--real-data",
    type=click.Path(path_type=Path),
    default=None,
    help="../shared/real-data (for rest and bbo).",
)
@click.option(
    "--cache", type=click.Path(path_type=Path), default=None, help="Keep built datasets here."
)
@click.option("--step-secs", default=60, show_default=True, help="Seconds of replay time per step.")
@click.option("--baseline", "names", multiple=True, help="Only these baselines (repeat).")
@click.option("--per-event", is_flag=True, help="Also print every episode.")
def evaluate(
    dataset: str,
    real_data: Path | None,
    cache: Path | None,
    step_secs: int,
    names: tuple[str, ...],
    per_event: bool,
) -> None:
    """Run the scripted baselines of KalshiWeather-v0 over every settled event of a dataset and
    print mean P&L, fees paid and hit rate per baseline."""
    from kcap.envs.evaluate import DEFAULT_REAL_DATA, evaluation_report

    unknown = sorted(set(names) - set(_baseline_names()))
    if unknown:
        raise UsageError(
            f"unknown baseline {', '.join(unknown)}; expected one of {', '.join(_baseline_names())}"
        )
    lines = evaluation_report(
        dataset,
        real_data=real_data or DEFAULT_REAL_DATA,
        cache=cache,
        step_secs=step_secs,
        names=names or None,
        per_event=per_event,
    )
    click.echo("\n".join(lines))


def _baseline_names() -> list[str]:
    from kcap.envs.baselines import BASELINES

    return sorted(BASELINES)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
