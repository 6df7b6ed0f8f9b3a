"""The vulnerability scan as a signed attestation: cosign's `vuln` predicate, made from the
gate's result for one platform's image, and read back by `verify-release` (how old is the
newest scan?). It names the database's digest and time and each VEX document's digest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tools.process import BuildError
from tools.release.references import Pinned
from tools.scan.database import parse, stamp
from tools.scan.result import ImageScan, ScanResult

COSIGN_TYPE = "vuln"
PREDICATE_TYPE = "https://cosign.sigstore.dev/attestation/vuln/v1"


def predicate(result: ScanResult, image: ImageScan) -> dict[str, Any]:
    """cosign's vuln predicate (invocation, scanner with its db and result, metadata)."""
    return {
        "invocation": {
            "parameters": {"policy": {"sha256": result.policy_sha256}, "vex": result.vex},
            "uri": "",
            "event_id": "",
            "builder.id": "moscow-time: nox -s release (tools/scan/gate.py)",
        },
        "scanner": {
            "uri": f"pkg:github/aquasecurity/trivy@v{result.scanner}",
            "version": result.scanner,
            "db": {"uri": result.database.uri(), "version": stamp(result.database.updated_at)},
            "result": {
                "imageID": image.image_id,
                "platform": image.platform,
                "database": result.database.as_json(),
                "passed": not image.failing,
                "findings": [f.line() for f in image.findings],
            },
        },
        "metadata": {
            "scanStartedOn": stamp(result.started),
            "scanFinishedOn": stamp(result.finished),
        },
    }


def finished(statement: dict[str, Any]) -> dt.datetime:
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise BuildError(f"a vuln attestation is a {statement.get('predicateType')}")
    return parse(statement["predicate"]["metadata"]["scanFinishedOn"])


def require_within(
    statements: list[dict[str, Any]], image: Pinned, days: float, now: dt.datetime
) -> dt.datetime:
    """The newest scan of the image; a BuildError when it is older than `days`."""
    newest = max(finished(s) for s in statements)
    if now - newest > dt.timedelta(days=days):
        age = (now - newest).total_seconds() / 86400
        raise BuildError(
            f"the newest vulnerability scan of {image} finished {stamp(newest)}, {age:.2f} days "
            f"ago; --scanned-within allows {days:g}: scan the images again and release them "
            "again (`nox -s vulns`, then `nox -s release`)"
        )
    return newest
