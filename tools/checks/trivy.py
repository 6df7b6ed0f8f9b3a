"""trivy, offline: the command lines of every scan the project runs.

trivy's embedded checks run with no network; its vulnerability database
cannot be downloaded here, so the vulnerability scan runs only where it can
(`vulnerability_db_ready`), and the session says when it did not.
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


def vulnerability_scan(image: str) -> list[str]:
    """HIGH and CRITICAL vulnerabilities with a fix; one fails the scan."""
    return [
        "trivy",
        "image",
        *OFFLINE,
        "--scanners",
        "vuln",
        "--severity",
        "HIGH,CRITICAL",
        "--ignore-unfixed",
        "--exit-code",
        "1",
        image,
    ]


def download_db() -> list[str]:
    return ["trivy", "image", "--download-db-only", "--timeout", "2m", "--quiet"]


def vulnerability_db_cached() -> bool:
    return (TRIVY_CACHE / "db" / "trivy.db").exists()
