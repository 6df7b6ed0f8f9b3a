"""What every tooling test shares: buildah and podman called by their bare names."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _toolchain_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """The builders call buildah and podman by name, so that a recording stand-in on PATH
    answers: no tooling test installs the toolchain (a root of 480 MB). test_toolchain.py
    tests the toolchain's own command lines."""
    monkeypatch.setattr("tools.builders.libpod.toolchain", lambda program, *args: [program, *args])
