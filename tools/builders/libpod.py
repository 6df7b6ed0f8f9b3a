"""buildah and podman, from the locked toolchain: --timestamp dates every file and date, then
the config is cleaned.

Both run from the toolchain (`tools.inputs.toolchain`), never the host's: their
version writes the bits. buildah and podman give the same image IDs for the
same inputs. Their
Docker-format configs carry per-build noise (see
`archives.normalized_config`), so every build's config is cleaned, given the
build's labels and pulled back in as a new image over the same layers.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tools.builders import archives, engine
from tools.builders.interface import (
    Builder,
    BuildRequest,
    Inspected,
    docker_style_inspect,
    inspect_json,
)
from tools.builders.store import SeparateStore
from tools.inputs.toolchain import TOOLCHAIN
from tools.process import BuildError, Runner, capture, have, run_shown, succeeds

#: How images leave the store. gzip, Docker's manifest: containers/image
#: compresses layers the same way every time (the same digest from a fresh
#: registry and an empty blob cache, measured), so a push is reproducible
#: for one version.
PUSH_FORMAT = ("--compression-format", "gzip", "--format", "v2s2")


def toolchain(program: str, *args: str) -> list[str]:
    """The command line of `program` (buildah, podman) from the toolchain."""
    return TOOLCHAIN.command(run_shown, program, *args)


def raw_image(image_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """An image's manifest and config as the store holds them (only buildah prints them;
    podman shares its store)."""
    found = inspect_json(*toolchain("buildah", "inspect", "--type", "image", image_id))
    if not found:
        raise BuildError(f"buildah has no image {image_id}: run `nox -s build` again")
    return json.loads(found["Manifest"]), json.loads(found["Config"])


def image_id(listed: Mapping[str, Any]) -> str:
    """The ID in one entry of `buildah images --json` or `podman images --format json`."""
    found = str(listed.get("id") or listed.get("Id"))
    return found if found.startswith("sha256:") else f"sha256:{found}"


def names_of(listed: Mapping[str, Any]) -> list[str]:
    return list(listed.get("names") or listed.get("Names") or [])


#: The limits a RUN step runs with. Left to itself, buildah 1.39 (Debian 13) has runc
#: set the caller's limits, which fails without CAP_SYS_RESOURCE ("error setting rlimit
#: type 7"); limits at or below 4096 may be set. They change no image ID
#: (docs/reproducibility.md, "What the host contributes").
RUN_ULIMITS = ("nofile=4096:4096", "nproc=4096:4096")


class Libpod(Builder):
    """What buildah and podman share."""

    multi_platform = True
    #: The command that prints the builder's configuration as JSON.
    info_args: tuple[str, ...] = ()
    #: The option of `images` that prints JSON.
    images_json: tuple[str, ...] = ()

    def version(self) -> str:
        return TOOLCHAIN.version(self.name)

    def command(self, *args: str) -> list[str]:
        """This builder's command line, run from the toolchain."""
        return toolchain(self.name, *args)

    def separate_store(self, root: Path) -> SeparateStore:
        store = inspect_json(*self.command(*self.info_args)).get("store", {})
        driver = store.get("GraphDriverName") or store.get("graphDriverName") or "overlay"
        return SeparateStore(root, driver=driver, program=self.command())

    def build(self, run: Runner, request: BuildRequest) -> str:
        with tempfile.TemporaryDirectory() as scratch:
            iidfile = Path(scratch) / "iid"
            # The labels are set by normalize: as --label, each is a step.
            args = self.command("build", *request.common_args(iidfile, labels=False))
            args += ["--timestamp", str(request.timestamp), "--identity-label=false"]
            # Docker's image format: OCI's has no HEALTHCHECK. --layers caches
            # steps, as docker build does.
            args += ["--format=docker", "--layers=true"]
            args += [option for limit in RUN_ULIMITS for option in ("--ulimit", limit)]
            # Named even for the host's platform, which changes nothing in the
            # image (measured): one command line for native and emulated builds.
            args += ["--platform", request.platform] if request.platform else []
            run(*args, str(request.context))
            return self.normalize(iidfile.read_text().strip(), request.tags, request.labels)

    def normalize(
        self, image_id: str, tags: Sequence[str], labels: Mapping[str, str] | None = None
    ) -> str:
        """The image with `archives.normalized_config` and these labels, over the same
        layers, tagged; its ID."""
        manifest, config = raw_image(image_id)
        with tempfile.TemporaryDirectory() as scratch:
            clean = Path(scratch) / "clean"
            clean_id = archives.write_config_only_image(
                clean, manifest, archives.normalized_config(config, labels)
            )
            capture(*self.command("pull", "--quiet", f"dir:{clean}"))
        if tags:
            capture(*self.command("tag", clean_id, *tags))
        return clean_id

    def archive(self, image_id: str, destination: Path) -> Path:
        capture(*self.command("push", "--quiet", image_id, f"docker-archive:{destination}"))
        return destination

    def push(self, run: Runner, image: str, destination: str, *, tls_verify: bool = True) -> str:
        with tempfile.TemporaryDirectory() as scratch:
            digestfile = Path(scratch) / "digest"
            args = self.command("push", "--quiet", "--digestfile", str(digestfile), *PUSH_FORMAT)
            args += [] if tls_verify else ["--tls-verify=false"]
            run(*args, image, f"docker://{destination}")
            return digestfile.read_text().strip()

    def create_index(self, run: Runner, name: str, image_ids: Sequence[str]) -> None:
        # A fresh list each time: `manifest add` to an old one would keep
        # the instances of earlier builds.
        capture(*self.command("manifest", "rm", name), check=False)
        run(*self.command("manifest", "create", name))
        for image_id in image_ids:
            storage = f"containers-storage:{image_id.removeprefix('sha256:')}"
            run(*self.command("manifest", "add", name, storage))

    def make_index(self, run: Runner, name: str, image_ids: Sequence[str]) -> str:
        self.create_index(run, name, image_ids)
        # The digest is the pushed one (each image's manifest is rewritten
        # for its compressed layers): push to a throwaway OCI layout as a
        # release pushes to a registry.
        with tempfile.TemporaryDirectory() as scratch:
            return self.push_index(run, name, f"oci:{scratch}/layout", tls_verify=True)

    def push_index(
        self, run: Runner, name: str, destination: str, *, tls_verify: bool = True
    ) -> str:
        with tempfile.TemporaryDirectory() as scratch:
            digestfile = Path(scratch) / "digest"
            # buildah 1.28's `manifest push` has no --compression-format: it
            # gzips by default, as `push` is told to.
            args = self.command("manifest", "push", "--all", "--quiet", "--format", "v2s2")
            args += ["--digestfile", str(digestfile)]
            args += [] if tls_verify else ["--tls-verify=false"]
            where = destination if destination.startswith("oci:") else f"docker://{destination}"
            run(*args, name, where)
            digest = digestfile.read_text().strip()
            if not digest:
                # buildah 1.28 exits 0 and writes no digest when an image the
                # index names has lost that manifest in the store.
                raise BuildError(
                    f"{self.name} pushed {name} to {destination} but reported no digest: "
                    "the index is stale; run `nox -s build` again"
                )
            return digest

    def local_name(self, image: str) -> str:
        """buildah and podman add localhost/ to a name without a registry."""
        if "/" not in image.split(":", maxsplit=1)[0]:
            return f"localhost/{image}"
        return image

    def tag(self, run: Runner, image_id: str, names: Sequence[str]) -> None:
        run(*self.command("tag", image_id, *names))

    def load_into_docker(
        self, run: Runner, images: Iterable[str], *, image_id: str | None = None
    ) -> None:
        if not engine.docker_running():
            return
        # Pushed once per image, then tagged: a push copies every layer.
        loaded: dict[str, str] = {}
        for image in images:
            found = image_id or self.image_id(image) or image
            # Docker keeps the short name the user will `docker run`.
            short = image.removeprefix("localhost/")
            docker_name = short if "/" not in short.split(":")[0] else image
            if engine.image_id(docker_name) == found:
                loaded.setdefault(found, docker_name)
            elif found in loaded:
                run("docker", "tag", loaded[found], docker_name)
            else:
                run(*self.command("push", "--quiet", image, f"docker-daemon:{docker_name}"))
                loaded[found] = docker_name

    def holds_index(self, name: str) -> bool:
        return succeeds(*self.command("manifest", "inspect", name))

    def unnamed_images(self) -> set[str]:
        listed = inspect_json(*self.command("images", "--all", "--no-trunc", *self.images_json))
        listed = listed or []
        return {image_id(found) for found in listed if not names_of(found)}

    def remove_images(self, run: Runner, image_ids: Iterable[str]) -> None:
        if chosen := sorted(image_ids):
            # An image another one was made from is kept, and said so: not a failure.
            capture(*self.command("rmi", *chosen), check=False)

    def size(self, image: str) -> int | None:
        if engine.docker_running() or not have("podman"):
            return super().size(image)
        # buildah and podman share one image store; podman reports sizes.
        out = capture("podman", "image", "inspect", "--format", "{{.Size}}", image, check=False)
        return int(out) if out.isdigit() else None


class Buildah(Libpod):
    name = "buildah"
    info_args = ("info",)
    images_json = ("--json",)

    def inspect(self, image: str) -> Inspected | None:
        found = inspect_json(*self.command("inspect", "--type", "image", image))
        if not found:
            return None
        oci = found["OCIv1"]
        return Inspected.from_config(
            found["FromImageID"], oci["config"], oci["rootfs"]["diff_ids"]
        )


class Podman(Libpod):
    name = "podman"
    info_args = ("info", "--format", "json")
    images_json = ("--format", "json")

    def inspect(self, image: str) -> Inspected | None:
        return docker_style_inspect(self.command(), image)
