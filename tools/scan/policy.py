"""The gate's policy, one reviewed file (security/scan-policy.toml): which findings fail,
whether an unfixed one does, how old the database may be, where it comes from, and the VEX
documents that apply. One reader; every decision about a finding is made here."""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from pathlib import Path

from tools.paths import ROOT
from tools.process import BuildError

POLICY_FILE = ROOT / "security" / "scan-policy.toml"
SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")


@dataclasses.dataclass(frozen=True)
class ScanPolicy:
    severities: tuple[str, ...]
    fail_unfixed: bool
    max_database_age: dt.timedelta
    database_repository: str
    vex: tuple[Path, ...]

    def fails(self, severity: str, fixed_version: str) -> bool:
        """Whether a finding of this severity, fixed in that version ("" when unfixed), fails."""
        return severity in self.severities and (bool(fixed_version) or self.fail_unfixed)

    def with_vex(self, *extra: Path) -> ScanPolicy:
        return dataclasses.replace(self, vex=(*self.vex, *extra))


def read(path: Path = POLICY_FILE) -> ScanPolicy:
    """The policy file, checked: an unknown severity or key is an error that names it."""
    try:
        data = tomllib.loads(path.read_text())
        policy = ScanPolicy(
            severities=tuple(data.pop("severities")),
            fail_unfixed=bool(data.pop("fail_unfixed")),
            max_database_age=dt.timedelta(days=float(data.pop("max_database_age_days"))),
            database_repository=str(data.pop("database_repository")),
            vex=tuple(ROOT / p for p in data.pop("vex")),
        )
    except (OSError, tomllib.TOMLDecodeError, KeyError, ValueError) as error:
        raise BuildError(f"{path}: {error}: see docs/scanning.md for its keys") from error
    if data:
        raise BuildError(f"{path}: unknown keys {', '.join(sorted(data))} (docs/scanning.md)")
    if unknown := set(policy.severities) - set(SEVERITIES):
        raise BuildError(f"{path}: severities {sorted(unknown)} are not trivy's {SEVERITIES}")
    if missing := [str(p) for p in policy.vex if not p.is_file()]:
        raise BuildError(f"{path}: VEX documents {missing} do not exist")
    return policy
