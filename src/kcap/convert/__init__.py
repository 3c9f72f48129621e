"""Converting real public Kalshi data into kcap captures (derived, never raw WebSocket frames).

* :mod:`kcap.convert.frames`, :mod:`kcap.convert.records` - Kalshi frames and derived captures.
* :mod:`kcap.convert.sources` - reading source files that may stop mid-line; exact times.
* :mod:`kcap.convert.provenance` - where each real-data folder comes from.

Every derived record has ``origin="derived:<source folder>"`` and every derived file starts
with a header record whose ``info`` names the source file, its provenance and the rules used.
"""

from __future__ import annotations

from kcap.convert.records import DerivedCapture, DerivedConnection

__all__ = ["DerivedCapture", "DerivedConnection"]
