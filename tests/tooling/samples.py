"""Sample data the tooling's tests share: a digest, the provenance a release attests, and a
released image's rebuild target."""

from __future__ import annotations

import dataclasses
from typing import Any

from tools.images.plan import BuildPlan
from tools.process import git_revision
from tools.rebuild.findings import Target
from tools.release import provenance
from tools.release.provenance import BuildInputs
from tools.release.references import Pinned, Repository

DIGEST = "sha256:" + "ab" * 32
REPOSITORY = Repository("127.0.0.1:5000", "moscow-time")
IMAGE = Pinned(REPOSITORY, DIGEST)
OTHER = Pinned(REPOSITORY, "sha256:" + "cd" * 32)


def a_predicate() -> dict[str, Any]:
    """What `nox -s release` attests for an arm64 slim image built on stand-ins at HEAD."""
    plan = BuildPlan(
        builder="buildah",
        platforms=("linux/amd64", "linux/arm64"),
        bases={"linux/arm64": {"slim": "localhost/base"}},
        revision=git_revision(),
        epoch=1796000000,
        offline=True,
    )
    return provenance.predicate(
        plan=plan,
        tree_clean=True,
        dockerfile="Dockerfile",
        build_args={"PYTHON_IMAGE": "localhost/base", "SOURCE_DATE_EPOCH": "1796000000"},
        base_ids={"PYTHON_IMAGE": DIGEST},
        builder_version="buildah version 1.28.2",
        platform="linux/arm64",
    )


def a_target(image: Pinned = IMAGE, **changes: Any) -> Target:
    """A released image to rebuild, with `a_predicate`'s inputs (`changes` replace some)."""
    inputs = dataclasses.replace(BuildInputs.from_predicate(a_predicate()), **changes)
    return Target(image, str(image), inputs, a_predicate())
