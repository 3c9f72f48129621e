"""Converting real public Kalshi data into kcap captures (derived, never raw WebSocket frames).

* :mod:`kcap.convert.bbo` - the KXHIGHNY best-bid change log -> snapshot + delta frames that
  replay its best-bid path exactly, sizes from :mod:`kcap.convert.sizes`.
* :mod:`kcap.convert.rest_books` - full-depth REST books -> a snapshot, then the deltas between
  consecutive books, so every source book replays exactly at its capture time.
* :mod:`kcap.convert.sizes` - the size rule and its table, derived from real REST books.
* :mod:`kcap.convert.events` - market list, forecasts and outcomes tables for converted events.
* :mod:`kcap.convert.frames`, :mod:`kcap.convert.records` - Kalshi frames and derived captures.
* :mod:`kcap.convert.sources` - reading source files that may stop mid-line; exact times.

Every derived record has ``origin="derived:<source folder>"`` and every derived file starts
with a header record whose ``info`` names the source file, its provenance
(:mod:`kcap.convert.provenance`) and the rules used.
"""

from __future__ import annotations

from kcap.convert.bbo import convert_bbo_file
from kcap.convert.records import DerivedCapture, DerivedConnection
from kcap.convert.rest_books import convert_rest_file
from kcap.convert.sizes import BEST_BID_SIZES, derive_size_table, size_for_price

__all__ = [
    "BEST_BID_SIZES",
    "DerivedCapture",
    "DerivedConnection",
    "convert_bbo_file",
    "convert_rest_file",
    "derive_size_table",
    "size_for_price",
]
