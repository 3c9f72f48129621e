"""KalshiWeather-v0: the Gymnasium and SB3 contracts, determinism, episodes, masks, fills."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from envtools import SAMPLE_EVENT, make_env, run_episode
from gymnasium.utils.env_checker import check_env

from kcap import sample
from kcap.envs.weather import BUY_NO, BUY_YES, FLATTEN, KalshiWeatherEnv
from kcap.errors import DataError, UsageError

S = 1_000_000_000


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("KalshiWeather-v0", {}),
        ("KalshiWeatherFlat-v0", {}),
        ("KalshiWeather-v0", {"episode_start": "random", "shaping_gamma": 0.99}),
        ("KalshiWeather-v0", {"reward_mode": "cash", "render_mode": "ansi"}),
        ("KalshiWeather-v0", {"render_mode": "rgb_array"}),
    ],
)
def test_gymnasium_check_env_passes_without_warnings(env_id: str, kwargs: dict) -> None:
    env = gym.make(env_id, **kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    env.close()
    env.close()


def test_discrete_variant_passes_check_env() -> None:
    env = gym.make("KalshiWeatherDiscrete-v0")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*wrapped.*")
        check_env(env, skip_render_check=True)
    assert env.action_space == gym.spaces.Discrete(1 + 3 * 6)
    mask = env.get_wrapper_attr("action_masks")()
    assert mask.shape == (19,) and mask[0]


@pytest.mark.parametrize(
    "env_id", ["KalshiWeather-v0", "KalshiWeatherFlat-v0", "KalshiWeatherDiscrete-v0"]
)
def test_sb3_check_env_passes(env_id: str) -> None:
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = gym.make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_checker.check_env(env)
    assert [str(w.message) for w in caught if "wrapped" not in str(w.message)] == []


def test_registration_on_import_and_by_module_prefix() -> None:
    code = (
        "import gymnasium as gym\n"
        "assert 'KalshiWeather-v0' not in gym.registry\n"
        "env = gym.make('kcap:KalshiWeather-v0')\n"
        "obs, info = env.reset(seed=0)\n"
        "print(info['event'])\n"
        "import kcap.envs.dataset as d\n"
        "import kcap\n"
        "assert {'KalshiWeather-v0', 'KalshiWeatherFlat-v0', 'KalshiWeatherDiscrete-v0'} <= set(gym.registry)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() in sample.EVENTS
    lazy = "import kcap, kcap.envs.dataset as d; assert not d._cache; print('ok')"
    assert (
        subprocess.run([sys.executable, "-c", lazy], capture_output=True, text=True).stdout
        == "ok\n"
    )


def test_same_seed_and_actions_give_the_same_trajectory() -> None:
    actions = np.random.default_rng(7).integers(0, 4, size=(4_000, 6))
    runs = []
    for _ in range(2):
        env = make_env(episode_start="random", step_secs=120)
        steps = run_episode(env, actions, seed=123)
        steps += run_episode(env, actions[::-1])  # the next episode draws from np_random too
        runs.append(steps)
    assert len(runs[0]) == len(runs[1])
    for a, b in zip(*runs, strict=True):
        assert gym.utils.env_checker.data_equivalence(a, b, exact=True)
    other = run_episode(make_env(episode_start="random", step_secs=120), actions, seed=124)
    assert other[0][4] != runs[0][0][4] or len(other) != len(runs[0][: len(other)])


def test_episode_terminates_at_settlement_and_never_on_the_first_step(
    env: KalshiWeatherEnv,
) -> None:
    steps = run_episode(env, np.zeros((1, 6), dtype=np.int64), options={"event": SAMPLE_EVENT})
    assert steps[-1][2] is True and steps[-1][3] is False
    assert not any(s[2] or s[3] for s in steps[:-1])
    assert steps[-1][4]["settled"] and steps[-1][4]["pnl_dollars"] == 0.0
    plan = env.plan(SAMPLE_EVENT)
    _obs, info = env.reset(options={"event": SAMPLE_EVENT, "start_step": 10**9})
    assert info["time_ns"] == plan.times_ns[plan.steps - 2]  # clamped: two steps remain
    assert env.step(np.zeros(6, dtype=np.int64))[2:4] == (False, False)
    assert env.step(np.zeros(6, dtype=np.int64))[2] is True
    with pytest.raises(UsageError, match="reset"):
        env.step(np.zeros(6, dtype=np.int64))


def test_unknown_outcome_truncates(tmp_path: Path) -> None:
    outcomes = tmp_path / "outcomes.csv"
    outcomes.write_text("event_ticker,high_f,source\n")
    env = make_env(
        captures=[sample.directory() / f"{SAMPLE_EVENT}.parquet"],
        markets=sample.directory() / "markets.csv",
        outcomes=outcomes,
        step_secs=3_600,
    )
    assert env.events == (SAMPLE_EVENT,)
    steps = run_episode(env, np.array([[BUY_YES] * 6]))
    assert steps[-1][3] is True and steps[-1][2] is False
    assert steps[-1][4]["settled"] is False
    obs = steps[1][0]
    assert obs["forecast_known"][0] == 0.0  # forecasts= not given: unknown, said explicitly


def test_data_ending_before_the_close_ends_the_episode(env: KalshiWeatherEnv) -> None:
    # the KXHIGHNY-25DEC07 log stops at 20:17Z, hours before the 04:59Z close: settle there
    plan = env.plan("KXHIGHNY-25DEC07")
    assert plan.times_ns[-1] == plan.tape.data_end_ns < plan.tape.event.close_ns
    steps = run_episode(
        env, np.zeros((1, 6), dtype=np.int64), options={"event": "KXHIGHNY-25DEC07"}
    )
    assert steps[-1][2] is True


def test_observations_stay_in_bounds_and_cash_never_goes_negative() -> None:
    env = make_env(initial_cash_cc=30_000, lot_cx=700, step_secs=300, refill_cx_per_min=50)
    rng = np.random.default_rng(3)
    for event in env.events:
        steps = run_episode(env, rng.integers(0, 4, size=(500, 6)), options={"event": event})
        for obs, reward, _, _, _info in steps:
            assert env.observation_space.contains(obs)
            assert isinstance(reward, float)
        assert all(s[4].get("cash_cc", 0) >= 0 for s in steps)
        assert all(abs(p) <= env.max_position_cx for p in env._ledger.position_cx)


def test_rewards_sum_to_the_pnl_in_both_modes() -> None:
    actions = np.random.default_rng(5).integers(0, 4, size=(800, 6))
    for mode in ("mark_to_market", "cash"):
        env = make_env(reward_mode=mode, step_secs=180)
        for event in env.events:
            steps = run_episode(env, actions, options={"event": event})
            assert sum(s[1] for s in steps) == pytest.approx(steps[-1][4]["pnl_dollars"], abs=1e-9)


def test_shaping_is_potential_based_and_telescopes() -> None:
    env = make_env(shaping_gamma=1.0, step_secs=600)
    actions = np.random.default_rng(9).integers(0, 4, size=(300, 6))
    steps = run_episode(env, actions, options={"event": "KXHIGHNY-26JAN02"})
    shaping = [s[4]["shaping"] for s in steps[1:]]
    assert any(shaping)
    assert sum(shaping) == pytest.approx(0.0, abs=1e-9)  # phi(start) = phi(terminal) = 0
    assert sum(s[1] for s in steps) == pytest.approx(steps[-1][4]["pnl_dollars"], abs=1e-9)


def test_masked_actions_do_not_fill() -> None:
    # masks judge each bracket's order alone; one order a step, so masked means no fill
    env = make_env(initial_cash_cc=20_000, max_position_cx=300, step_secs=300)
    rng = np.random.default_rng(11)
    masked = unmasked_filled = 0
    for event in env.events:
        env.reset(options={"event": event})
        done = False
        while not done:
            mask = env.action_masks().reshape(env.n, 4)
            b, order = int(rng.integers(env.n)), int(rng.integers(1, 4))
            action = np.zeros(env.n, dtype=np.int64)
            action[b] = order
            _, _, terminated, truncated, info = env.step(action)
            if not mask[b, order]:
                masked += 1
                assert info["fills"] == ()
            elif info["fills"]:
                unmasked_filled += 1
            done = terminated or truncated
    assert masked > 50 and unmasked_filled > 50


def test_masks_at_the_start(env: KalshiWeatherEnv) -> None:
    env.reset(options={"event": SAMPLE_EVENT})
    mask = env.action_masks().reshape(env.n, 4)
    assert mask[:, 0].all() and not mask[:, FLATTEN].any()  # flat: nothing to flatten
    # T39 and B43.5 .. T46 have no YES bid at 07:00 ET: nothing to sell YES into
    obs = env._out(env._observe())
    assert isinstance(obs, dict)
    np.testing.assert_array_equal(mask[:, BUY_NO], obs["yes_bid"] > 0)
    np.testing.assert_array_equal(mask[:, BUY_YES], obs["yes_ask"] < 1)


def test_the_agent_depletes_the_book_it_sees() -> None:
    env = make_env(lot_cx=2_000, max_position_cx=10_000, refill_cx_per_min=0, slippage_cc=0)
    obs, _ = env.reset(options={"event": SAMPLE_EVENT, "start_ns": 0})
    b = 2  # B41.5: YES asks 0.48 x 10, 0.49 x 10 at 07:00 ET
    assert obs["yes_ask"][b] == pytest.approx(0.48)
    action = np.zeros(6, dtype=np.int64)
    action[b] = BUY_YES
    obs, _, _, _, info = env.step(action)  # limit 0.48: takes the whole level, no more
    assert info["fills"] == ((b, 1, 4_800, 1_000),)
    assert obs["yes_ask"][b] == pytest.approx(0.49)  # the level it took is gone from view
    obs, _, _, _, info = env.step(action)
    assert info["fills"] == ((b, 1, 4_900, 1_000),)
    recovering = make_env(
        lot_cx=2_000, max_position_cx=10_000, refill_cx_per_min=500, slippage_cc=0
    )
    recovering.reset(options={"event": SAMPLE_EVENT})
    obs, _, _, _, _ = recovering.step(action)
    assert obs["yes_ask"][b] == pytest.approx(0.48)  # 10 contracts back within the 59 s


def test_orders_fill_against_the_book_a_latency_after_the_decision(env: KalshiWeatherEnv) -> None:
    # find a step whose book changes within the first second after the step time
    plan = env.plan(SAMPLE_EVENT)
    changed = np.flatnonzero((plan.ids[:-1] != plan.fill_ids).any(axis=1))
    assert len(changed)
    k = int(changed[0])
    b = int(np.flatnonzero(plan.ids[k] != plan.fill_ids[k])[0])
    fill_state = plan.fill_ids[k, b]
    assert plan.tape.updated_ns[fill_state] > plan.times_ns[k]
    assert plan.tape.updated_ns[fill_state] <= plan.times_ns[k] + 1_000_000_000


def test_vector_envs_sync_and_async() -> None:
    fns = [lambda: gym.make("KalshiWeather-v0", step_secs=3_600) for _ in range(2)]
    for vec_cls in (gym.vector.SyncVectorEnv, gym.vector.AsyncVectorEnv):
        vec = vec_cls(fns)
        obs, _ = vec.reset(seed=[1, 2])
        assert obs["yes_bid"].shape == (2, 6)
        ends = 0
        for _ in range(40):
            obs, rewards, terminated, truncated, _infos = vec.step(vec.action_space.sample())
            assert rewards.dtype == np.float64 and obs["position"].shape == (2, 6)
            ends += int(terminated.sum() + truncated.sum())
        assert ends >= 2  # episodes of ~5-17 steps: autoreset (next step) happened
        vec.close()


def test_info_is_plain_data(env: KalshiWeatherEnv) -> None:
    _, info = env.reset(seed=0)
    _, _, _, _, info = env.step(np.ones(6, dtype=np.int64))
    assert set(info) == {
        "event", "step", "time_ns", "fills", "fees_cc", "total_fees_cc", "cash_cc",
        "equity_cc", "realized_pnl_dollars", "shaping",
    }  # fmt: skip
    assert all(isinstance(v, int | float | str | tuple) for v in info.values())


def test_rgb_array_draws_the_ladder_and_positions() -> None:
    from kcap.envs.render import COLUMN_PX, HEIGHT_PX, TOP_PX, _row

    rgb = make_env(render_mode="rgb_array")
    rgb.reset(options={"event": SAMPLE_EVENT})
    first = rgb.render()
    assert isinstance(first, np.ndarray) and first.dtype == np.uint8
    assert first.shape == (HEIGHT_PX, COLUMN_PX * rgb.n, 3)
    bid_cc, ask_cc = rgb._best_cc
    b = next(i for i in range(rgb.n) if bid_cc[i] and ask_cc[i])
    x = b * COLUMN_PX + COLUMN_PX // 2
    assert tuple(first[_row(int(bid_cc[b])), x]) == (60, 200, 90)  # green bid line
    assert tuple(first[_row(int(ask_cc[b])), x]) == (220, 70, 60)  # red ask line
    action = np.zeros(rgb.n, dtype=np.int64)
    action[b] = 1  # buy YES
    rgb.step(action)
    second = rgb.render()
    assert isinstance(second, np.ndarray)
    mid = HEIGHT_PX - 20
    if rgb._ledger.position_cx[b] > 0:
        assert tuple(second[mid - 1, x]) == (70, 130, 230)  # a blue YES bar
    for _ in range(60):
        rgb.step(np.zeros(rgb.n, dtype=np.int64))
    later = rgb.render()
    assert isinstance(later, np.ndarray)
    assert later[: TOP_PX - 2].sum() > first[: TOP_PX - 2].sum()  # the clock strip grew


def test_sb3_make_vec_env_works() -> None:
    env_util = pytest.importorskip(
        "stable_baselines3.common.env_util", reason="needs the train extra"
    )
    venv = env_util.make_vec_env("KalshiWeather-v0", n_envs=2)
    obs = venv.reset()
    assert set(obs) >= {"yes_bid", "cash"}
    venv.close()


def test_render_and_bad_arguments(env: KalshiWeatherEnv) -> None:
    ansi = make_env(render_mode="ansi")
    ansi.reset(options={"event": SAMPLE_EVENT})
    text = ansi.render()
    assert text is not None and text.startswith(SAMPLE_EVENT) and "cash $100.00" in text
    with pytest.raises(UsageError, match="latency_ms"):
        make_env(latency_ms=60_000)
    with pytest.raises(UsageError, match="reward_mode"):
        make_env(reward_mode="sharpe")
    with pytest.raises(UsageError, match="event"):
        env.reset(options={"event": "KXHIGHNY-99JAN01"})
    with pytest.raises(UsageError, match="two 86400 s steps"):
        make_env(step_secs=86_400)


def test_series_and_date_filters() -> None:
    env = make_env(series="KXHIGHNY", dates=("2025-12-07", "2025-12-14"))
    assert env.events == ("KXHIGHNY-25DEC07", "KXHIGHNY-25DEC08", "KXHIGHNY-25DEC14")
    with pytest.raises(UsageError, match="first <= last"):
        make_env(dates=("2025-12-14", "2025-12-07"))
    with pytest.raises(DataError, match="found none"):
        make_env(series=["KXHIGHCHI"])


def test_environments_with_equal_settings_share_plans() -> None:
    a, b = make_env(step_secs=900), make_env(step_secs=900)
    assert a.dataset is b.dataset
    assert a.plan(SAMPLE_EVENT) is b.plan(SAMPLE_EVENT)
    assert make_env(step_secs=600).plan(SAMPLE_EVENT) is not a.plan(SAMPLE_EVENT)


def test_episode_start_a_number_of_seconds_before_the_close() -> None:
    env = make_env(episode_start=6 * 3_600)
    _, info = env.reset(options={"event": SAMPLE_EVENT})
    close = env.plan(SAMPLE_EVENT).tape.event.close_ns
    assert close - 6 * 3_600 * S <= info["time_ns"] < close - 6 * 3_600 * S + 60 * S
    with pytest.raises(UsageError, match="episode_start"):
        make_env(episode_start=-5)


def test_flat_variant_is_the_flattened_dict() -> None:
    actions = np.random.default_rng(2).integers(0, 4, size=(300, 6))
    as_dict = run_episode(make_env(step_secs=300), actions, seed=8)
    flat_env = make_env(step_secs=300, observation="flat")
    as_flat = run_episode(flat_env, actions, seed=8)
    space = make_env().observation_space
    assert len(as_dict) == len(as_flat)
    for d, f in zip(as_dict, as_flat, strict=True):
        np.testing.assert_array_equal(gym.spaces.flatten(space, d[0]), f[0])
        assert d[1:] == f[1:]
    assert flat_env.observation_space == gym.spaces.flatten_space(space)
