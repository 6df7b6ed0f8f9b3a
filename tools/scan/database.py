"""trivy's vulnerability database: fetched by digest, recorded, and refused when missing
or stale (the gate fails closed).

trivy keeps it as db/trivy.db and db/metadata.json under its cache directory.
`fetch` resolves the repository's tag to a digest with oras and has trivy pull
that digest, so the record names exactly what was scanned against; a database
placed by hand (air-gapped, trivy's own way) is recorded by its file's sha256.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from tools import debtools
from tools.process import BuildError, Runner, capture

SCHEMA_VERSION = 2
#: Written beside trivy's files by `fetch`: which artifact they came from.
SOURCE_FILE = "moscow-time-source.json"


@dataclasses.dataclass(frozen=True)
class DatabaseRecord:
    """What a scan ran against: the artifact (when fetched), the file, and its age."""

    repository: str | None
    digest: str | None
    sha256: str
    updated_at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {"repository": self.repository, "digest": self.digest, "sha256": self.sha256,
                "updatedAt": stamp(self.updated_at)}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DatabaseRecord:
        return cls(data["repository"], data["digest"], data["sha256"], parse(data["updatedAt"]))

    def uri(self) -> str:
        if self.repository and self.digest:
            return f"oci://{self.repository}@{self.digest}"
        return f"file:trivy.db@sha256:{self.sha256}"


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def directory(cache: Path) -> Path:
    return cache / "db"


def reference(repository: str) -> str:
    """trivy's convention: a repository with no tag or digest means the schema's tag."""
    name = repository.rsplit("/", 1)[-1]
    return repository if ("@" in name or ":" in name) else f"{repository}:{SCHEMA_VERSION}"


def fetch(run: Runner, repository: str, cache: Path, *, trivy: str = "trivy") -> None:
    """The database at `repository`, resolved to a digest and pulled by it into `cache`."""
    oras = str(debtools.oras(run))
    wanted = reference(repository)
    if "@" in wanted:
        name, digest = wanted.split("@", 1)
    else:
        plain = ["--plain-http"] if wanted.startswith(("127.0.0.1", "localhost")) else []
        name, digest = wanted.rsplit(":", 1)[0], capture(oras, "resolve", *plain, wanted)
    run(trivy, "image", "--download-db-only", "--quiet", "--cache-dir", str(cache),
        "--db-repository", f"{name}@{digest}")  # fmt: skip
    source = {"repository": name, "digest": digest}
    (directory(cache) / SOURCE_FILE).write_text(json.dumps(source) + "\n")


def record(cache: Path) -> DatabaseRecord:
    """The database in `cache`, or a BuildError saying how to get one (fail closed)."""
    db, meta = directory(cache) / "trivy.db", directory(cache) / "metadata.json"
    if not db.is_file() or not meta.is_file():
        raise BuildError(
            f"no vulnerability database in {directory(cache)}: a scan without one is not clean. "
            "Fetch one: `nox -s vulns` online, `nox -s vulns -- --db-repository MIRROR` from a "
            "mirror, or put trivy.db and metadata.json there by hand (docs/scanning.md)"
        )
    metadata = json.loads(meta.read_text())
    if metadata.get("Version") != SCHEMA_VERSION:
        raise BuildError(
            f"{meta} is schema {metadata.get('Version')}, this trivy reads {SCHEMA_VERSION}: "
            "fetch the database again (docs/scanning.md)"
        )
    source_file = directory(cache) / SOURCE_FILE
    source = json.loads(source_file.read_text()) if source_file.is_file() else {}
    return DatabaseRecord(
        repository=source.get("repository"),
        digest=source.get("digest"),
        sha256=hashlib.sha256(db.read_bytes()).hexdigest(),
        updated_at=parse(metadata["UpdatedAt"]),
    )


def require_fresh(database: DatabaseRecord, max_age: dt.timedelta, now: dt.datetime) -> None:
    """A database older than the policy allows fails closed, saying how old and what next."""
    age = now - database.updated_at
    if age > max_age:
        raise BuildError(
            f"the vulnerability database was made {stamp(database.updated_at)}, "
            f"{age.total_seconds() / 86400:.1f} days ago; security/scan-policy.toml allows "
            f"{max_age.total_seconds() / 86400:g}: a scan against it is not clean. Fetch a "
            "fresh one: `nox -s vulns` (or `-- --db-repository MIRROR`)"
        )
