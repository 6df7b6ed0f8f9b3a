"""Which builder to use: the one asked for, or the first installed; and what to warn of."""

from __future__ import annotations

from tools.builders import engine
from tools.builders.docker import Docker, DockerBuildKit, DockerClassic
from tools.builders.interface import Builder
from tools.builders.libpod import Buildah, Podman
from tools.inputs.toolchain import missing_host_tools
from tools.process import BuildError, have

#: In order of preference: buildah and podman build reproducibly everywhere.
BUILDERS = ("buildah", "podman", "docker")
#: The builders that run from the locked toolchain, not the host.
FROM_TOOLCHAIN = ("buildah", "podman")


def docker_builder() -> Docker:
    """The Docker builder this engine supports."""
    found = engine.docker_engine()
    reason = "no Docker engine answers" if found is None else found.why_not_reproducible()
    return DockerClassic(reason) if reason else DockerBuildKit()


def named_builder(name: str) -> Builder:
    if name == "docker":
        return docker_builder()
    return {"buildah": Buildah, "podman": Podman}[name]()


def pick_builder(requested: str | None, *, reproducible: bool = False) -> Builder:
    """The builder asked for, else the first one installed.

    With `reproducible`, a builder that cannot build bit-for-bit here is an error.
    """
    name = requested or ""
    if name:
        if name not in BUILDERS:
            raise BuildError(f"unknown builder {name!r}: choose one of {', '.join(BUILDERS)}")
        if name in FROM_TOOLCHAIN and (reason := missing_host_tools()):
            raise BuildError(f"{name} runs from the locked toolchain, and {reason}")
        if name == "docker" and not have("docker"):
            raise BuildError("builder 'docker' is not installed: `bin/setup` installs it")
    elif reason := missing_host_tools():
        if not engine.docker_running():
            raise BuildError(f"no container builder can run: {reason}")
        name = "docker"
    else:
        name = BUILDERS[0]
    builder = named_builder(name)
    if reproducible and (reason := builder.why_not_reproducible):
        raise BuildError(f"{builder.name} cannot build reproducibly here ({reason}); use buildah")
    return builder


def warning(builder: Builder) -> str | None:
    """What to tell a user whose builder is not reproducible here, or None."""
    if reason := builder.why_not_reproducible:
        return (
            f"{builder.name} builds are not bit-for-bit reproducible here ({reason}); "
            "buildah's and podman's are: --builder buildah"
        )
    return None
