"""Shared fixtures: the location of ../shared/real-data (tests that need it skip without it)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KCAP_SHARED", ROOT.parent / "shared"))
REAL_DATA = SHARED / "real-data"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """``../shared/real-data``; the test is skipped with a reason when it is absent."""
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data not found at {REAL_DATA} (set KCAP_SHARED to its parent)")
    return REAL_DATA
