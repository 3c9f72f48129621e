"""scripts/build_sample.py: reproducible, and the committed sample is what it builds."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from kcap import sample
from kcap.replay.readers import read_capture

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "build_sample.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_sample", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def records(path: Path) -> list[tuple[object, ...]]:
    out = []
    for b in read_capture(path):
        frames = [None if f is None else bytes(f) for f in b.frame]
        out.extend(
            zip(b.kind, b.conn, b.rec, b.recv_ns, b.mono_ns, b.origin, b.info, frames, strict=True)
        )
    return out


@pytest.mark.slow
def test_build_is_byte_reproducible_and_matches_the_committed_sample(
    real_data: Path, tmp_path: Path
) -> None:
    build = load_script()
    first, second = tmp_path / "a", tmp_path / "b"
    assert build.main(["--real-data", str(real_data), "--out", str(first)]) == 0
    assert build.main(["--real-data", str(real_data), "--out", str(second)]) == 0
    assert files(first) == files(second)
    committed = sample.directory()
    assert sorted(files(first)) == sorted(files(committed))
    for name, data in files(first).items():
        if name.endswith(".parquet"):
            # Parquet bytes also depend on the pyarrow version: compare the records
            assert records(first / name) == records(committed / name), name
        else:
            assert data == (committed / name).read_bytes(), name


def test_build_refuses_a_missing_real_data_directory(tmp_path: Path) -> None:
    build = load_script()
    assert build.main(["--real-data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 1
