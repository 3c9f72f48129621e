"""The notebooks in ``notebooks/``: committed without outputs, and executed start to end.

Execution needs the ``notebooks`` extra (and ``train`` for ``train_agent.ipynb``); without it
the test skips with the reason. Notebooks run with ``KCAP_NB_FAST=1`` (short training, fewer
events) in their own directory, on ``../shared/real-data`` when it is there, as a user would.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_NAMES = ("explore_capture.ipynb", "train_agent.ipynb")
CELL_TIMEOUT_SECS = 600
FAST_LIMIT_SECS = 300
"""A notebook in fast mode should take well under 3 minutes; this bound only catches a
regression (a shared CI machine is slower than a quiet one)."""


def _cells(path: Path) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return cells


@pytest.mark.parametrize("name", NOTEBOOK_NAMES)
def test_notebook_is_committed(name: str) -> None:
    assert (NOTEBOOKS / name).is_file()


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path: Path) -> None:
    dirty = [
        i
        for i, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs; clear them before committing "
        f"(jupyter nbconvert --clear-output --inplace {path.name})"
    )


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_starts_with_a_parameters_cell(path: Path) -> None:
    code = [c for c in _cells(path) if c["cell_type"] == "code"]
    first = code[0]
    assert "parameters" in first.get("metadata", {}).get("tags", []), path.name
    assert "KCAP_NB_FAST" in "".join(first["source"]), path.name


def execute(name: str, monkeypatch: pytest.MonkeyPatch, **env: str) -> float:
    """Run a notebook in ``notebooks/`` with ``KCAP_NB_FAST=1``; return the seconds it took.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell failed (the error names the cell).
    """
    nbformat = pytest.importorskip("nbformat", reason="the notebooks extra is not installed")
    nbclient = pytest.importorskip("nbclient", reason="the notebooks extra is not installed")
    pytest.importorskip("ipykernel", reason="the notebooks extra is not installed")
    pytest.importorskip("matplotlib", reason="the notebooks extra is not installed")
    monkeypatch.setenv("KCAP_NB_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "agg")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_SECS,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    started = time.monotonic()
    client.execute()
    return time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("data", ["sample", "auto"])
def test_explore_capture_runs(data: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the embedded sample, and on ../shared/real-data when it is there (else the sample)."""
    secs = execute("explore_capture.ipynb", monkeypatch, KCAP_NB_DATA=data)
    assert secs < FAST_LIMIT_SECS, f"explore_capture.ipynb took {secs:.0f} s in fast mode"


@pytest.mark.slow
def test_train_agent_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """On ../shared/real-data when it is there, else the sample: short PPO training."""
    pytest.importorskip("stable_baselines3", reason="the train extra is not installed")
    secs = execute("train_agent.ipynb", monkeypatch, KCAP_NB_DATA="auto")
    assert secs < FAST_LIMIT_SECS, f"train_agent.ipynb took {secs:.0f} s in fast mode"
