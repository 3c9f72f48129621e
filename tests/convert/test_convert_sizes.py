"""The size rule: committed table = its re-derivation from the real REST books."""

from __future__ import annotations

from pathlib import Path

import pytest

from kcap.convert.sizes import (
    BEST_BID_SIZES,
    BUCKET_CENTS,
    derive_size_table,
    rest_book_files,
    size_for_price,
)
from kcap.errors import DataError
from kcap.replay.readers import ReadProblem


def test_committed_size_table_equals_its_rederivation(real_data: Path) -> None:
    problems: list[ReadProblem] = []
    derived = derive_size_table(rest_book_files(real_data), problems=problems)
    assert problems == []
    assert derived == BEST_BID_SIZES


def test_buckets_cover_every_cent_once() -> None:
    cents = [c for low, high in BUCKET_CENTS for c in range(low, high + 1)]
    assert cents == list(range(1, 100))
    assert [(b.low_cents, b.high_cents) for b in BEST_BID_SIZES] == list(BUCKET_CENTS)


@pytest.mark.parametrize(
    ("price_cc", "size_cx"),
    [
        (1, 28099),
        (100, 28099),
        (199, 28099),
        (200, 10800),
        (3800, 1100),
        (9800, 8300),
        (9999, 1834879),
    ],
)
def test_size_for_price_looks_up_the_bucket(price_cc: int, size_cx: int) -> None:
    assert size_for_price(price_cc) == size_cx


@pytest.mark.parametrize("price_cc", [0, -100, 10_000])
def test_size_for_price_refuses_prices_outside_a_dollar(price_cc: int) -> None:
    with pytest.raises(DataError, match="between 1 and 9999"):
        size_for_price(price_cc)


def test_every_committed_size_is_a_positive_integer() -> None:
    assert all(type(b.size_cx) is int and b.size_cx > 0 for b in BEST_BID_SIZES)
