"""No look-ahead: perturb every piece of data after a time t; observations up to t must not move.

The perturbed copy of the embedded sample changes, after each event's cut time t: every book
record's prices and sizes (the records stay, at the same times), every forecast known after t
(and adds a new one), and the outcome. Two envs, one on each copy, get the same seed and the
same actions; every observation, reward and info at a step time <= t must be identical, so must
the fills of orders that reach the book by t, and something after t must differ (the
perturbation is real). Mutating the env to peek a step ahead (books, forecasts or fills) fails it.
"""

from __future__ import annotations

import csv
import json
import random
import shutil
from pathlib import Path

import numpy as np
from envtools import make_env

from kcap import sample
from kcap.replay.readers import read_capture
from kcap.schemas.record import encode_record

S = 1_000_000_000
CUT_AFTER_START_S = 3 * 3_600 + 17  # mid-morning, off the step grid
LATENCY_NS = 1_000_000_000


def _perturb_frame(frame: bytes, rng: random.Random) -> bytes:
    obj = json.loads(frame)
    msg = obj.get("msg", {})
    if obj.get("type") == "orderbook_delta":
        msg["price_dollars"] = f"0.{rng.randint(1, 99):02d}00"
        msg["delta_fp"] = f"{rng.randint(1, 80)}.00"
    elif obj.get("type") == "orderbook_snapshot":
        for side in ("yes_dollars_fp", "no_dollars_fp"):
            msg[side] = [[f"0.{rng.randint(1, 99):02d}00", f"{rng.randint(1, 80)}.00"]]
    return json.dumps(obj, separators=(",", ":")).encode()


def perturbed_sample(dst: Path, cuts: dict[str, int]) -> Path:
    rng = random.Random(0)
    src = sample.directory()
    for event, cut in cuts.items():
        lines = []
        for batch in read_capture(src / f"{event}.parquet"):
            for i in range(len(batch)):
                frame = batch.frame[i]
                frame = None if frame is None else bytes(frame)
                if frame is not None and batch.recv_ns[i] > cut:
                    frame = _perturb_frame(frame, rng)
                lines.append(
                    encode_record(
                        batch.kind[i],
                        batch.conn[i],
                        batch.rec[i],
                        batch.recv_ns[i],
                        batch.mono_ns[i],
                        frame=frame,
                        info=batch.info[i],
                        origin=batch.origin[i],
                    )
                )
        (dst / f"{event}.jsonl").write_bytes(b"".join(lines))
    shutil.copy(src / "markets.csv", dst / "markets.csv")
    with (src / "forecasts.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if int(row["known_from_ns"]) > cuts[row["event_ticker"]]:
            row["value_f"] = "99.9"
    for event, cut in cuts.items():  # forecasts that arrive after the cut, from 1 ns on
        for after_ns, value in ((1, "12.3"), (600 * S, "45.6"), (7_200 * S, "78.9")):
            rows.append(
                {"event_ticker": event, "known_from_ns": str(cut + after_ns),
                 "known_from_utc": "", "value_f": value, "lead_days": "0"}
            )  # fmt: skip
    with (dst / "forecasts.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with (src / "outcomes.csv").open() as fh:
        outcomes = list(csv.DictReader(fh))
    for row in outcomes:
        row["high_f"] = str(int(row["high_f"]) + 5)
    with (dst / "outcomes.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(outcomes[0]))
        writer.writeheader()
        writer.writerows(outcomes)
    return dst


def test_observations_up_to_t_ignore_everything_after_t(tmp_path: Path) -> None:
    kwargs = {"step_secs": 60, "lot_cx": 300, "refill_cx_per_min": 60}
    original = make_env(**kwargs)
    cuts = {e: int(original.plan(e).times_ns[0]) + CUT_AFTER_START_S * S for e in original.events}
    perturbed = make_env(data_dir=perturbed_sample(tmp_path, cuts), **kwargs)
    assert perturbed.events == original.events
    rng = np.random.default_rng(1)
    for event, cut in cuts.items():
        a_obs, a_info = original.reset(seed=5, options={"event": event})
        b_obs, b_info = perturbed.reset(seed=5, options={"event": event})
        compared, differed = 0, False
        while True:
            same = a_info["time_ns"] <= cut
            for key in a_obs:
                equal = np.array_equal(a_obs[key], b_obs[key])
                assert equal or not same, (event, a_info["time_ns"], key)
                differed = differed or not equal
            if same:
                compared += 1
            action = rng.integers(0, 4, size=original.n)
            fill_ns = a_info["time_ns"] + LATENCY_NS  # when this step's orders reach the book
            a_obs, a_reward, a_term, a_trunc, a_info = original.step(action)
            b_obs, b_reward, _b_term, _b_trunc, b_info = perturbed.step(action)
            if a_info["time_ns"] <= cut:
                assert (a_reward, a_info) == (b_reward, b_info)
            if fill_ns <= cut:  # fills only use the book as of their arrival
                assert (a_info["fills"], a_info["fees_cc"]) == (b_info["fills"], b_info["fees_cc"])
            if a_term or a_trunc:
                break
        assert compared >= 180 and differed, event
