"""What a vulnerability scan found: one record per image, read from trivy's JSON report,
judged by the policy, written to build/scan/result.json and read back by the release
(which attests it). The one reader and writer of that file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.paths import BUILD
from tools.process import BuildError
from tools.scan.database import DatabaseRecord, parse, stamp
from tools.scan.policy import ScanPolicy

SCAN_DIR = BUILD / "scan"
RESULT_FILE = SCAN_DIR / "result.json"


@dataclasses.dataclass(frozen=True)
class Finding:
    """One advisory on one installed package, as trivy reports it after VEX."""

    id: str
    package: str
    installed: str
    fixed: str
    severity: str
    title: str

    def line(self) -> str:
        fix = f"fixed in {self.fixed}" if self.fixed else "no fix yet"
        return (
            f"{self.id} {self.severity} in {self.package} {self.installed} ({fix}): {self.title}"
        )


@dataclasses.dataclass(frozen=True)
class ImageScan:
    variant: str
    platform: str
    image_id: str
    findings: tuple[Finding, ...]
    failing: tuple[Finding, ...]
    report: str

    @property
    def name(self) -> str:
        return f"{self.variant} ({self.platform})"


def findings_of(report: Mapping[str, Any]) -> list[Finding]:
    """Every vulnerability of a trivy JSON report, OS packages and Python packages alike."""
    return [
        Finding(
            id=v["VulnerabilityID"],
            package=v["PkgName"],
            installed=v.get("InstalledVersion", ""),
            fixed=v.get("FixedVersion", ""),
            severity=v.get("Severity", "UNKNOWN"),
            title=v.get("Title", ""),
        )
        for result in report.get("Results", [])
        for v in result.get("Vulnerabilities") or []
    ]


def judged(
    report: Mapping[str, Any], policy: ScanPolicy, *, variant: str, platform: str, image_id: str,
    path: Path,
) -> ImageScan:  # fmt: skip
    """One image's report, checked to describe that image, with what fails the policy."""
    described = report.get("Metadata", {}).get("ImageID")
    if described != image_id:
        raise BuildError(
            f"trivy scanned {described} for {variant} ({platform}), the build record names "
            f"{image_id}: Docker holds another image under its tag; run `nox -s build`"
        )
    found = findings_of(report)
    failing = [f for f in found if policy.fails(f.severity, f.fixed)]
    return ImageScan(variant, platform, image_id, tuple(found), tuple(failing), str(path))


@dataclasses.dataclass(frozen=True)
class ScanResult:
    """One run of the gate over every image: what it ran with, and what it found."""

    scanner: str
    database: DatabaseRecord
    vex: dict[str, str]
    policy_sha256: str
    started: dt.datetime
    finished: dt.datetime
    images: tuple[ImageScan, ...]

    @property
    def passed(self) -> bool:
        return not any(image.failing for image in self.images)

    def image(self, image_id: str) -> ImageScan | None:
        return next((i for i in self.images if i.image_id == image_id), None)

    def failure(self) -> str:
        """What failed, image by image, and the next step for each kind."""
        lines = [f"{image.name}: {f.line()}" for image in self.images for f in image.failing]
        fixable = any(f.fixed for image in self.images for f in image.failing)
        advice = (
            "Debian or PyPI has a fix: `nox -s refresh` (relock, rebuild, scan again), then "
            "commit the locks"
            if fixable
            else "no fix exists yet"
        )
        return (
            f"{len(lines)} finding(s) fail security/scan-policy.toml:\n  " + "\n  ".join(lines)
            + f"\n{advice}; if one does not affect us, say why in security/vex.openvex.json "
            "(docs/scanning.md#vex)"
        )  # fmt: skip


def write(result: ScanResult, path: Path = RESULT_FILE) -> None:
    data = dataclasses.asdict(result)
    data |= {"database": result.database.as_json(), "started": stamp(result.started),
             "finished": stamp(result.finished), "passed": result.passed}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def image_scan(data: dict[str, Any]) -> ImageScan:
    found = {key: tuple(Finding(**f) for f in data[key]) for key in ("findings", "failing")}
    return ImageScan(**(data | found))


def read(path: Path = RESULT_FILE) -> ScanResult:
    if not path.is_file():
        raise BuildError(f"{path} is missing: `nox -s vulns` scans the images and writes it")
    data = json.loads(path.read_text())
    images = tuple(image_scan(i) for i in data["images"])
    return ScanResult(
        scanner=data["scanner"],
        database=DatabaseRecord.from_json(data["database"]),
        vex=data["vex"],
        policy_sha256=data["policy_sha256"],
        started=parse(data["started"]),
        finished=parse(data["finished"]),
        images=images,
    )
