"""The SBOMs that `nox -s scan` writes list what is really in each image."""

from __future__ import annotations

import json
import re

import pytest
from packaging.utils import canonicalize_name

from tools.paths import ROOT, SBOM_DIR


def components(variant: str) -> list[dict[str, str]]:
    path = SBOM_DIR / f"{variant}.cdx.json"
    if not path.exists():
        pytest.fail(f"{path} is missing: `nox -s scan` writes it")
    return list(json.loads(path.read_text()).get("components", []))


def locked_pins() -> dict[str, str]:
    text = (ROOT / "requirements.txt").read_text()
    return {
        canonicalize_name(name): version
        for name, version in re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", text, re.MULTILINE)
    }


@pytest.mark.parametrize("variant", ["slim", "distroless"])
def test_sbom_lists_the_debian_packages(variant: str) -> None:
    debs = {c["name"] for c in components(variant) if c.get("purl", "").startswith("pkg:deb/")}
    # The distroless list only works if the status.d metadata does.
    assert {"base-files", "libc6", "libpython3.13-stdlib", "tzdata"} <= debs
    assert len(debs) >= 30


@pytest.mark.parametrize("variant", ["slim", "distroless"])
def test_sbom_lists_exactly_the_locked_python_packages(variant: str) -> None:
    listed = {
        canonicalize_name(c["name"]): c.get("version", "")
        for c in components(variant)
        if c.get("purl", "").startswith("pkg:pypi/")
    }
    assert listed == locked_pins()
