"""Gymnasium environments over replayed books, positions and forecasts.

Importing :mod:`kcap` (or :mod:`kcap.envs`) registers, with Gymnasium:

* ``KalshiWeather-v0`` - :class:`kcap.envs.weather.KalshiWeatherEnv`: ``Dict`` observation,
  ``MultiDiscrete`` action (hold / buy YES / buy NO / flatten per bracket);
* ``KalshiWeatherFlat-v0`` - the same with the observation flattened into one ``Box``;
* ``KalshiWeatherDiscrete-v0`` - flat observation and one ``Discrete`` action (hold, or one
  order on one bracket), for algorithms such as DQN.

``gym.make("kcap:KalshiWeather-v0")`` imports kcap first, so it works without the import.
Nothing is loaded at import: data is read when an environment is made.

Modules: :mod:`~kcap.envs.weather` (the env), :mod:`~kcap.envs.data` (input tables and their
formats), :mod:`~kcap.envs.tape` (books sampled from one replay), :mod:`~kcap.envs.dataset`
(loading, caching, step plans), :mod:`~kcap.envs.fills`, :mod:`~kcap.envs.fees`,
:mod:`~kcap.envs.settlement`, :mod:`~kcap.envs.features`, :mod:`~kcap.envs.wrappers`,
:mod:`~kcap.envs.baselines`, :mod:`~kcap.envs.evaluate` (``python -m kcap.envs.evaluate``).
"""

from __future__ import annotations

import gymnasium as gym

ENV_IDS = ("KalshiWeather-v0", "KalshiWeatherFlat-v0", "KalshiWeatherDiscrete-v0")


def _register() -> None:
    entries = {
        "KalshiWeather-v0": ("kcap.envs.weather:KalshiWeatherEnv", {}),
        "KalshiWeatherFlat-v0": ("kcap.envs.weather:KalshiWeatherEnv", {"observation": "flat"}),
        "KalshiWeatherDiscrete-v0": ("kcap.envs.wrappers:make_discrete", {}),
    }
    for env_id, (entry_point, kwargs) in entries.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, kwargs=kwargs)


_register()

__all__ = ["ENV_IDS"]
