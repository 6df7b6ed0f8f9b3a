"""The release record, build/release/release.json: what the last release pushed, by digest.

`nox -s release` writes a `ReleaseRecord`; `verify-release`, `kube-play`,
`rebuild` and the rehearsal read it back. This module is its one reader and
writer, as `tools.images.record` is the build record's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.paths import RELEASE_DIR
from tools.process import BuildError

FILE_NAME = "release.json"


@dataclasses.dataclass(frozen=True)
class ReleasedPlatform:
    """One platform's manifest in a released index, and the image ID it was built as."""

    reference: str
    image_id: str


@dataclasses.dataclass(frozen=True)
class ReleasedVariant:
    """One variant's index in the registry, and each platform's manifest in it."""

    variant: str
    #: REPOSITORY@DIGEST of the index.
    reference: str
    platforms: dict[str, ReleasedPlatform]


@dataclasses.dataclass(frozen=True)
class ReleaseRecord:
    """Every variant the last release pushed to one repository."""

    repository: str
    images: tuple[ReleasedVariant, ...]

    def references(self) -> list[str]:
        """Each variant's index, REPOSITORY@DIGEST: what `verify-release` checks by default."""
        return [image.reference for image in self.images]

    def variant(self, name: str) -> ReleasedVariant:
        for image in self.images:
            if image.variant == name:
                return image
        raise BuildError(f"the release in {FILE_NAME} has no {name} image: release again")

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"images": [dataclasses.asdict(i) for i in self.images]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReleaseRecord:
        return cls(
            repository=data["repository"],
            images=tuple(
                ReleasedVariant(
                    variant=image["variant"],
                    reference=image["reference"],
                    platforms={
                        name: ReleasedPlatform(entry["reference"], entry["image_id"])
                        for name, entry in image["platforms"].items()
                    },
                )
                for image in data["images"]
            ),
        )


def path_in(workdir: Path = RELEASE_DIR) -> Path:
    return workdir / FILE_NAME


def write(record: ReleaseRecord, workdir: Path = RELEASE_DIR) -> Path:
    path = path_in(workdir)
    path.write_text(json.dumps(record.to_json(), indent=2) + "\n")
    return path


def read(workdir: Path = RELEASE_DIR) -> ReleaseRecord:
    path = path_in(workdir)
    if not path.exists():
        raise BuildError(f"no {path}: run `nox -s release -- --registry HOST:PORT/NAME` first")
    try:
        return ReleaseRecord.from_json(json.loads(path.read_text()))
    except (KeyError, TypeError, json.JSONDecodeError) as broken:
        raise BuildError(f"{path} is not a release record ({broken!r}): release again") from None


def of(released: Sequence[Any], repository: str) -> ReleaseRecord:
    """The record of `Release.all()`'s results (`tools.release.release.Released`)."""
    return ReleaseRecord(
        repository=repository,
        images=tuple(
            ReleasedVariant(
                variant=r.variant,
                reference=str(r.image),
                platforms={
                    platform: ReleasedPlatform(str(image), r.image_ids[platform])
                    for platform, image in r.platforms.items()
                },
            )
            for r in released
        ),
    )
