"""Terminal views of a replay (rich): the live top-of-book table, the progress bar, the summary.

Thin I/O only: everything shown comes from the player's hooks and its :class:`ReplayResult`.
Wall-clock reads here only throttle screen refreshes; they never touch replay state.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from kcap.book import Level, OrderBook
from kcap.fixedpoint import ONE_CONTRACT_CX, ONE_DOLLAR_CC
from kcap.replay.player import ReplayResult

_REFRESH_NS = 200_000_000


def utc_text(ns: int | None) -> str:
    """Unix nanoseconds as ``YYYY-MM-DD HH:MM:SS.mmm`` UTC."""
    if ns is None:
        return "-"
    return datetime.fromtimestamp(ns / 1e9, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _price(price: int | None) -> str:
    if price is None:
        return "-"
    cents = price * 100 / ONE_DOLLAR_CC
    return f"{cents:.2f}¢" if price % 100 else f"{cents:.0f}¢"


def _size(size: int | None) -> str:
    if size is None:
        return ""
    contracts = size / ONE_CONTRACT_CX
    if contracts >= 1000:
        return f"{contracts / 1000:,.1f}k"
    return f"{contracts:,.2f}".rstrip("0").rstrip(".")


def _span(ns: int) -> str:
    secs = ns / 1e9
    if secs < 120:
        return f"{secs:.1f} s"
    if secs < 7200:
        return f"{secs / 60:.1f} min"
    return f"{secs / 3600:.1f} h"


class LiveBooks:
    """A live table of the most recently changed books, refreshed at most 5 times a second."""

    def __init__(self, console: Console, *, rows: int = 12, speed_text: str = "") -> None:
        self.console = console
        self.rows = rows
        self.speed_text = speed_text
        self._books: dict[str, tuple[OrderBook, int]] = {}
        self._now_ns = 0
        self._records = 0
        self._last_draw = 0
        self._live = Live(self._render(), console=console, auto_refresh=False, transient=False)

    def __enter__(self) -> LiveBooks:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._live.update(self._render(), refresh=True)
        self._live.__exit__(*exc)

    def on_change(self, book: OrderBook, recv_ns: int) -> None:
        """Player hook: remember the changed book."""
        self._books[book.market_ticker] = (book, recv_ns)

    def on_progress(self, records: int, recv_ns: int) -> None:
        """Player hook: redraw when due."""
        self._records, self._now_ns = records, recv_ns
        wall = time.monotonic_ns()
        if wall - self._last_draw >= _REFRESH_NS:
            self._last_draw = wall
            self._live.update(self._render(), refresh=True)

    def _render(self) -> Table:
        table = Table(
            title=f"kcap replay {self.speed_text}  {utc_text(self._now_ns or None)} UTC  "
            f"{self._records:,} records",
            title_justify="left",
        )
        table.add_column("market", no_wrap=True)
        table.add_column("book", no_wrap=True, min_width=7)
        for col in ("YES bid", "YES ask", "spread", "changed"):
            table.add_column(col, justify="right", no_wrap=True)
        latest = sorted(self._books.values(), key=lambda bt: bt[1])[-self.rows :]
        for book, changed_ns in sorted(latest, key=lambda bt: bt[0].market_ticker):
            top = book.top()
            spread = (
                _price(top.yes_ask.price_cc - top.yes_bid.price_cc)
                if top.yes_bid and top.yes_ask
                else "-"
            )
            state = Text("valid", "green") if book.valid else Text("stale", "red")
            if book.is_crossed():
                state = Text("crossed", "yellow")
            table.add_row(
                book.market_ticker,
                state,
                _quote(top.yes_bid),
                _quote(top.yes_ask),
                spread,
                _span(max(0, self._now_ns - changed_ns)) + " ago",
            )
        return table


def _quote(level: Level | None) -> str:
    """``38¢ ×1,000`` (price, size in contracts), or ``-`` for an empty side."""
    if level is None:
        return "-"
    return f"{_price(level.price_cc)} ×{_size(level.size_cx)}"


def progress_bar(console: Console, total: int | None) -> tuple[Progress, Any]:
    """A progress bar over records; returns the bar and its task id."""
    progress = Progress(
        TextColumn("[bold]replay"),
        BarColumn(),
        TextColumn("{task.completed:,} records"),
        TextColumn("{task.fields[now]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task("replay", total=total, now="")
    return progress, task


def summary(result: ReplayResult, *, wall_secs: float) -> Group:
    """The end-of-replay summary: records, markets, gaps, stale spans, duration, digest."""
    table = Table(show_header=False, title="kcap replay summary", title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value")
    rate = result.records / wall_secs if wall_secs > 0 else 0.0
    table.add_row("files", str(len(result.files)))
    table.add_row("records", f"{result.records:,}  ({_counter(result.by_kind)})")
    table.add_row("frames by type", _counter(result.by_type) or "-")
    table.add_row("markets", f"{len(result.markets):,}")
    table.add_row(
        "capture time",
        f"{utc_text(result.first_ns)} → {utc_text(result.last_ns)} UTC "
        f"({_span(result.duration_ns)})",
    )
    table.add_row("gaps", f"{len(result.gaps):,}")
    stale_ns = sum(
        (s.end_ns or result.last_ns or s.start_ns) - s.start_ns for s in result.stale_spans
    )
    table.add_row("stale spans", f"{len(result.stale_spans):,} ({_span(stale_ns)} of book time)")
    c = result.counts
    table.add_row(
        "book",
        f"{c.get('snapshots', 0):,} snapshots, {c.get('deltas', 0):,} deltas applied, "
        f"{c.get('skipped_stale', 0):,} skipped while stale, audits {c.get('audits', 0):,} "
        f"({c.get('audit_mismatches', 0):,} mismatched)",
    )
    if result.problems:
        table.add_row(
            "skipped lines", "\n".join(f"{p.path}:{p.line}: {p.message}" for p in result.problems)
        )
    table.add_row("wall time", f"{wall_secs:.2f} s ({rate:,.0f} records/s)")
    table.add_row("digest", result.digest)
    return Group(table)


def _counter(counter: Any) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in sorted(counter.items(), key=lambda kv: -kv[1]))
