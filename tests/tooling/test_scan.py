"""The vulnerability gate's decisions, without trivy: the policy, the fixture database's
layout, the database's freshness, the report's reading, and the attested scan's age."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
from pathlib import Path

import pytest

from tools import debtools
from tools.process import BuildError
from tools.release import scanned
from tools.release.references import Pinned
from tools.scan import database, fixture, policy, result
from tools.scan.database import DatabaseRecord
from tools.scan.result import Finding, ImageScan, ScanResult

NOW = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)
STRICT = policy.ScanPolicy(("HIGH", "CRITICAL"), True, dt.timedelta(days=3), "r", ())


@pytest.mark.parametrize(
    ("severity", "fixed", "fail_unfixed", "fails"),
    [
        ("HIGH", "1.2", False, True),
        ("CRITICAL", "1.2", False, True),
        ("MEDIUM", "1.2", True, False),
        ("HIGH", "", False, False),
        ("HIGH", "", True, True),
        ("LOW", "", True, False),
    ],
)
def test_the_policy_fails_what_it_names(
    severity: str, fixed: str, fail_unfixed: bool, fails: bool
) -> None:
    chosen = dataclasses.replace(STRICT, fail_unfixed=fail_unfixed)
    assert chosen.fails(severity, fixed) is fails


def test_the_repositorys_policy_reads_and_names_its_vex() -> None:
    read = policy.read()
    assert read.severities == ("HIGH", "CRITICAL")
    assert read.fail_unfixed is False
    assert read.max_database_age == dt.timedelta(days=3)
    assert [p.name for p in read.vex] == ["vex.openvex.json"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('severities = ["HIGH", "SEVERE"]', r"\['SEVERE'\] are not trivy's"),
        ('vex = ["security/missing.json"]', "missing.json'] do not exist"),
        ("surprise = 1\nother = 2", "unknown keys other, surprise"),
        ("fail_unfixed = ", "policy.toml: .*see docs/scanning.md for its keys"),
    ],
)
def test_a_bad_policy_is_refused_and_named(tmp_path: Path, change: str, message: str) -> None:
    text = policy.POLICY_FILE.read_text()
    key = change.split(" = ", maxsplit=1)[0]
    lines = [line for line in text.splitlines() if not line.startswith(f"{key} =")]
    (bad := tmp_path / "policy.toml").write_text("\n".join([*lines, change]) + "\n")
    with pytest.raises(BuildError, match=message):
        policy.read(bad)


def test_the_fixture_lays_advisories_out_as_trivy_db_does() -> None:
    advisories = [
        fixture.Advisory("CVE-1", "debian", "openssl", "HIGH", "t", "3.0-1"),
        fixture.Advisory("CVE-2", "debian", "zlib", "LOW", "t"),
        fixture.Advisory("GHSA-3", "pip", "flask", "CRITICAL", "t", "9.0"),
    ]
    top = fixture.buckets(advisories)
    assert json.loads(top["debian 13"]["openssl"]["CVE-1"]) == {"FixedVersion": "3.0-1"}
    assert json.loads(top["debian 13"]["zlib"]["CVE-2"]) == {}
    assert json.loads(top["pip::GitHub Security Advisory pip"]["flask"]["GHSA-3"]) == {
        "PatchedVersions": ["9.0"],
        "VulnerableVersions": ["<9.0"],
    }
    assert json.loads(top["vulnerability"]["GHSA-3"])["Severity"] == "CRITICAL"
    assert set(top["data-source"]) == {"debian 13", "pip::GitHub Security Advisory pip"}
    with pytest.raises(BuildError, match="ecosystem 'npm' is not one of debian, pip"):
        fixture.buckets([fixture.Advisory("X", "npm", "left-pad", "HIGH", "t")])


def test_the_databases_reference_gets_the_schemas_tag() -> None:
    assert database.reference("127.0.0.1:5000/trivy-db") == "127.0.0.1:5000/trivy-db:2"
    assert database.reference("mirror/trivy-db:7") == "mirror/trivy-db:7"
    assert database.reference("mirror/trivy-db@sha256:ab") == "mirror/trivy-db@sha256:ab"


def record_made(updated: dt.datetime) -> DatabaseRecord:
    return DatabaseRecord("m/trivy-db", "sha256:d", "f" * 64, updated)


def test_a_database_just_inside_the_age_passes_and_just_outside_fails_closed() -> None:
    age = dt.timedelta(days=3)
    database.require_fresh(record_made(NOW - age), age, NOW)
    with pytest.raises(BuildError, match=r"3\.0 days ago; security/scan-policy.toml allows 3"):
        database.require_fresh(record_made(NOW - age - dt.timedelta(minutes=1)), age, NOW)


def test_no_database_or_another_schema_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no vulnerability database"):
        database.record(tmp_path)
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "trivy.db").write_bytes(b"bolt")
    (tmp_path / "db" / "metadata.json").write_text('{"Version": 1, "UpdatedAt": "x"}')
    with pytest.raises(BuildError, match="schema 1, this trivy reads 2"):
        database.record(tmp_path)


def report(image_id: str) -> dict[str, object]:
    vulns = [
        {"VulnerabilityID": "CVE-1", "PkgName": "libssl3t64", "InstalledVersion": "3.5",
         "FixedVersion": "3.6", "Severity": "HIGH", "Title": "t"},
        {"VulnerabilityID": "CVE-2", "PkgName": "zlib1g", "InstalledVersion": "1.3",
         "Severity": "CRITICAL"},
    ]  # fmt: skip
    return {
        "Metadata": {"ImageID": image_id},
        "Results": [{"Vulnerabilities": vulns}, {"Vulnerabilities": None}],
    }


def test_a_report_is_judged_by_the_policy_and_must_be_of_the_image() -> None:
    lenient = dataclasses.replace(STRICT, fail_unfixed=False)
    image = result.judged(report("sha256:a"), lenient, variant="slim", platform="linux/amd64",
                          image_id="sha256:a", path=Path("r.json"))  # fmt: skip
    assert [f.id for f in image.findings] == ["CVE-1", "CVE-2"]
    assert [f.id for f in image.failing] == ["CVE-1"]
    with pytest.raises(BuildError, match="trivy scanned sha256:b for slim"):
        result.judged(report("sha256:b"), lenient, variant="slim", platform="linux/amd64",
                      image_id="sha256:a", path=Path("r.json"))  # fmt: skip


def a_result(*failing: Finding) -> ScanResult:
    image = ImageScan("slim", "linux/amd64", "sha256:a", failing, failing, "r.json")
    return ScanResult("0.76.0", record_made(NOW), {"v.json": "ab"}, "cd", NOW, NOW, (image,))


def test_the_failure_names_the_finding_and_the_next_step() -> None:
    fixable = Finding("CVE-1", "libssl3t64", "3.5", "3.6", "HIGH", "t")
    message = a_result(fixable).failure()
    assert "slim (linux/amd64): CVE-1 HIGH in libssl3t64 3.5 (fixed in 3.6)" in message
    assert "`nox -s refresh`" in message
    unfixed = dataclasses.replace(fixable, fixed="")
    assert "no fix exists yet" in a_result(unfixed).failure()
    assert "`nox -s refresh`" not in a_result(unfixed).failure()
    assert a_result().passed
    assert not a_result(fixable).passed


def test_the_result_is_written_and_read_back(tmp_path: Path) -> None:
    written = a_result(Finding("CVE-1", "p", "1", "2", "HIGH", "t"))
    result.write(written, tmp_path / "result.json")
    assert result.read(tmp_path / "result.json") == written


def statement(finished: dt.datetime) -> dict[str, object]:
    return {"predicateType": scanned.PREDICATE_TYPE,
            "predicate": {"metadata": {"scanFinishedOn": database.stamp(finished)}}}  # fmt: skip


def test_the_newest_attested_scan_decides_scanned_within() -> None:
    image = Pinned.parse("127.0.0.1:5000/m@sha256:" + "a" * 64)
    scans = [statement(NOW - dt.timedelta(days=9)), statement(NOW - dt.timedelta(days=1))]
    assert scanned.require_within(scans, image, 2, NOW) == NOW - dt.timedelta(days=1)
    with pytest.raises(BuildError, match=r"1\.00 days ago; --scanned-within allows 0\.5"):
        scanned.require_within(scans, image, 0.5, NOW)
    with pytest.raises(BuildError, match="a vuln attestation is a other"):
        scanned.require_within([{"predicateType": "other"}], image, 2, NOW)


def test_every_field_of_a_finding_is_read_and_a_missing_one_has_its_default() -> None:
    found = result.findings_of(report("sha256:a"))
    assert found == [
        Finding("CVE-1", "libssl3t64", "3.5", "3.6", "HIGH", "t"),
        Finding("CVE-2", "zlib1g", "1.3", "", "CRITICAL", ""),
    ]
    bare = {"Results": [{"Vulnerabilities": [{"VulnerabilityID": "X", "PkgName": "p"}]}]}
    assert result.findings_of(bare) == [Finding("X", "p", "", "", "UNKNOWN", "")]
    assert result.findings_of({}) == []


def test_a_report_without_metadata_names_no_image_and_is_refused() -> None:
    with pytest.raises(BuildError, match="trivy scanned None for slim"):
        result.judged({}, STRICT, variant="slim", platform="linux/amd64", image_id="sha256:a",
                      path=Path("r.json"))  # fmt: skip


def test_the_judged_image_keeps_its_names() -> None:
    image = result.judged(report("sha256:a"), STRICT, variant="slim", platform="linux/arm64",
                          image_id="sha256:a", path=Path("build/r.json"))  # fmt: skip
    assert (image.variant, image.platform, image.image_id, image.report) == (
        "slim",
        "linux/arm64",
        "sha256:a",
        "build/r.json",
    )
    assert image.name == "slim (linux/arm64)"


def test_the_failure_reads_in_full() -> None:
    fixable = Finding("CVE-1", "libssl3t64", "3.5", "3.6", "HIGH", "t")
    unfixed = Finding("CVE-2", "zlib1g", "1.3", "", "CRITICAL", "u")
    assert a_result(fixable, unfixed).failure() == (
        "2 finding(s) fail security/scan-policy.toml:\n"
        "  slim (linux/amd64): CVE-1 HIGH in libssl3t64 3.5 (fixed in 3.6): t\n"
        "  slim (linux/amd64): CVE-2 CRITICAL in zlib1g 1.3 (no fix yet): u\n"
        "Debian or PyPI has a fix: `nox -s refresh` (relock, rebuild, scan again), then commit "
        "the locks; if one does not affect us, say why in security/vex.openvex.json "
        "(docs/scanning.md#vex)"
    )
    assert (
        a_result(unfixed)
        .failure()
        .endswith(
            "no fix exists yet; if one does not affect us, say why in security/vex.openvex.json "
            "(docs/scanning.md#vex)"
        )
    )


def test_the_written_result_says_whether_it_passed(tmp_path: Path) -> None:
    path = tmp_path / "not" / "yet" / "result.json"
    result.write(a_result(), path)
    assert json.loads(path.read_text())["passed"] is True
    result.write(a_result(Finding("CVE-1", "p", "1", "2", "HIGH", "t")), path)
    assert json.loads(path.read_text())["passed"] is False


def test_times_are_written_and_read_in_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")  # a machine whose local time is not UTC
    time.tzset()
    moscow = dt.timezone(dt.timedelta(hours=3))
    assert database.stamp(dt.datetime(2026, 12, 4, 15, 0, tzinfo=moscow)) == "2026-12-04T12:00:00Z"
    assert database.parse("2026-12-04T12:00:00Z") == NOW
    monkeypatch.delenv("TZ")
    time.tzset()


def test_a_registry_with_a_port_and_a_nested_repository_gets_the_tag_once() -> None:
    assert database.reference("127.0.0.1:5000/a/trivy-db") == "127.0.0.1:5000/a/trivy-db:2"
    assert database.reference("127.0.0.1:5000/a/trivy-db@sha256:ab") == (
        "127.0.0.1:5000/a/trivy-db@sha256:ab"
    )


def database_files(cache: Path, *, version: int = 2, source: bool = True) -> None:
    (cache / "db").mkdir(parents=True, exist_ok=True)
    (cache / "db" / "trivy.db").write_bytes(b"bolt")
    meta = {"Version": version, "UpdatedAt": "2026-12-04T12:00:00Z"}
    (cache / "db" / "metadata.json").write_text(json.dumps(meta))
    if source:
        where = {"repository": "mirror/trivy-db", "digest": "sha256:ab"}
        (cache / "db" / database.SOURCE_FILE).write_text(json.dumps(where))


def test_the_record_names_the_artifact_the_file_and_its_time(tmp_path: Path) -> None:
    database_files(tmp_path)
    assert database.record(tmp_path) == DatabaseRecord(
        "mirror/trivy-db", "sha256:ab", hashlib.sha256(b"bolt").hexdigest(), NOW
    )
    assert database.record(tmp_path).uri() == "oci://mirror/trivy-db@sha256:ab"
    no_digest = DatabaseRecord("mirror/trivy-db", None, "ef", NOW)
    assert no_digest.uri() == "file:trivy.db@sha256:ef"
    (tmp_path / "db" / database.SOURCE_FILE).unlink()  # placed by hand
    by_hand = database.record(tmp_path)
    assert (by_hand.repository, by_hand.digest) == (None, None)
    assert by_hand.uri() == f"file:trivy.db@sha256:{hashlib.sha256(b'bolt').hexdigest()}"


def test_half_a_database_is_no_database(tmp_path: Path) -> None:
    database_files(tmp_path)
    (tmp_path / "db" / "metadata.json").unlink()
    with pytest.raises(BuildError, match="no vulnerability database"):
        database.record(tmp_path)
    database_files(tmp_path)
    (tmp_path / "db" / "trivy.db").unlink()
    with pytest.raises(BuildError) as missing:
        database.record(tmp_path)
    assert str(missing.value).endswith(
        "Fetch one: `nox -s vulns` online, `nox -s vulns -- --db-repository MIRROR` from a "
        "mirror, or put trivy.db and metadata.json there by hand (docs/scanning.md)"
    )
    database_files(tmp_path, version=3)
    with pytest.raises(
        BuildError, match=r"schema 3, this trivy reads 2: fetch the database again"
    ):
        database.record(tmp_path)


class Recorded:
    """A runner that keeps each command instead of running it."""

    def __init__(self) -> None:
        self.commands: list[tuple[str, ...]] = []

    def __call__(self, *args: str, **kwargs: object) -> None:
        self.commands.append(args)


@pytest.mark.parametrize(
    ("repository", "plain"),
    [("127.0.0.1:5000/trivy-db", True), ("localhost:5000/trivy-db", True),
     ("ghcr.io/aquasecurity/trivy-db", False)],
)  # fmt: skip
def test_a_tag_is_resolved_to_a_digest_and_the_digest_pulled_and_recorded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, repository: str, plain: bool
) -> None:
    asked: list[tuple[str, ...]] = []
    run = Recorded()
    monkeypatch.setattr(debtools, "oras", lambda given: Path("/oras" if given is run else "/x"))

    def resolve(*args: str) -> str:
        asked.append(args)
        return "sha256:ab"

    monkeypatch.setattr(database, "capture", resolve)
    (tmp_path / "db").mkdir()
    database.fetch(run, repository, tmp_path)
    flag = ["--plain-http"] if plain else []
    assert asked == [("/oras", "resolve", *flag, f"{repository}:2")]
    pulled = ("trivy", "image", "--download-db-only", "--quiet", "--cache-dir", str(tmp_path))
    assert run.commands == [(*pulled, "--db-repository", f"{repository}@sha256:ab")]
    source = json.loads((tmp_path / "db" / database.SOURCE_FILE).read_text())
    assert source == {"repository": repository, "digest": "sha256:ab"}


def test_a_digest_given_is_pulled_as_it_is(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(debtools, "oras", lambda run: Path("/oras"))
    monkeypatch.setattr(database, "capture", lambda *a: pytest.fail("nothing to resolve"))
    (tmp_path / "db").mkdir()
    run = Recorded()
    database.fetch(run, "mirror:5000/trivy-db@sha256:cd", tmp_path)
    assert run.commands[0][-2:] == ("--db-repository", "mirror:5000/trivy-db@sha256:cd")
    source = json.loads((tmp_path / "db" / database.SOURCE_FILE).read_text())
    assert source == {"repository": "mirror:5000/trivy-db", "digest": "sha256:cd"}


def test_a_result_finds_an_image_by_its_id() -> None:
    scanned_result = a_result()
    assert scanned_result.image("sha256:a") is scanned_result.images[0]
    assert scanned_result.image("sha256:b") is None


def test_a_very_stale_database_says_how_old_and_what_next() -> None:
    with pytest.raises(BuildError) as stale:
        database.require_fresh(
            record_made(NOW - dt.timedelta(days=10000)), dt.timedelta(days=3), NOW
        )
    assert str(stale.value) == (
        "the vulnerability database was made 1999-07-19T12:00:00Z, 10000.0 days ago; "
        "security/scan-policy.toml allows 3: a scan against it is not clean. Fetch a fresh one: "
        "`nox -s vulns` (or `-- --db-repository MIRROR`)"
    )


def test_no_result_says_which_session_writes_it(tmp_path: Path) -> None:
    with pytest.raises(
        BuildError, match=r"result.json is missing: `nox -s vulns` scans the images"
    ):
        result.read(tmp_path / "result.json")


def test_an_attested_scan_exactly_at_the_limit_passes_and_the_refusal_reads_in_full() -> None:
    image = Pinned.parse("127.0.0.1:5000/m@sha256:" + "a" * 64)
    at_limit = [statement(NOW - dt.timedelta(days=2))]
    assert scanned.require_within(at_limit, image, 2, NOW) == NOW - dt.timedelta(days=2)
    old = [statement(NOW - dt.timedelta(days=10000))]
    with pytest.raises(BuildError) as refused:
        scanned.require_within(old, image, 2, NOW)
    assert str(refused.value) == (
        f"the newest vulnerability scan of {image} finished 1999-07-19T12:00:00Z, 10000.00 days "
        "ago; --scanned-within allows 2: scan the images again and release them again "
        "(`nox -s vulns`, then `nox -s release`)"
    )


def test_the_vuln_predicate_names_the_database_the_vex_and_the_times() -> None:
    failing = Finding("CVE-1", "libssl3t64", "3.5", "3.6", "HIGH", "t")
    image = ImageScan("slim", "linux/arm64", "sha256:a", (failing,), (), "r.json")
    done = dataclasses.replace(a_result(), images=(image,), finished=NOW + dt.timedelta(minutes=1))
    assert scanned.predicate(done, image) == {
        "invocation": {
            "parameters": {"policy": {"sha256": "cd"}, "vex": {"v.json": "ab"}},
            "uri": "",
            "event_id": "",
            "builder.id": "moscow-time: nox -s release (tools/scan/gate.py)",
        },
        "scanner": {
            "uri": "pkg:github/aquasecurity/trivy@v0.76.0",
            "version": "0.76.0",
            "db": {"uri": "oci://m/trivy-db@sha256:d", "version": "2026-12-04T12:00:00Z"},
            "result": {
                "imageID": "sha256:a",
                "platform": "linux/arm64",
                "database": record_made(NOW).as_json(),
                "passed": True,
                "findings": [failing.line()],
            },
        },
        "metadata": {
            "scanStartedOn": "2026-12-04T12:00:00Z",
            "scanFinishedOn": "2026-12-04T12:01:00Z",
        },
    }
    assert (
        scanned.predicate(done, dataclasses.replace(image, failing=(failing,)))["scanner"][
            "result"
        ]["passed"]
        is False
    )
