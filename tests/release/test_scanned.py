"""The vulnerability scan travels with the release: each platform's manifest carries the
gate's result as a signed `vuln` attestation naming the database and the VEX documents, an
image the gate failed is not released, and `--scanned-within` refuses an old scan."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from tools.builders import Builder
from tools.images.record import BuildRecord
from tools.process import BuildError, run_shown
from tools.release import scanned
from tools.release.consumer import verify
from tools.release.references import Repository
from tools.release.release import KeyPair, Release, Released
from tools.release.signing import Cosign
from tools.scan.result import Finding, ScanResult


def test_each_platforms_scan_is_attested_with_its_database_and_vex(
    released: dict[str, Released], cosign: Cosign, keys: KeyPair, scan: ScanResult
) -> None:
    for r in released.values():
        for verified in verify(cosign, r.image, keys.public):
            (statement,) = verified.scans
            predicate = statement["predicate"]
            assert statement["predicateType"] == scanned.PREDICATE_TYPE
            db = predicate["scanner"]["db"]
            assert db["uri"] == f"oci://{scan.database.repository}@{scan.database.digest}"
            assert db["version"] == predicate["scanner"]["result"]["database"]["updatedAt"]
            assert predicate["invocation"]["parameters"]["vex"] == scan.vex
            image_id = r.image_ids[verified.platform]
            assert predicate["scanner"]["result"]["imageID"] == image_id
            assert predicate["scanner"]["result"]["passed"] is True
            finished = scanned.require_within(
                verified.scans, verified.image, 1, dt.datetime.now(dt.UTC)
            )
            assert finished == scan.finished.replace(microsecond=0)
            with pytest.raises(BuildError, match="--scanned-within allows 0"):
                scanned.require_within(verified.scans, verified.image, 0, dt.datetime.now(dt.UTC))


def test_an_image_the_gate_failed_is_not_released(
    *, builder: Builder, cosign: Cosign, registry_for_refusals: Repository, keys: KeyPair,
    record: BuildRecord, scan: ScanResult, tmp_path_factory: pytest.TempPathFactory,
) -> None:  # fmt: skip
    planted = Finding("CVE-2099-0001", "libssl3t64", "3.5", "9.9.9-1", "HIGH", "planted")
    first, *rest = scan.images
    failed = dataclasses.replace(first, failing=(planted,))
    failing = dataclasses.replace(scan, images=(failed, *rest))
    release = Release(run_shown, builder, cosign=cosign, repository=registry_for_refusals,
                      key=keys, record=record, scan=failing,
                      workdir=tmp_path_factory.mktemp("refused"))  # fmt: skip
    with pytest.raises(
        BuildError,
        match=rf"{first.variant} \({first.platform}\) has no passing vulnerability scan",
    ):
        release.all()
