"""Gymnasium environments over replayed books, positions and forecasts (``KalshiWeather-v0``).

Nothing is registered yet; the environment arrives with its own issue.
"""
