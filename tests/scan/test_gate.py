"""The vulnerability gate over the real images, against the planted database (conftest):
it fails on a fixed advisory and names it, passes once a VEX statement covers it, counts an
unfixed one only if the policy says so, and fails closed with no database or a stale one."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from tools.paths import SCAN_TESTS
from tools.process import BuildError, run_shown
from tools.scan import fixture, gate
from tools.scan.policy import ScanPolicy
from tools.scan.result import ScanResult


def failing_ids(result: ScanResult) -> set[str]:
    return {f.id for image in result.images for f in image.failing}


def scanned(chosen: ScanPolicy, targets: list[gate.Target], cache: Path, out: Path) -> ScanResult:
    return gate.scan(run_shown, targets, chosen, cache=cache, outdir=out)


def test_the_gate_fails_on_the_planted_fixed_advisories_and_names_them(
    planted_policy: ScanPolicy, host_targets: list[gate.Target], fetched: Path, tmp_path: Path
) -> None:
    result = scanned(planted_policy, host_targets, fetched, tmp_path)
    assert failing_ids(result) == {"CVE-2099-0001", "GHSA-mtpl-2099-0002"}
    with pytest.raises(BuildError) as failed:
        gate.require_passed(result)
    message = str(failed.value)
    for expected in ("CVE-2099-0001 HIGH in libssl3t64", "fixed in 9.9.9-1", "flask",
                     "GHSA-mtpl-2099-0002 CRITICAL", "slim (linux/", "distroless (linux/",
                     "`nox -s refresh`"):  # fmt: skip
        assert expected.lower() in message.lower(), message
    for target in host_targets:
        sarif = json.loads((tmp_path / f"{target.stem}.sarif").read_text())
        rules = {r["id"] for run in sarif["runs"] for r in run["tool"]["driver"]["rules"]}
        assert "CVE-2099-0001" in rules
        assert "CVE-2099-0001" in (tmp_path / f"{target.stem}.txt").read_text()


def test_it_passes_once_a_vex_statement_covers_them(
    planted_policy: ScanPolicy, host_targets: list[gate.Target], fetched: Path, tmp_path: Path
) -> None:
    covering = SCAN_TESTS / "covering.vex.json"
    result = scanned(planted_policy.with_vex(covering), host_targets, fetched, tmp_path)
    gate.require_passed(result)
    assert result.passed
    assert "covering.vex.json" in result.vex


def test_the_vex_document_is_what_removes_the_covered_advisory(
    planted_policy: ScanPolicy, host_targets: list[gate.Target], fetched: Path, tmp_path: Path
) -> None:
    assert "CVE-2099-0004" in failing_ids(
        scanned(dataclasses.replace(planted_policy, vex=()), host_targets, fetched, tmp_path)
    )


def test_an_unfixed_advisory_fails_only_if_the_policy_says_so(
    planted_policy: ScanPolicy, host_targets: list[gate.Target], fetched: Path, tmp_path: Path
) -> None:
    strict = dataclasses.replace(planted_policy, fail_unfixed=True)
    result = scanned(strict, host_targets, fetched, tmp_path)
    assert "CVE-2099-0003" in failing_ids(result)
    found = {f.id for image in result.images for f in image.findings}
    assert "CVE-2099-0003" in found
    lenient = scanned(planted_policy, host_targets, fetched, tmp_path)
    assert "CVE-2099-0003" not in failing_ids(lenient)
    assert "CVE-2099-0003" in {f.id for image in lenient.images for f in image.findings}


def test_no_database_fails_closed(
    planted_policy: ScanPolicy, host_targets: list[gate.Target], tmp_path: Path
) -> None:
    with pytest.raises(BuildError, match=r"no vulnerability database .* is not clean"):
        scanned(planted_policy, host_targets, tmp_path / "empty-cache", tmp_path)


def test_a_database_older_than_the_policy_allows_fails_closed(
    planted_policy: ScanPolicy, host_targets: list[gate.Target], tmp_path: Path,
    fixture_workdir: Path,
) -> None:  # fmt: skip
    old = dt.datetime.now(dt.UTC) - planted_policy.max_database_age - dt.timedelta(hours=1)
    cache = tmp_path / "cache"
    fixture.write_database(fixture.read(SCAN_TESTS / "advisories.yaml"), cache / "db", updated=old,
                           workdir=fixture_workdir)  # fmt: skip
    with pytest.raises(BuildError, match=r"days ago; security/scan-policy.toml allows 3"):
        scanned(planted_policy, host_targets, cache, tmp_path)


def test_the_result_names_the_database_by_digest_and_its_time(
    planted_policy: ScanPolicy, host_targets: list[gate.Target], fetched: Path, tmp_path: Path,
    db_repository: str,
) -> None:  # fmt: skip
    result = scanned(planted_policy, host_targets, fetched, tmp_path)
    assert result.database.repository == db_repository
    assert (result.database.digest or "").startswith("sha256:")
    assert dt.datetime.now(dt.UTC) - result.database.updated_at < dt.timedelta(hours=1)
    assert set(result.vex) == {"vex.openvex.json", "planted.vex.json"}
