"""``kcap replay``: wires options to the player, the emitter and the terminal views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from kcap.book import OrderBook
from kcap.errors import UsageError
from kcap.replay.emit import BookEmitter
from kcap.replay.pacing import parse_duration_ns, parse_speed
from kcap.replay.player import MarketFilter, Player, ReplayConfig, ReplayResult
from kcap.replay.view import LiveBooks, progress_bar, summary, utc_text


@dataclass
class ReplayOptions:
    """``kcap replay`` options as typed on the command line (see ``kcap replay --help``)."""

    paths: tuple[str, ...] = ()
    speed: str = "max"
    max_gap: str | None = None
    markets: frozenset[str] = frozenset()
    series: frozenset[str] = frozenset()
    events: frozenset[str] = frozenset()
    from_ns: int | None = None
    to_ns: int | None = None
    emit: Path | None = None
    emit_interval: str | None = None
    depth: int = 5
    skip_damaged: bool = False
    quiet: bool = False


def build_config(options: ReplayOptions) -> ReplayConfig:
    """The player config for ``options``.

    Raises:
        UsageError: a bad speed, duration, depth or time window.
    """
    if (
        options.from_ns is not None
        and options.to_ns is not None
        and options.to_ns < options.from_ns
    ):
        raise UsageError("--to is earlier than --from")
    if options.depth < 1:
        raise UsageError(f"--depth must be at least 1, got {options.depth}")
    return ReplayConfig(
        paths=options.paths,
        speed=parse_speed(options.speed),
        max_gap_ns=None if options.max_gap is None else parse_duration_ns(options.max_gap),
        select=MarketFilter(options.markets, options.series, options.events),
        from_ns=options.from_ns,
        to_ns=options.to_ns,
        skip_damaged=options.skip_damaged,
    )


def _emitter(options: ReplayOptions, player: Player) -> BookEmitter | None:
    if options.emit is None:
        return None
    interval_ns = (
        None if options.emit_interval is None else parse_duration_ns(options.emit_interval)
    )

    def selected_books() -> list[OrderBook]:
        books = player.builder.books
        return [books[t] for t in sorted(books) if player.config.select.matches(t)]

    return BookEmitter(
        options.emit,
        depth=options.depth,
        interval_ns=interval_ns,
        books=selected_books,
        metadata={"sources": list(options.paths)},
    )


def _chain(
    *hooks: Callable[[OrderBook, int], None] | None,
) -> Callable[[OrderBook, int], None] | None:
    live = [h for h in hooks if h is not None]
    if len(live) <= 1:
        return live[0] if live else None

    def both(book: OrderBook, recv_ns: int) -> None:
        for hook in live:
            hook(book, recv_ns)

    return both


def run_replay(
    options: ReplayOptions, console: Console, *, wall_clock: Callable[[], float]
) -> ReplayResult:
    """Run ``kcap replay``, printing to ``console``: a live book table when paced, a progress
    bar when flat out, then the summary (or only the digest with ``quiet``)."""
    config = build_config(options)
    player = Player(config)
    emitter = _emitter(options, player)
    if emitter is not None:
        if emitter.interval_ns is None:
            player.on_change = emitter.on_change
        else:
            player.on_clock = emitter.on_clock
    started = wall_clock()
    try:
        if options.quiet:
            result = player.run()
        elif config.speed is not None:
            with LiveBooks(console, speed_text=options.speed) as live:
                player.on_change = _chain(player.on_change, live.on_change)
                player.on_progress = live.on_progress
                result = player.run()
            console.line()
        else:
            progress, task = progress_bar(console, None)

            def on_progress(records: int, recv_ns: int) -> None:
                progress.update(task, completed=records, now=utc_text(recv_ns))

            player.on_progress = on_progress
            with progress:
                result = player.run()
    finally:
        if emitter is not None:
            emitter.close()
    wall = wall_clock() - started
    if options.quiet:
        console.print(result.digest)
    else:
        console.print(summary(result, wall_secs=wall))
        if emitter is not None:
            console.print(f"wrote {emitter.rows_written:,} book rows to {options.emit}")
    return result
