"""Scripted baselines and the evaluation script on the embedded sample."""

from __future__ import annotations

import numpy as np
import pytest
from envtools import SAMPLE_EVENT, make_env

from kcap.envs.baselines import BASELINES, DoNothing, ForecastEdge, ForecastFavorite
from kcap.envs.evaluate import evaluate, main, run_episode, summary_lines


def test_do_nothing_makes_nothing() -> None:
    env = make_env()
    result = run_episode(env, DoNothing(), SAMPLE_EVENT)
    assert (result.pnl, result.fees, result.traded, result.settled) == (0.0, 0.0, False, True)


def test_forecast_favorite_buys_the_most_likely_bracket_and_holds() -> None:
    env = make_env()
    obs, _ = env.reset(options={"event": SAMPLE_EVENT})
    assert isinstance(obs, dict)
    policy = ForecastFavorite()
    favourite = int(np.argmax(obs["forecast_prob"]))
    action = policy.act(obs, env.action_masks())
    assert action.tolist() == [1 if b == favourite else 0 for b in range(env.n)]
    result = run_episode(env, ForecastFavorite(), SAMPLE_EVENT)
    assert result.traded and result.settled
    assert env._ledger.fees_cc == 1_000  # ten one-contract orders at 1 cent each


def test_forecast_edge_needs_an_edge() -> None:
    env = make_env()
    obs, _ = env.reset(options={"event": SAMPLE_EVENT})
    assert isinstance(obs, dict)
    mask = env.action_masks()
    assert not ForecastEdge(margin=1.0).act(obs, mask).any()
    quiet = {**obs, "forecast_known": np.zeros(1, dtype=np.float32)}
    assert not ForecastEdge(margin=-1.0).act(quiet, mask).any()  # no forecast: no trade


def test_evaluation_table(capsys: pytest.CaptureFixture[str]) -> None:
    env = make_env(step_secs=600)
    results = evaluate(env, list(BASELINES), list(env.events))
    lines = summary_lines(results)
    assert lines[2].split()[:3] == ["do_nothing", "6", "0"]
    assert len(lines) == 2 + len(BASELINES)
    assert main(["--step-secs", "600", "--baseline", "do_nothing"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("6 settled events (embedded sample), step 600 s")


def test_kcap_evaluate_command() -> None:
    from click.testing import CliRunner

    from kcap.cli import main as cli

    result = CliRunner().invoke(cli, ["evaluate", "--step-secs", "600", "--baseline", "do_nothing"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("6 settled events (embedded sample), step 600 s")
    assert "do_nothing" in result.output
    bad = CliRunner().invoke(cli, ["evaluate", "--baseline", "nope"])
    assert bad.exit_code == 1 and "kcap: unknown baseline nope" in bad.output
