"""What every container builder offers: build, inspect, export, load into Docker."""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from tools.builders import engine
from tools.builders.store import SeparateStore
from tools.process import BuildError, Runner, capture


@dataclasses.dataclass(frozen=True)
class Inspected:
    """What a builder's store knows of an image."""

    image_id: str
    labels: dict[str, str]
    #: Uncompressed layer digests, bottom first.
    diff_ids: list[str]

    @classmethod
    def from_config(cls, image_id: str, config: Mapping[str, Any], layers: Any) -> Inspected:
        return cls(
            image_id=image_id if image_id.startswith("sha256:") else f"sha256:{image_id}",
            labels=dict(config.get("Labels") or {}),
            diff_ids=list(layers or []),
        )


def inspect_json(*args: str) -> Any:
    """Parsed JSON of an inspect command; None if the image is not there."""
    output = capture(*args, check=False)
    return json.loads(output) if output else None


def docker_style_inspect(command: Sequence[str], image: str) -> Inspected | None:
    """`docker image inspect` and `podman image inspect` answer alike; `command` is the
    program's command line."""
    found = inspect_json(*command, "image", "inspect", image)
    if not found:
        return None
    return Inspected.from_config(
        found[0]["Id"], found[0]["Config"], found[0]["RootFS"].get("Layers")
    )


@dataclasses.dataclass(frozen=True)
class BuildRequest:
    """One image to build: everything but the builder."""

    containerfile: Path
    context: Path
    tags: Sequence[str]
    timestamp: int
    build_args: Mapping[str, str] = dataclasses.field(default_factory=dict)
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    no_cache: bool = False
    #: OCI's name of the platform to build for (`linux/arm64`); None: the builder's own.
    platform: str | None = None

    def common_args(self, iidfile: Path, *, labels: bool = True) -> list[str]:
        """The options every builder takes alike: no network, file, tags, args, and
        (`labels`) labels."""
        args = ["--network=none", "--file", str(self.containerfile), "--iidfile", str(iidfile)]
        for tag in self.tags:
            args += ["--tag", tag]
        for key, value in self.build_args.items():
            args += ["--build-arg", f"{key}={value}"]
        for key, value in self.labels.items() if labels else ():
            args += ["--label", f"{key}={value}"]
        return args + (["--no-cache"] if self.no_cache else [])


class Builder(abc.ABC):
    """A container builder. Subclasses say how they build, store and export images."""

    #: The command the user names with --builder.
    name: ClassVar[str]
    #: Whether it builds for other platforms than the host's (under emulation)
    #: and can put them in one image index.
    multi_platform: ClassVar[bool] = False

    @abc.abstractmethod
    def version(self) -> str:
        """The builder's version: the same version is needed for the same IDs."""

    @property
    def why_not_reproducible(self) -> str | None:
        """Why this builder's images differ between builds here, or None."""
        return None

    @property
    def reproducible(self) -> bool:
        return self.why_not_reproducible is None

    @abc.abstractmethod
    def build(self, run: Runner, request: BuildRequest) -> str:
        """Build with no network; return the image ID."""

    @abc.abstractmethod
    def archive(self, image_id: str, destination: Path) -> Path:
        """The image as a docker-archive or OCI archive, for looking inside."""

    @abc.abstractmethod
    def inspect(self, image: str) -> Inspected | None:
        """An image's ID, labels and layers in this builder's store; None if it has none."""

    def pull(self, run: Runner, image: str) -> bool:
        try:
            run(self.name, "pull", image)
        except BuildError:
            return False
        return True

    def push(self, run: Runner, image: str, destination: str, *, tls_verify: bool = True) -> str:
        """Push to a registry (`destination` is REPO:TAG); return the manifest digest."""
        raise BuildError(
            f"releasing from {self.name} is not supported: its push recompresses layers "
            "differently from build to build here. Build with buildah or podman "
            "(nox -s build -- --builder buildah), then release"
        )

    def create_index(self, run: Runner, name: str, image_ids: Sequence[str]) -> None:
        """An image index of these images under `name`, in the store, to push."""
        raise BuildError(
            f"{self.name} cannot make image indexes here; build with buildah or podman "
            "(nox -s build -- --builder buildah)"
        )

    def make_index(self, run: Runner, name: str, image_ids: Sequence[str]) -> str:
        """An image index of these images under `name`; the digest it is pushed under."""
        raise BuildError(
            f"{self.name} cannot make image indexes here; build with buildah or podman "
            "(nox -s build -- --builder buildah)"
        )

    def push_index(
        self, run: Runner, name: str, destination: str, *, tls_verify: bool = True
    ) -> str:
        """Push an index and every image in it (`destination` is REPO:TAG); its digest."""
        raise BuildError(f"{self.name} cannot push image indexes: release with buildah or podman")

    def holds(self, image_id: str) -> bool:
        """True if the store still has this image."""
        return self.image_id(image_id) == image_id

    def tag(self, run: Runner, image_id: str, names: Sequence[str]) -> None:
        """Name an image in the store."""
        for name in names:
            run("docker", "tag", image_id, name)

    def unnamed_images(self) -> set[str]:
        """The IDs of the images in the store that no name points to: a build's steps, and
        images whose names moved on (none for a builder whose store is Docker's own)."""
        return set()

    def remove_images(self, run: Runner, image_ids: Iterable[str]) -> None:  # noqa: B027
        """Remove these images from the store, and any layer no other image uses."""

    @contextlib.contextmanager
    def no_leftovers(self, run: Runner, say: Callable[[str], object]) -> Iterator[None]:
        """What the builds inside leave in the store beside the images their names point to
        is removed once they are done.

        A build with no cache commits every step anew: duplicates of the layer cache a
        cached build holds, which no build will reuse. And they cost: buildah's cache
        lookup reads every image in the store at every step (docs/reproducibility.md).
        """
        before = self.unnamed_images()
        try:
            yield
        finally:
            if leftovers := self.unnamed_images() - before:
                self.remove_images(run, leftovers)
                say(f"removed {len(leftovers)} images the builds left beside theirs")

    def holds_index(self, name: str) -> bool:
        """True if the store still has an image index of this name."""
        return False

    def load_into_docker(  # noqa: B027
        self, run: Runner, images: Iterable[str], *, image_id: str | None = None
    ) -> None:
        """Make images built here runnable with `docker run`, keeping their IDs
        (`image_id`: the ID every one of these names has, when the caller knows it).

        Nothing to do for a builder whose store is the Docker engine.
        """

    def separate_store(self, root: Path) -> SeparateStore:
        """An empty store of this builder's own under `root` (`nox -s rebuild` builds there)."""
        raise BuildError(
            f"{self.name} cannot build in a store of its own: rebuild with buildah or podman "
            "(a release is made with one of them)"
        )

    def local_name(self, image: str) -> str:
        """How `image` is named once built."""
        return image

    def size(self, image: str) -> int | None:
        """The image's size in the Docker engine, where users run it."""
        return engine.image_size(image) if engine.docker_running() else None

    def image_id(self, image: str) -> str | None:
        found = self.inspect(image)
        return None if found is None else found.image_id

    def labels(self, image: str) -> dict[str, str]:
        """An image's labels; empty if there is no such image."""
        found = self.inspect(image)
        return {} if found is None else found.labels

    def diff_ids(self, image: str) -> list[str]:
        """The uncompressed layer digests of an image, bottom first."""
        found = self.inspect(image)
        if found is None:
            raise BuildError(f"{self.name} has no image {image}")
        return found.diff_ids
