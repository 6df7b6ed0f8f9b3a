"""The vulnerability gate: trivy scans each image of every platform the build recorded,
against one database that must be present and fresh, with the policy's VEX documents;
the policy judges the findings; the table, JSON and SARIF of each image land in
build/scan/, and a failure says which CVE, package, image and fix, and what to do."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from tools.images.record import BuildRecord
from tools.model import PLATFORMS
from tools.paths import TRIVY_CACHE
from tools.process import BuildError, Runner, capture, say
from tools.scan import database
from tools.scan.policy import POLICY_FILE, ScanPolicy
from tools.scan.policy import read as read_policy
from tools.scan.result import SCAN_DIR, ImageScan, ScanResult, judged, write
from tools.tables import table

#: Each image's report in every format: SARIF for code-scanning pages, a table to read.
FORMATS = {"sarif": "sarif", "table": "txt"}


@dataclasses.dataclass(frozen=True)
class Target:
    """One image to scan: its tag in Docker, and the ID the build recorded for it."""

    variant: str
    platform: str
    tag: str
    image_id: str

    @property
    def stem(self) -> str:
        return f"{self.variant}.{PLATFORMS[self.platform].debian}"


def targets(record: BuildRecord, platforms: Sequence[str] | None = None) -> list[Target]:
    """Every recorded image, or those of the named platforms."""
    return [
        Target(b.variant, b.platform, b.tag, b.image_id)
        for b in record.images
        if platforms is None or b.platform in platforms
    ]


def scan_command(target: Target, policy: ScanPolicy, cache: Path, output: Path) -> list[str]:
    """Every severity, fixed or not, reported (the policy judges); never a network fetch."""
    vex = [arg for document in policy.vex for arg in ("--vex", str(document))]
    return ["trivy", "image", "--cache-dir", str(cache), "--skip-db-update",
            "--skip-java-db-update", "--scanners", "vuln", *vex, "--format", "json",
            "--output", str(output), "--quiet", target.tag]  # fmt: skip


def digests(*paths: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def scan(
    run: Runner,
    chosen: Sequence[Target],
    policy: ScanPolicy,
    *,
    cache: Path,
    outdir: Path = SCAN_DIR,
    policy_file: Path = POLICY_FILE,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> ScanResult:
    """Scan, judge and write; the result (build/scan/result.json). No database, or a stale
    one, is a BuildError before anything is scanned: the gate fails closed."""
    started = clock()
    used = database.record(cache)
    database.require_fresh(used, policy.max_database_age, started)
    outdir.mkdir(parents=True, exist_ok=True)
    images: list[ImageScan] = []
    for target in chosen:
        report = outdir / f"{target.stem}.json"
        run(*scan_command(target, policy, cache, report))
        for form, suffix in FORMATS.items():
            converted = outdir / f"{target.stem}.{suffix}"
            run("trivy", "convert", "--quiet", "--format", form, "--output", str(converted),
                str(report))  # fmt: skip
        images.append(judged(json.loads(report.read_text()), policy, variant=target.variant,
                             platform=target.platform, image_id=target.image_id,
                             path=report))  # fmt: skip
    result = ScanResult(
        scanner=capture("trivy", "--version").splitlines()[0].removeprefix("Version: "),
        database=used,
        vex=digests(*policy.vex),
        policy_sha256=hashlib.sha256(policy_file.read_bytes()).hexdigest(),
        started=started,
        finished=clock(),
        images=tuple(images),
    )
    write(result, outdir / "result.json")
    return result


def require_passed(result: ScanResult) -> None:
    if not result.passed:
        raise BuildError(result.failure())


def summary(result: ScanResult) -> list[list[str]]:
    """A table's rows: each image, what was found, and what fails."""
    rows = [["image", "findings", "failing", "report"]]
    for image in result.images:
        rows.append([image.name, str(len(image.findings)), str(len(image.failing)), image.report])
    return rows


@dataclasses.dataclass(frozen=True)
class GateOptions:
    """Where the database comes from, and the VEX documents beside the policy's."""

    db_repository: str | None = None
    vex: tuple[Path, ...] = ()
    offline: bool = False

    @classmethod
    def of(cls, options: argparse.Namespace) -> GateOptions:
        return cls(options.db_repository, tuple(options.vex), options.offline)


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db-repository",
        metavar="REPO[@DIGEST]",
        help="fetch trivy's database from this mirror (default: the policy's)",
    )
    parser.add_argument(
        "--vex",
        type=Path,
        action="append",
        default=[],
        metavar="OPENVEX",
        help="another OpenVEX document, beside the policy's",
    )
    parser.add_argument(
        "--offline", action="store_true", help="fetch nothing: scan against the cached database"
    )


def run_gate(
    run: Runner, record: BuildRecord, options: GateOptions, *, cache: Path = TRIVY_CACHE
) -> ScanResult:
    """Fetch the database (unless offline; a failed fetch keeps the cached one, which must
    still be fresh), scan every recorded image, print what was found; BuildError on failure."""
    policy = read_policy().with_vex(*options.vex)
    if not options.offline:
        repository = options.db_repository or policy.database_repository
        try:
            database.fetch(run, repository, cache)
        except BuildError as error:
            say(f"the database was not fetched from {repository} ({error}); the cached one, "
                "if any, is used")  # fmt: skip
    result = scan(run, targets(record), policy, cache=cache)
    used = result.database
    print(f"database {used.uri()}, made {database.stamp(used.updated_at)}; VEX: "
          f"{', '.join(result.vex) or 'none'}")  # fmt: skip
    print(table(summary(result)))
    require_passed(result)
    return result
