#!/usr/bin/env python3
"""Write the README's picture, ``docs/explore_capture.png``, by running notebook 1.

Usage::

    python scripts/readme_figure.py

Executes ``notebooks/explore_capture.ipynb`` (needs the ``notebooks`` extra) on the embedded
sample, event KXHIGHNY-25DEC06, with ``KCAP_NB_FIGURE`` set: the notebook's bid/ask cell saves
its chart there. The executed notebook itself is not kept. Same kcap, matplotlib and sample:
the same picture.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbclient
import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore_capture.ipynb"
FIGURE = "docs/explore_capture.png"
EVENT = "KXHIGHNY-25DEC06"


def main() -> int:
    os.environ.update(
        KCAP_NB_DATA="sample", KCAP_NB_EVENT=EVENT, KCAP_NB_FIGURE=FIGURE, MPLBACKEND="agg"
    )
    os.environ.pop("KCAP_NB_FAST", None)
    (ROOT / FIGURE).parent.mkdir(parents=True, exist_ok=True)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    print(f"wrote {ROOT / FIGURE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
