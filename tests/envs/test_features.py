"""Observation layout, the forecast distribution, side features."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from gymnasium import spaces

from kcap.envs.data import Bracket
from kcap.envs.features import (
    FEATURES,
    Layout,
    bracket_probabilities,
    side_features,
    sigma_for,
)

F = Fraction
LADDER = (
    Bracket("T39", "less", None, F(39)),
    Bracket("B39.5", "between", F(39), F(40)),
    Bracket("B41.5", "between", F(41), F(42)),
    Bracket("B43.5", "between", F(43), F(44)),
    Bracket("B45.5", "between", F(45), F(46)),
    Bracket("T46", "greater", F(46), None),
)


def test_probabilities_cover_whole_degrees() -> None:
    probs = bracket_probabilities(LADDER, 41.5, 2.0)
    assert math.isclose(sum(probs), 1.0, abs_tol=1e-12)
    # B41.5 holds 41 and 42: the normal mass of [40.5, 42.5), centred: 2 Phi(0.5) - 1
    assert math.isclose(probs[2], math.erf(0.5 / math.sqrt(2)), rel_tol=1e-12)
    # T39 is "38 or below": (-inf, 38.5)
    assert math.isclose(probs[0], 0.5 * (1 + math.erf(-3.0 / (2.0 * math.sqrt(2)))))
    tails = bracket_probabilities(
        (Bracket("a", "less_or_equal", None, F(39)), Bracket("b", "greater_or_equal", F(40), None)),
        39.5,
        1.0,
    )
    assert math.isclose(tails[0], 0.5) and math.isclose(tails[1], 0.5)


def test_sigma_by_lead_falls_back_to_the_nearest() -> None:
    assert sigma_for(1) == 2.72 and sigma_for(2) == 2.44
    assert sigma_for(0) == 2.72 and sigma_for(5) == 2.44


def test_layout_is_the_flatten_order_of_the_dict_space() -> None:
    layout = Layout(6)
    assert set(layout.space.spaces) == {f.name for f in FEATURES}
    rng = np.random.default_rng(0)
    vector = rng.uniform(layout.low, layout.high).astype(np.float32)
    obs = layout.as_dict(vector)
    assert layout.space.contains(obs)
    np.testing.assert_array_equal(spaces.flatten(layout.space, obs), vector)
    assert spaces.flatten_space(layout.space) == layout.flat
    assert all(np.isfinite(layout.low)) and all(np.isfinite(layout.high))


def test_side_features() -> None:
    assert side_features([(4_000, 250), (3_900, 100)], ask=False) == (
        0.4,
        math.log1p(2.5),
        math.log1p(3.5),
    )
    assert side_features([(6_000, 100)], ask=True)[0] == 0.4  # YES ask = $1 - NO bid
    assert side_features([], ask=True) == (1.0, 0.0, 0.0)
    assert side_features([], ask=False) == (0.0, 0.0, 0.0)
