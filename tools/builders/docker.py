"""Docker: reproducibly through BuildKit >= 0.13 (`DockerBuildKit`), else `DockerClassic`.

BuildKit dates every file only through its OCI exporter (rewrite-timestamp),
which the default docker driver offers on the containerd image store: the
image goes to an OCI archive in build/oci/, named by image ID, and is then
loaded. The containerd store knows images by manifest digest, so diff_ids
are read from that archive.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from tools.builders import archives, engine
from tools.builders.interface import Builder, BuildRequest, Inspected, docker_style_inspect
from tools.paths import OCI_ARCHIVES
from tools.process import BuildError, Runner, capture


class Docker(Builder):
    """What both Docker builders share: the engine is the store."""

    name = "docker"

    def version(self) -> str:
        found = engine.docker_engine()
        server = found.version if found else "no engine"
        buildx = capture("docker", "buildx", "version", check=False) or "no buildx"
        return f"Docker {server}, {buildx}"

    def inspect(self, image: str) -> Inspected | None:
        return docker_style_inspect(["docker"], image)


class DockerClassic(Docker):
    """An engine whose BuildKit cannot date the files in layers: it builds, not reproducibly."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    @property
    def why_not_reproducible(self) -> str | None:
        return self.reason

    def build(self, run: Runner, request: BuildRequest) -> str:
        with tempfile.TemporaryDirectory() as scratch:
            iidfile = Path(scratch) / "iid"
            run("docker", "build", *request.common_args(iidfile), str(request.context))
            return iidfile.read_text().strip()

    def archive(self, image_id: str, destination: Path) -> Path:
        capture("docker", "save", "--output", str(destination), image_id)
        return destination


#: Archives of earlier runs are cleared on the first BuildKit build of each run.
_archives_this_run: set[Path] = set()


class DockerBuildKit(Docker):
    """Docker 26+ with buildx and the containerd store: bit-for-bit reproducible."""

    def build(self, run: Runner, request: BuildRequest) -> str:
        # BuildKit takes this build arg as the time of the config and history;
        # rewrite-timestamp clamps every file to it too.
        dated = dataclasses.replace(
            request,
            build_args={"SOURCE_DATE_EPOCH": str(request.timestamp), **request.build_args},
        )
        with tempfile.TemporaryDirectory() as scratch:
            iidfile, archive = Path(scratch) / "iid", Path(scratch) / "image.tar"
            args = ["docker", "buildx", "build", *dated.common_args(iidfile)]
            # Attestations would describe this build host; the image ID is the
            # proof, so they stay out of the image.
            args += ["--provenance=false", "--sbom=false"]
            names = ",".join(request.tags)
            args += ["--output", f'type=oci,dest={archive},rewrite-timestamp=true,"name={names}"']
            run(*args, str(request.context))
            # For BuildKit's OCI exporter too, the ID is the config digest.
            image_id = iidfile.read_text().strip()
            stored = self.store_archive(archive, image_id)
        run("docker", "load", "--quiet", "--input", str(stored))
        return image_id

    @staticmethod
    def archive_path(image_id: str) -> Path:
        """Where the OCI archive of this image ID is kept."""
        return OCI_ARCHIVES / f"{image_id.removeprefix('sha256:')}.tar"

    def store_archive(self, archive: Path, image_id: str) -> Path:
        """Move a freshly built archive to build/oci/, named by its image ID."""
        if not _archives_this_run and OCI_ARCHIVES.exists():
            shutil.rmtree(OCI_ARCHIVES)
        OCI_ARCHIVES.mkdir(parents=True, exist_ok=True)
        stored = self.archive_path(image_id)
        shutil.move(archive, stored)
        _archives_this_run.add(stored)
        return stored

    def archive(self, image_id: str, destination: Path) -> Path:
        stored = self.archive_path(image_id)
        if not stored.exists():
            raise BuildError(f"no OCI archive of {image_id} in {OCI_ARCHIVES}: build it again")
        return stored

    def holds(self, image_id: str) -> bool:
        """Never: the containerd store knows the image by its manifest digest, and the
        archive that knows it by ID is cleared by the next build (its cache is quick)."""
        return False

    def diff_ids(self, image: str) -> list[str]:
        config = archives.archive_config(self.archive(image, OCI_ARCHIVES))
        return list(config["rootfs"]["diff_ids"])
