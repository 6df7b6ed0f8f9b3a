"""trivy, offline: the command lines of the config, secret and SBOM scans.

trivy's embedded checks run with no network. The vulnerability scan needs a
database and a policy: it is the gate's (tools/scan/gate.py).
"""

from __future__ import annotations

from pathlib import Path

from tools.paths import TRIVY_CACHE

#: Never reach for newer checks or a database while scanning.
OFFLINE = ("--skip-check-update", "--skip-db-update")
ENV = {"TRIVY_CACHE_DIR": str(TRIVY_CACHE)}


def config_scan(*targets: str) -> list[str]:
    """Misconfiguration checks with the embedded rules; a finding fails."""
    return ["trivy", "config", "--skip-check-update", "--exit-code", "1", *targets]


def repository_scan() -> list[str]:
    """The repository's own config files, minus what the sessions produce."""
    return config_scan(
        "--ignorefile", ".trivyignore.yaml", "--skip-dirs", "build", "--skip-dirs", ".nox", "."
    )


def image_scan(image: str) -> list[str]:
    """Secrets and misconfigurations in an image and its config; a finding fails."""
    return [
        "trivy",
        "image",
        *OFFLINE,
        "--scanners",
        "secret,misconfig",
        "--image-config-scanners",
        "misconfig,secret",
        "--exit-code",
        "1",
        image,
    ]


def sbom(image: str, output: Path) -> list[str]:
    """A CycloneDX SBOM of an image: Debian packages and Python wheels."""
    return ["trivy", "image", *OFFLINE, "--format", "cyclonedx", "--output", str(output), image]
