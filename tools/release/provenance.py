"""The SLSA v1 provenance predicate of one app image: what was built from what, by what.

cosign wraps it in an in-toto Statement whose subject is the pushed digest,
and signs that. The predicate is checked against the SLSA v1 schema of the
in-toto attestation framework (`in_toto_attestation`) before it is signed.

Honest level: a build on one machine, recorded by that machine, is SLSA Build
L1 (provenance exists). L2 needs a hosted build platform that signs; L3 one
that isolates builds from each other and from their users.
"""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from in_toto_attestation.predicates.provenance.v1 import provenance_pb2

from tools.images.plan import BuildPlan
from tools.inputs.aptlock import debian_lock_paths
from tools.model import PIP_LOCKS
from tools.paths import ROOT
from tools.process import BuildError

PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
#: cosign's name for that predicate type (`cosign attest --type`).
COSIGN_TYPE = "slsaprovenance1"
#: What the build definition means; docs/release.md#build-type describes it.
BUILD_TYPE = "urn:moscow-time:build-type:dockerfile:v1"
SLSA_BUILD_LEVEL = 1


def lock_files() -> list[str]:
    """Every lock an image is built from: the pip locks, each base's Debian lock and the
    toolchain's (which the builder's version names by digest, too)."""
    paths = [ROOT / pip_lock.lock for pip_lock in PIP_LOCKS]
    paths += debian_lock_paths()
    paths = [path for path in paths if path.exists()]
    return [str(path.relative_to(ROOT)) for path in paths]


def lock_digests(revision: str) -> dict[str, str]:
    """sha256 of each lock as the commit holds it: the build read those, not today's tree."""
    digests = {}
    for name in lock_files():
        shown = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{revision}:{name}"],
            capture_output=True,
            check=False,
        )
        if shown.returncode != 0:
            raise BuildError(
                f"commit {revision[:12]} has no {name} here (a shallow clone?): "
                "release from a full clone of the commit that was built"
            )
        digests[name] = hashlib.sha256(shown.stdout).hexdigest()
    return digests


def resolved_dependencies(
    revision: str, build_args: Mapping[str, str], base_ids: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The commit, each lock by digest, and each base by image ID."""
    dependencies: list[dict[str, Any]] = [
        {"uri": "git+moscow-time", "digest": {"gitCommit": revision}},
    ]
    for name, digest in lock_digests(revision).items():
        dependencies.append({"name": name, "digest": {"sha256": digest}})
    for arg, image_id in sorted(base_ids.items()):
        dependencies.append(
            {
                "name": arg,
                "uri": build_args[arg],
                "digest": {"sha256": image_id.removeprefix("sha256:")},
                "annotations": {"digestOf": "image config (image ID)"},
            }
        )
    return dependencies


def predicate(
    *,
    plan: BuildPlan,
    tree_clean: bool,
    dockerfile: str,
    build_args: Mapping[str, str],
    base_ids: Mapping[str, str],
    builder_version: str,
    platform: str,
) -> dict[str, Any]:
    """The predicate, checked against SLSA v1; `base_ids` maps build arg to image ID.

    The build's whole plan is an internal parameter: a rebuild makes it again from there.
    """
    revision, builder = plan.revision, plan.builder
    dependencies = resolved_dependencies(revision, build_args, base_ids)
    statement: dict[str, Any] = {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {
                "source": {"revision": revision, "treeClean": tree_clean},
                "dockerfile": dockerfile,
                "buildArgs": dict(sorted(build_args.items())),
                "sourceDateEpoch": build_args["SOURCE_DATE_EPOCH"],
            },
            "internalParameters": {
                "network": "none",
                "platform": platform,
                "plan": plan.to_json(),
            },
            "resolvedDependencies": dependencies,
        },
        "runDetails": {
            "builder": {
                "id": f"urn:moscow-time:builder:{builder}",
                "version": {builder: builder_version},
            },
            "metadata": {},
        },
    }
    check(statement)
    return statement


def check(statement: Mapping[str, Any]) -> None:
    """Fail if the predicate does not fit SLSA v1's schema (unknown or mistyped fields)."""
    try:
        json_format.ParseDict(dict(statement), provenance_pb2.Provenance())
    except json_format.ParseError as error:
        raise BuildError(f"the provenance does not fit SLSA v1: {error}") from error


@dataclasses.dataclass(frozen=True)
class BuildInputs:
    """What a provenance says one platform's image was built from: all a rebuild takes."""

    commit: str
    plan: BuildPlan
    platform: str
    dockerfile: str
    builder: str
    builder_version: str
    source_date_epoch: str
    #: Lock file (its path in the commit) → its sha256.
    locks: dict[str, str]
    #: Base build arg → (the image it names, that image's ID).
    bases: dict[str, tuple[str, str]]

    @classmethod
    def from_predicate(cls, predicate: Mapping[str, Any]) -> BuildInputs:
        """Read back what `predicate()` wrote; BuildError if a field a rebuild needs is gone."""
        try:
            definition = predicate["buildDefinition"]
            external, internal = definition["externalParameters"], definition["internalParameters"]
            builder = predicate["runDetails"]["builder"]
            name = builder["id"].removeprefix("urn:moscow-time:builder:")
            locks, bases = {}, {}
            for dependency in definition["resolvedDependencies"]:
                digest = dependency["digest"]
                if "uri" in dependency and "name" in dependency:
                    bases[dependency["name"]] = (dependency["uri"], "sha256:" + digest["sha256"])
                elif "name" in dependency:
                    locks[dependency["name"]] = digest["sha256"]
            return cls(
                commit=external["source"]["revision"],
                plan=BuildPlan.from_json(internal["plan"]),
                platform=internal["platform"],
                dockerfile=external["dockerfile"],
                builder=name,
                builder_version=builder["version"][name],
                source_date_epoch=str(external["sourceDateEpoch"]),
                locks=locks,
                bases=bases,
            )
        except (KeyError, TypeError, ValueError) as error:
            raise BuildError(
                f"the provenance lacks {error} that a rebuild needs: it was not written by "
                "`nox -s release` of a commit that records its build plan"
            ) from error


def summary(statement: Mapping[str, Any]) -> list[list[str]]:
    """What a provenance says was built from what, as table rows."""
    definition = statement["buildDefinition"]
    external = definition["externalParameters"]
    builder = statement["runDetails"]["builder"]
    rows = [["what", "value"]]
    rows.append(["commit", external["source"]["revision"]])
    rows.append(["tree clean", str(external["source"]["treeClean"]).lower()])
    rows.append(["dockerfile", external["dockerfile"]])
    rows.append(["platform", str(definition.get("internalParameters", {}).get("platform", "?"))])
    rows.append(["SOURCE_DATE_EPOCH", str(external["sourceDateEpoch"])])
    rows.append(["builder", f"{builder['id']} {' '.join(builder.get('version', {}).values())}"])
    for dependency in definition["resolvedDependencies"]:
        label = " = ".join(dependency[key] for key in ("name", "uri") if key in dependency)
        digest = ", ".join(f"{kind}:{value[:16]}…" for kind, value in dependency["digest"].items())
        rows.append([label, digest])
    return rows
