"""Sample data the tooling's tests share: a digest, and the provenance a release attests."""

from __future__ import annotations

from typing import Any

from tools.images.plan import BuildPlan
from tools.process import git_revision
from tools.release import provenance

DIGEST = "sha256:" + "ab" * 32


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
