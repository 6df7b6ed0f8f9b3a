"""A loopback registry, throwaway keys and one release of both built images, per test run.

Everything is real: Debian's docker-registry, Debian 13's cosign and skopeo,
the images `nox -s build` made. Keys are made here and never leave tmp.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import builders, debtools
from tools.builders import Builder
from tools.images import record as build_record
from tools.images.record import BuildRecord
from tools.paths import SCAN_TESTS
from tools.process import run_shown
from tools.release.policy import Gate
from tools.release.references import Repository
from tools.release.registry import LoopbackRegistry
from tools.release.release import KeyPair, Release, Released
from tools.release.signing import Cosign
from tools.scan import fixture, policy
from tools.scan import gate as vulngate
from tools.scan.result import ScanResult


@pytest.fixture(scope="session")
def record() -> BuildRecord:
    found = build_record.read()
    if found is None:
        pytest.fail("no build record: run `nox -s build` first")
    return found


@pytest.fixture(scope="session")
def builder(record: BuildRecord) -> Builder:
    return builders.named_builder(record.plan.builder)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackRegistry]:
    with LoopbackRegistry(tmp_path_factory.mktemp("registry") / "storage") as running:
        yield running


@pytest.fixture(scope="session")
def repository(registry: LoopbackRegistry) -> Repository:
    return Repository(registry.address, "moscow-time")


@pytest.fixture(scope="session")
def registry_for_refusals(registry: LoopbackRegistry) -> Repository:
    """A repository of its own, for releases that must stop part-way."""
    return Repository(registry.address, "moscow-time-refused")


@pytest.fixture(scope="session")
def cosign() -> Cosign:
    os.environ.setdefault("COSIGN_PASSWORD", "")
    return Cosign(debtools.cosign(run_shown))


def make_keys(cosign: Cosign, directory: Path) -> KeyPair:
    private, _ = cosign.generate_key_pair(directory / "cosign")
    return KeyPair.beside(private)


@pytest.fixture(scope="session")
def keys(cosign: Cosign, tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keys(cosign, tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="session")
def other_keys(cosign: Cosign, tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return make_keys(cosign, tmp_path_factory.mktemp("other-keys"))


@pytest.fixture(scope="session")
def release_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("release")


@pytest.fixture(scope="session")
def scan(
    record: BuildRecord, registry: LoopbackRegistry, tmp_path_factory: pytest.TempPathFactory
) -> ScanResult:
    """The vulnerability gate over the planted database (tests/scan), every planted
    advisory it would fail on covered by VEX: a passing result to release with."""
    workdir = tmp_path_factory.mktemp("scan")
    repository = f"{registry.address}/trivy-db"
    cache = fixture.fetched(run_shown, SCAN_TESTS / "advisories.yaml", workdir, repository)
    vex = (SCAN_TESTS / "planted.vex.json", SCAN_TESTS / "covering.vex.json")
    chosen = policy.read().with_vex(*vex)
    result = vulngate.scan(
        run_shown, vulngate.targets(record), chosen, cache=cache, outdir=workdir
    )
    vulngate.require_passed(result)
    return result


@pytest.fixture(scope="session")
def released(
    *,
    builder: Builder,
    cosign: Cosign,
    repository: Repository,
    keys: KeyPair,
    record: BuildRecord,
    release_dir: Path,
    scan: ScanResult,
) -> dict[str, Released]:
    release = Release(
        run_shown,
        builder,
        cosign=cosign,
        repository=repository,
        key=keys,
        record=record,
        scan=scan,
        workdir=release_dir,
    )
    return {r.variant: r for r in release.all()}


@pytest.fixture(scope="session")
def skopeo() -> debtools.ChrootSkopeo:
    if os.geteuid() != 0:
        pytest.skip("the policy gate runs Debian 13's skopeo through chroot, which needs root")
    return debtools.ChrootSkopeo(run_shown)


@pytest.fixture(scope="session")
def gate(skopeo: debtools.ChrootSkopeo, repository: Repository, keys: KeyPair) -> Gate:
    return Gate(skopeo, repository, keys.public)
