"""``rgb_array`` rendering of a KalshiWeather-v0 state: a small picture of the bracket ladder.

Pure numpy, no plotting library. One column per bracket (lowest strike left): the price axis
runs from $0 (bottom) to $1 (top); the best YES bid is a green line, the best YES ask a red
line, the spread between them shaded; a stale book's column is darkened. Under the ladder, the
agent's position: a blue bar up for YES, an orange bar down for NO, full height at the
position limit. A white strip at the top shows how much of the episode has passed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from kcap.fixedpoint import ONE_DOLLAR_CC

COLUMN_PX = 32
LADDER_PX = 100
POSITION_PX = 40
TOP_PX = 6
HEIGHT_PX = TOP_PX + LADDER_PX + POSITION_PX

_BACKGROUND = (24, 24, 28)
_COLUMN = (48, 48, 56)
_STALE = (30, 20, 20)
_SPREAD = (90, 90, 110)
_BID = (60, 200, 90)
_ASK = (220, 70, 60)
_YES = (70, 130, 230)
_NO = (240, 150, 40)
_CLOCK = (230, 230, 230)


def _row(price_cc: int) -> int:
    """Image row of a price on the ladder (row 0 is the top of the image)."""
    frac = min(max(price_cc, 0), ONE_DOLLAR_CC) / ONE_DOLLAR_CC
    return TOP_PX + round((1.0 - frac) * (LADDER_PX - 1))


def ladder_image(
    bid_cc: Sequence[int],
    ask_cc: Sequence[int],
    valid: Sequence[bool],
    position_cx: Sequence[int],
    *,
    max_position_cx: int,
    progress: float,
) -> npt.NDArray[np.uint8]:
    """The picture of one state, ``(HEIGHT_PX, COLUMN_PX * n, 3)`` uint8 RGB.

    Args:
        bid_cc, ask_cc: best YES bid and ask per bracket, centi-cents (0 = none).
        valid: whether each bracket's book is valid.
        position_cx: signed YES position per bracket (negative = NO), centi-contracts.
        max_position_cx: the position limit (full bar height).
        progress: fraction of the episode passed, 0 to 1.
    """
    n = len(bid_cc)
    image = np.empty((HEIGHT_PX, COLUMN_PX * n, 3), dtype=np.uint8)
    image[:] = _BACKGROUND
    image[: TOP_PX - 2, : round(min(max(progress, 0.0), 1.0) * COLUMN_PX * n)] = _CLOCK
    mid = TOP_PX + LADDER_PX + POSITION_PX // 2
    for b in range(n):
        x0, x1 = b * COLUMN_PX + 2, (b + 1) * COLUMN_PX - 2
        image[TOP_PX : TOP_PX + LADDER_PX, x0:x1] = _COLUMN if valid[b] else _STALE
        if bid_cc[b] and ask_cc[b]:
            image[_row(ask_cc[b]) : _row(bid_cc[b]) + 1, x0:x1] = _SPREAD
        # two-pixel lines: the bid's grows downward, the ask's upward, so they never overlap
        if bid_cc[b]:
            r = _row(bid_cc[b])
            image[r : min(r + 2, TOP_PX + LADDER_PX), x0:x1] = _BID
        if ask_cc[b]:
            r = _row(ask_cc[b])
            image[max(r - 1, TOP_PX) : r + 1, x0:x1] = _ASK
        size = round(
            min(abs(position_cx[b]) / max(max_position_cx, 1), 1.0) * (POSITION_PX // 2 - 2)
        )
        if position_cx[b] > 0:
            image[mid - size : mid, x0:x1] = _YES
        elif position_cx[b] < 0:
            image[mid : mid + size, x0:x1] = _NO
    image[mid, :] = _COLUMN
    return image
