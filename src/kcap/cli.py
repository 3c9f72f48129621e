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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kcap")
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
