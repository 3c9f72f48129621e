"""The installed package: what a type checker and a user's tools see."""

from __future__ import annotations

from importlib.metadata import metadata
from importlib.resources import files


def test_typed_marker_ships_with_the_package() -> None:
    # PEP 561: without py.typed, mypy ignores kcap's annotations in users' code, whatever the
    # "Typing :: Typed" classifier says
    assert "Typing :: Typed" in (metadata("kcap").get_all("Classifier") or [])
    assert (files("kcap") / "py.typed").is_file()
