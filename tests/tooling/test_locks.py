"""The locks are hash-pinned, machine-neutral and in step with their .in files.

`nox -s lock -- --check` recompiles against PyPI; these checks need no network.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tools.inputs.piplocks import pinned
from tools.model import PIP_LOCKS
from tools.paths import ROOT
from tools.process import BuildError

LOCKS = {pip_lock.lock: pip_lock.source for pip_lock in PIP_LOCKS}
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+)")
MACHINE_SPECIFIC = re.compile(
    r"--(extra-)?index-url|--find-links|^-f |file:/|^\s*/|\s/(opt|home|tmp|root)/"
)


def pins(lock: str) -> dict[str, tuple[str, list[str]]]:
    """Map each pinned name to its version and hashes."""
    found: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in (ROOT / lock).read_text().splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match["name"])
            found[name] = (match["version"], [])
        elif hashed := re.match(r"\s+--hash=(sha256:[0-9a-f]{64})", line):
            found[name][1].append(hashed[1])
    return found


def requirements(source: str) -> list[Requirement]:
    lines = (ROOT / source).read_text().splitlines()
    return [
        Requirement(line.split("#", 1)[0].strip())
        for line in lines
        if line.strip() and not line.lstrip().startswith(("#", "-"))
    ]


def direct_pins(lock: str, source: str) -> set[str]:
    """Names the lock says it pins because the .in file asked for them."""
    text = (ROOT / lock).read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    return {
        canonicalize_name(match["name"])
        for block in blocks
        if (match := PIN.match(block)) and f"-r {source}" in block
    }


@pytest.mark.parametrize("lock", LOCKS)
def test_every_pin_is_exact_and_hashed(lock: str) -> None:
    found = pins(lock)
    assert found
    for name, (_, hashes) in found.items():
        assert hashes, f"{lock}: {name} has no hash"


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_names_no_machine_specific_index_or_path(lock: str) -> None:
    offending = [
        line for line in (ROOT / lock).read_text().splitlines() if MACHINE_SPECIFIC.search(line)
    ]
    assert offending == []


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_header_names_the_command_that_regenerates_it(lock: str) -> None:
    assert "#    nox -s lock\n" in (ROOT / lock).read_text()


@pytest.mark.parametrize(("lock", "source"), LOCKS.items())
def test_lock_is_not_stale_relative_to_its_in_file(lock: str, source: str) -> None:
    found = pins(lock)
    wanted = requirements(source)
    for requirement in wanted:
        name = canonicalize_name(requirement.name)
        assert name in found, f"{source} asks for {name}, {lock} does not pin it"
        version = found[name][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {name}=={version}, outside {source}'s {requirement.specifier}"
        )
    # And nothing is pinned for a line that has since left the .in file.
    assert direct_pins(lock, source) == {canonicalize_name(r.name) for r in wanted}


def test_dev_lock_agrees_with_the_runtime_lock() -> None:
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    for name in runtime.keys() & dev.keys():
        assert runtime[name][0] == dev[name][0], f"{name} differs between the locks"


def test_runtime_lock_holds_the_zone_rules() -> None:
    assert "tzdata" in pins("requirements.txt")


def test_one_pin_comes_out_with_all_its_hashes_and_nothing_else(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    lock.write_text(
        "nox==1.0 \\\n    --hash=sha256:aa \\\n    --hash=sha256:bb\n    # via -r x.in\n"
        "uv==0.1 \\\n    --hash=sha256:cc \\\n    --hash=sha256:dd\n    # via -r x.in\n"
        "uvicorn==2.0 \\\n    --hash=sha256:ee\n"
    )
    assert pinned(lock, "UV") == "uv==0.1 \\\n    --hash=sha256:cc \\\n    --hash=sha256:dd\n"


def test_a_missing_pin_says_how_to_add_it(tmp_path: Path) -> None:
    lock = tmp_path / "requirements-dev.txt"
    lock.write_text("nox==1.0 \\\n    --hash=sha256:aa\n")
    expected = r"pins no uv: add it to its \.in file, run `nox -s lock`"
    with pytest.raises(BuildError, match=expected):
        pinned(lock, "uv")


def test_ci_can_install_uv_from_the_dev_lock_before_anything_else() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tools.inputs.piplocks", "requirements-dev.txt", "uv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("uv==")
    assert result.stdout.count("--hash=sha256:") >= 2
