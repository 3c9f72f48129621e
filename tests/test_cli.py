from __future__ import annotations

from pathlib import Path

import polars as pl
from click.testing import CliRunner

from captures import write_scenario
from kcap import __version__
from kcap.book.builder import FASTPATH
from kcap.cli import main, parse_time_ns
from kcap.replay.player import Player, ReplayConfig


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    assert f"book builder: {FASTPATH}" in result.output


def test_replay_prints_summary_and_digest(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    digest = Player(ReplayConfig([path])).run().digest
    result = CliRunner().invoke(main, ["replay", str(path)])
    assert result.exit_code == 0, result.output
    assert "kcap replay summary" in result.output and "gaps" in result.output
    quiet = CliRunner().invoke(main, ["replay", str(path), "-q"])
    assert quiet.output.strip() == digest


def test_paced_replay_runs(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    result = CliRunner().invoke(
        main, ["replay", str(path), "--speed", "100000x", "--max-gap", "1ms"]
    )
    assert result.exit_code == 0, result.output
    assert "KXHIGHNY-25DEC20-T36" in result.output


def test_emit_every_change_and_interval(tmp_path: Path) -> None:
    path = write_scenario(tmp_path / "s.jsonl")
    out = tmp_path / "books.parquet"
    assert CliRunner().invoke(main, ["replay", str(path), "--emit", str(out), "-q"]).exit_code == 0
    df = pl.read_parquet(out)
    assert df.height == 8  # every applied change of a book
    first = df.row(0, named=True)
    assert (first["yes_bid_cc"], first["yes_bid_cx"], first["yes_ask_cc"], first["yes_ask_cx"]) == (
        3000,
        1000,
        5000,
        450,
    )
    every = tmp_path / "every.parquet"
    res = CliRunner().invoke(
        main, ["replay", str(path), "--emit", str(every), "--emit-interval", "2m", "-q"]
    )
    assert res.exit_code == 0, res.output
    assert pl.read_parquet(every)["recv_ns"].n_unique() == 5


def test_errors_are_one_line_with_exit_code_1(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["replay", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 1 and "kcap: no such capture file" in missing.output
    path = write_scenario(tmp_path / "s.jsonl")
    bad = runner.invoke(main, ["replay", str(path), "--speed", "warp"])
    assert bad.exit_code == 1 and "kcap: expected a speed" in bad.output
    bad_time = runner.invoke(main, ["replay", str(path), "--from", "yesterday"])
    assert bad_time.exit_code == 1 and "--from: expected an ISO 8601 time" in bad_time.output


def test_parse_time() -> None:
    assert parse_time_ns("1970-01-01T00:00:01Z", "--from") == 1_000_000_000
    assert parse_time_ns("1970-01-01T00:00:01", "--from") == 1_000_000_000
    assert parse_time_ns("1970-01-01T00:00:01-00:00", "--from") == 1_000_000_000
    assert parse_time_ns("1970-01-01T01:00:00.5+01:00", "--to") == 500_000_000
