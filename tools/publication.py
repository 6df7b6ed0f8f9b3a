"""Publication: the image IDs of one commit, for other machines to rebuild and check.

`nox -s publish` writes published/image-ids.json from build/images.json, if
`publish_problems` finds none; `nox -s verify` rebuilds the published commit
in a worktree with that commit's own noxfile, and `compare_publication`
judges the result.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

from tools.tables import table


def publish_problems(built: Mapping[str, Any], head: str) -> list[str]:
    """Why the images of the last build may not be published, if they may not."""
    problems = []
    if built["revision"] != head:
        problems.append(f"the images are of {built['revision'][:12]}, not of HEAD {head[:12]}")
    if not built["tree_clean"]:
        problems.append("they were built from uncommitted changes")
    if not built["reproducible"]:
        problems.append(f"{built['builder']} did not build them reproducibly")
    if not built["offline"]:
        problems.append("they are on upstream bases, which CI cannot pull: build with --offline")
    return problems


def publication(images_json: Mapping[str, Any], bases_lock: str) -> dict[str, Any]:
    """What a build publishes: its commit, builder, bases and image IDs."""
    return {
        "commit": images_json["revision"],
        "source_date_epoch": images_json["source_date_epoch"],
        "builder": images_json["builder"],
        "builder_version": images_json["builder_version"],
        "offline": images_json["offline"],
        "arch": images_json["arch"],
        "images": {image["tags"][0]: image["image_id"] for image in images_json["images"]},
        # The stand-ins' packages: when the IDs differ, these say whether the
        # Debian mirror moved in between.
        "bases_lock": bases_lock.splitlines() if images_json["offline"] else [],
    }


def why_incomparable(
    published: Mapping[str, Any], builder_version: str, has_commit: Callable[[str], bool]
) -> str | None:
    """Why a rebuild here could not be compared with the publication, before trying."""
    if builder_version != published["builder_version"]:
        return (
            f"published with {published['builder_version']!r}, this machine has "
            f"{builder_version!r}: IDs are only comparable for the same builder version"
        )
    if not has_commit(published["commit"]):
        return f"commit {published['commit'][:12]} is not in this clone (a shallow clone?)"
    return None


def rebuilt(worktree: Path) -> dict[str, Any]:
    """What a rebuild in a worktree of the published commit would publish."""
    built = json.loads((worktree / "build" / "images.json").read_text())
    return publication(built, (worktree / "build" / "bases.lock").read_text())


def rebuild_sessions(published: Mapping[str, Any], builder: str) -> list[str]:
    """The nox arguments that rebuild a published commit from scratch, as a new machine would."""
    offline = bool(published["offline"])
    sessions = ["--sessions", *(["bases"] if offline else []), "build"]
    options = ["--builder", builder, "--no-cache", *(["--offline"] if offline else [])]
    return [*sessions, "--", *options]


@dataclasses.dataclass(frozen=True)
class Verdict:
    """How a rebuild compares with what was published."""

    #: "incomparable" means another builder, CPU or Debian mirror.
    status: Literal["same", "differs", "incomparable"]
    #: The table of IDs, and what made them incomparable.
    lines: list[str]
    reason: str = ""


def packages(lines: list[str]) -> list[str]:
    """The package lines of a bases record, without its headers (a tarball's sha256 varies)."""
    return [line for line in lines if line and not line.startswith(("#", "["))]


def moved_packages(published: list[str], rebuilt: list[str]) -> list[str]:
    """The package lines that changed between two bases locks, as -old and +new."""
    return [
        line
        for line in difflib.unified_diff(published, rebuilt, "published", "rebuilt", lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def compare_publication(published: Mapping[str, Any], rebuilt: Mapping[str, Any]) -> Verdict:
    """Compare a rebuild of the published commit with the published IDs."""
    for key in ("builder_version", "arch"):
        if published[key] != rebuilt[key]:
            reason = f"published with {key} {published[key]!r}, rebuilt with {rebuilt[key]!r}"
            return Verdict("incomparable", [reason], reason)
    rows = [["image", "published", "rebuilt", "same"]]
    for tag, image_id in published["images"].items():
        again = rebuilt["images"].get(tag, "(not built)")
        rows.append([tag, image_id, again, str(image_id == again)])
    lines = table(rows).splitlines()
    if published["images"] == rebuilt["images"]:
        return Verdict("same", lines)
    if moved := moved_packages(packages(published["bases_lock"]), packages(rebuilt["bases_lock"])):
        reason = "the Debian mirror moved since publication (build/bases.lock)"
        return Verdict("incomparable", [*lines, f"{reason}:", *moved], reason)
    return Verdict("differs", lines)
