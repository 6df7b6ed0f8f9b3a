"""Debian 13's cosign, skopeo and oras, unpacked into the user cache with mmdebstrap.

Debian 12's skopeo and podman are built with sigstore disabled ("Debian-local
change: sigstore disabled"), so the release uses Debian 13's tools on either
release. cosign is a static Go binary: the `extract` variant unpacks it and it
runs as it is. skopeo needs its libraries, so it gets a `minbase` root and runs
through chroot, which needs root. Each is made once per cache; its version is
its Debian changelog's.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import shutil
from pathlib import Path

from tools.cacheroots import is_complete, made_whole, one_maker
from tools.model import SUITE
from tools.process import BuildError, Runner
from tools.settings import user_cache

#: The containers library's variable naming a registries.conf in place of the machine's.
REGISTRIES_CONF_ENV = "CONTAINERS_REGISTRIES_CONF"


@dataclasses.dataclass(frozen=True)
class DebianTool:
    """A Debian 13 package unpacked by mmdebstrap into its own root."""

    package: str
    #: mmdebstrap's variant: `extract` unpacks the package alone, `minbase` installs it.
    variant: str

    @property
    def root(self) -> Path:
        return user_cache() / "tools" / f"{self.package}-{SUITE}"

    @property
    def ready(self) -> bool:
        return is_complete(self.root)

    def ensure(self, run: Runner) -> Path:
        """The tool's root, unpacking it first if this cache has none."""
        if self.ready:
            return self.root
        if shutil.which("mmdebstrap") is None:
            raise BuildError(
                f"{self.package} comes from Debian {SUITE} through mmdebstrap, which is not "
                "installed: run `bin/setup`"
            )
        with one_maker(self.root.parent):
            if not self.ready:
                with made_whole(self.root, self.version_in) as scratch:
                    run(
                        "mmdebstrap",
                        "--quiet",
                        f"--variant={self.variant}",
                        f"--include={self.package}",
                        SUITE,
                        str(scratch),
                    )
        return self.root

    def version_in(self, root: Path) -> str:
        changelog = root / "usr/share/doc" / self.package / "changelog.Debian.gz"
        with gzip.open(changelog, "rt") as f:
            first = f.readline()
        # "cosign (2.5.0-2) unstable; urgency=medium"
        return first.split("(", 1)[1].split(")", 1)[0]

    def version(self) -> str:
        return self.version_in(self.root)


COSIGN = DebianTool("cosign", "extract")
SKOPEO = DebianTool("skopeo", "minbase")
#: Pushes and resolves OCI artifacts (trivy's database), a static binary too.
ORAS = DebianTool("oras", "extract")


def cosign(run: Runner) -> Path:
    """The cosign binary, unpacked if needed."""
    return COSIGN.ensure(run) / "usr/bin/cosign"


def oras(run: Runner) -> Path:
    """The oras binary, unpacked if needed."""
    return ORAS.ensure(run) / "usr/bin/oras"


class ChrootSkopeo:
    """Debian 13's skopeo in its root; files it reads go under `shared`."""

    def __init__(self, run: Runner) -> None:
        if os.geteuid() != 0:
            raise BuildError(
                "the signature policy is checked with Debian 13's skopeo through chroot, "
                "which needs root: run this as root (CI does)"
            )
        self.root = SKOPEO.ensure(run)

    def shared(self, name: str) -> Path:
        """A fresh directory inside the root, for trust files and copies."""
        directory = self.root / "srv" / name
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        return directory

    def inside(self, path: Path) -> str:
        """How skopeo, in its root, names a path under the root."""
        return "/" + str(path.relative_to(self.root))

    def command(self, *args: str) -> list[str]:
        return ["chroot", str(self.root), "skopeo", *args]

    def registries_args(self) -> list[str]:
        """skopeo's flag for the registries.conf the caller names (CONTAINERS_REGISTRIES_CONF,
        as buildah and podman read it; skopeo reads only its own flag), copied into the root."""
        conf = os.environ.get(REGISTRIES_CONF_ENV)
        if not conf:
            return []
        copy = self.shared("registries") / "registries.conf"
        shutil.copyfile(conf, copy)
        return ["--registries-conf", self.inside(copy)]
