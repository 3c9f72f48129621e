"""Kalshi series kcap knows by name."""

from __future__ import annotations

from typing import Final

DAILY_HIGH_SERIES: Final = (
    "KXHIGHNY",
    "KXHIGHCHI",
    "KXHIGHMIA",
    "KXHIGHAUS",
    "KXHIGHDEN",
    "KXHIGHLAX",
    "KXHIGHPHIL",
)
"""The daily-high temperature series of the seven cities of kalshi-protocol.md section 7.1
(New York, Chicago, Miami, Austin, Denver, Los Angeles, Philadelphia): ``kcap record``'s
default universe, and the seven series with REST books in the July 2026 real data."""
