"""The gate's fixture database: tests/scan/advisories.yaml made into trivy's format, served
by a loopback registry as trivy's OCI artifact, and fetched by digest as the gate does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.images import record
from tools.paths import SCAN_TESTS
from tools.process import run_shown
from tools.release.registry import LoopbackRegistry
from tools.scan import fixture, gate, policy
from tools.scan.policy import ScanPolicy

ADVISORIES = SCAN_TESTS / "advisories.yaml"
PLANTED_VEX = SCAN_TESTS / "planted.vex.json"


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackRegistry]:
    with LoopbackRegistry(tmp_path_factory.mktemp("registry") / "storage") as served:
        yield served


@pytest.fixture(scope="session")
def fixture_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fixture")


@pytest.fixture(scope="session")
def db_repository(registry: LoopbackRegistry) -> str:
    """Where the planted database is served, as `--db-repository` takes it."""
    return f"{registry.address}/trivy-db"


@pytest.fixture(scope="session")
def fetched(db_repository: str, fixture_workdir: Path) -> Path:
    """A trivy cache holding the planted database, pulled by digest the gate's way."""
    return fixture.fetched(run_shown, ADVISORIES, fixture_workdir, db_repository)


@pytest.fixture
def planted_policy() -> ScanPolicy:
    """The repository's policy, with the planted advisory's VEX statement beside its own."""
    return policy.read().with_vex(PLANTED_VEX)


@pytest.fixture(scope="session")
def host_targets() -> list[gate.Target]:
    """The host platform's images, as the last build recorded them."""
    built = record.require()
    return gate.targets(built, [image.platform for image in built.host_images])
