"""tools.images.platforms and the reproduce plan: which platforms a build covers, and how."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.images import platforms
from tools.model import PLATFORMS, VARIANTS, host_platform
from tools.process import BuildError
from tools.rebuild import reproduce
from tools.settings import PLATFORMS_ENV, Settings

HOST = host_platform()
OTHER = next(each for each in PLATFORMS.values() if each != HOST)


def test_nothing_asked_builds_the_hosts_platform_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PLATFORMS_ENV, "all")  # read by Settings, never by parse
    assert platforms.parse(None) == [HOST]


@pytest.mark.parametrize("asked", ["all", "linux/arm64,linux/amd64", f" {OTHER.name} "])
def test_the_host_comes_first_and_is_always_built(asked: str) -> None:
    assert platforms.parse(asked) == [HOST, OTHER]


def test_the_environment_names_the_default_platforms() -> None:
    assert Settings.read({PLATFORMS_ENV: " all "}).platforms == "all"
    assert Settings.read({PLATFORMS_ENV: ""}).platforms is None


def test_an_unknown_platform_is_an_error_naming_the_known_ones() -> None:
    with pytest.raises(BuildError, match=r"unknown platform linux/riscv64: use `all` or .*"):
        platforms.parse("linux/amd64,linux/riscv64")


def test_emulation_is_checked_only_for_foreign_platforms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platforms, "BINFMT", tmp_path)
    assert platforms.missing_emulation([HOST]) is None
    message = platforms.missing_emulation([HOST, OTHER])
    assert message is not None
    assert "bin/setup --for test" in message
    (tmp_path / "status").write_text("enabled\n")
    message = platforms.missing_emulation([HOST, OTHER])
    assert message is not None
    assert "bin/setup --for test" in message
    assert "registers" in message
    assert OTHER.name in message
    (tmp_path / f"qemu-{OTHER.machine}").write_text("enabled\n")
    assert platforms.missing_emulation([HOST, OTHER]) is None


def test_reproduce_builds_every_variant_on_every_platform_the_hosts_first() -> None:
    builds = reproduce.reproduce_plan([HOST, OTHER])
    assert [(variant.name, each) for variant, each in builds] == [
        (name, each) for each in (HOST, OTHER) for name in VARIANTS
    ]
    assert [each for _, each in reproduce.reproduce_plan([HOST])] == [HOST] * len(VARIANTS)
