"""A trivy database made from a short YAML of advisories, served as trivy's OCI artifact.

trivy's database is a bbolt file (`trivy.db`) with `metadata.json` beside it,
schema 2. `buckets` lays advisories out as trivy-db does (its
pkg/db/testdata/fixtures); `boltwrite.go`, built offline with Debian's Go and
bbolt, writes the file; `push` puts it where `--db-repository` points, with
Debian 13's oras, as trivy-db's own artifact: one gzipped tar layer of its
media type. The gate's tests scan the real images against it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import subprocess
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

import yaml

from tools import debtools
from tools.process import BuildError, Runner, environment
from tools.scan import database

SCHEMA_VERSION = 2
#: The layer trivy pulls; it refuses another media type.
LAYER_MEDIA_TYPE = "application/vnd.aquasec.trivy.db.layer.v1.tar+gzip"
ARTIFACT_TYPE = "application/vnd.aquasec.trivy.config.v1+json"
WRITER_SOURCE = Path(__file__).with_name("boltwrite.go")
#: Debian's Go builds against Debian's packaged sources, with no module download.
GO_ENV = {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOFLAGS": "-trimpath"}


@dataclasses.dataclass(frozen=True)
class Advisory:
    """One planted advisory: `fixed` is None for one with no fix yet."""

    id: str
    ecosystem: str
    package: str
    severity: str
    title: str
    fixed: str | None = None


class Source:
    """One of trivy-db's data sources: its bucket, and how it writes an advisory."""

    bucket: ClassVar[str]
    data_source: ClassVar[Mapping[str, str]]

    def advisory(self, advisory: Advisory) -> dict[str, Any]:
        raise NotImplementedError


class Debian(Source):
    """Debian's security tracker: advisories by source package, a fixed Debian version."""

    bucket = "debian 13"
    data_source = MappingProxyType(
        {
            "ID": "debian",
            "Name": "Debian Security Tracker",
            "URL": "https://salsa.debian.org/security-tracker-team/security-tracker",
        }
    )

    def advisory(self, advisory: Advisory) -> dict[str, Any]:
        return {"FixedVersion": advisory.fixed} if advisory.fixed else {}


class Pip(Source):
    """GitHub's advisories for PyPI: vulnerable ranges and patched versions."""

    bucket = "pip::GitHub Security Advisory pip"
    data_source = MappingProxyType(
        {
            "ID": "ghsa",
            "Name": "GitHub Security Advisory pip",
            "URL": "https://github.com/advisories?query=ecosystem%3Apip",
        }
    )

    def advisory(self, advisory: Advisory) -> dict[str, Any]:
        if not advisory.fixed:
            return {"VulnerableVersions": [">=0"]}
        return {"PatchedVersions": [advisory.fixed], "VulnerableVersions": [f"<{advisory.fixed}"]}


SOURCES: dict[str, Source] = {"debian": Debian(), "pip": Pip()}


def read(path: Path) -> list[Advisory]:
    """The advisories of a YAML list; an unknown ecosystem or field is an error."""
    try:
        return [Advisory(**entry) for entry in yaml.safe_load(path.read_text())["advisories"]]
    except (TypeError, KeyError) as error:
        raise BuildError(f"{path}: not a list of advisories ({error})") from error


def buckets(advisories: Iterable[Advisory]) -> dict[str, dict[str, Any]]:
    """trivy-db's buckets: source → package → ID → advisory; `vulnerability` → ID → details;
    `data-source` → source bucket → who publishes it. Values are JSON text."""
    top: dict[str, dict[str, Any]] = {"vulnerability": {}, "data-source": {}}
    for advisory in advisories:
        if (source := SOURCES.get(advisory.ecosystem)) is None:
            raise BuildError(
                f"{advisory.id}: ecosystem {advisory.ecosystem!r} is not one of "
                f"{', '.join(SOURCES)}"
            )
        packages = top.setdefault(source.bucket, {}).setdefault(advisory.package, {})
        packages[advisory.id] = json.dumps(source.advisory(advisory))
        top["vulnerability"][advisory.id] = json.dumps(
            {"Title": advisory.title, "Severity": advisory.severity}
        )
        top["data-source"][source.bucket] = json.dumps(dict(source.data_source))
    return top


def metadata(updated: dt.datetime) -> dict[str, Any]:
    """metadata.json: the schema, and when the database was made (what staleness reads)."""
    stamp = updated.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    next_update = (updated + dt.timedelta(hours=6)).astimezone(dt.UTC)
    return {
        "Version": SCHEMA_VERSION,
        "NextUpdate": next_update.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "UpdatedAt": stamp,
        "DownloadedAt": stamp,
    }


def writer(workdir: Path) -> Path:
    """boltwrite, built with Debian's Go once per source change."""
    program = workdir / "boltwrite"
    if program.exists() and program.stat().st_mtime >= WRITER_SOURCE.stat().st_mtime:
        return program
    workdir.mkdir(parents=True, exist_ok=True)
    env = environment(GO_ENV | {"GOCACHE": str(workdir / "go-cache")})
    try:
        subprocess.run(
            ["go", "build", "-o", str(program), str(WRITER_SOURCE)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError as error:
        raise BuildError(
            "the fixture database is written by a Go program: install golang-go and "
            "golang-github-coreos-bbolt-dev (`bin/setup --for test`)"
        ) from error
    except subprocess.CalledProcessError as error:
        raise BuildError(
            f"building {WRITER_SOURCE.name} failed: {error.stderr.strip()}"
        ) from error
    return program


def write_database(
    advisories: Iterable[Advisory], directory: Path, *, updated: dt.datetime, workdir: Path
) -> Path:
    """trivy.db and metadata.json in `directory` (a cache's db/), made afresh."""
    directory.mkdir(parents=True, exist_ok=True)
    database = directory / "trivy.db"
    database.unlink(missing_ok=True)
    layout = json.dumps(buckets(advisories))
    subprocess.run([str(writer(workdir)), str(database)], input=layout, text=True, check=True)
    (directory / "metadata.json").write_text(json.dumps(metadata(updated)) + "\n")
    return database


def pack(directory: Path, archive: Path) -> Path:
    """db.tar.gz as trivy-db publishes it: trivy.db and metadata.json at its top."""
    with tarfile.open(archive, "w:gz") as tar:
        for name in ("trivy.db", "metadata.json"):
            data = (directory / name).read_bytes()
            member = tarfile.TarInfo(name)
            member.size, member.mode = len(data), 0o644
            tar.addfile(member, io.BytesIO(data))
    return archive


def push(run: Runner, archive: Path, reference: str) -> None:
    """The archive as trivy's database artifact at `reference` (a loopback registry)."""
    run(
        str(debtools.oras(run)),
        "push",
        "--plain-http",
        "--artifact-type",
        ARTIFACT_TYPE,
        reference,
        f"{archive.name}:{LAYER_MEDIA_TYPE}",
        cwd=archive.parent,
    )


def served(run: Runner, advisories_file: Path, workdir: Path, reference: str) -> None:
    """The advisories of a YAML file, made into a database dated now and pushed."""
    directory = workdir / "db"
    write_database(
        read(advisories_file), directory, updated=dt.datetime.now(dt.UTC), workdir=workdir
    )
    push(run, pack(directory, workdir / "db.tar.gz"), reference)


def fetched(run: Runner, advisories_file: Path, workdir: Path, repository: str) -> Path:
    """A trivy cache holding the advisories' database, served at `repository` (tag 2) and
    pulled from it by digest, as the gate pulls a mirror's."""
    served(run, advisories_file, workdir, f"{repository}:{SCHEMA_VERSION}")
    cache = workdir / "cache"
    database.fetch(run, repository, cache)
    return cache
