"""The rendered Kubernetes manifests, run on a real engine: `podman kube play`.

What makes podman run here: the sandbox lacks CAP_SYS_RESOURCE, and podman
asks runc for RLIMIT_NPROC and RLIMIT_NOFILE values it may not set
("error setting rlimit type 6: operation not permitted"). Limits at or below
4096 are allowed, so a containers.conf sets them (measured: nproc 4096 runs,
65536 fails, though the shell's hard limit is 96364). Pods need a pause image,
which podman builds from `catatonit`.

The play is the Deployment as rendered, with one replica and its port
published on 127.0.0.1 (hostIP, hostPort) so that /healthz can be asked from
the host. Debian 12's podman cannot check sigstore signatures, so every image
the manifests name passes the policy gate (`policy.Gate`) before podman pulls
it.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import yaml

from tools.process import BuildError
from tools.release.references import Repository

CONTAINERS_CONF = """\
# Written by tools/release/kubeplay.py: limits runc may set in this sandbox.
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

# crun, which Debian 13's podman prefers when installed, fails on these
# machines ("cgroups in hybrid mode not supported"); runc comes with docker.io.
[engine]
runtime = "runc"
"""


def registries_conf(repository: Repository) -> str:
    """Plain HTTP for a loopback registry; nothing is said of any other."""
    if not repository.loopback:
        return ""
    return f'[[registry]]\nlocation = "{repository.registry}"\ninsecure = true\n'


def deployments(documents: Sequence[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return (d for d in documents if d and d.get("kind") == "Deployment")


def images(documents: Sequence[dict[str, Any]]) -> list[str]:
    """Every image the Deployments run."""
    return [
        container["image"]
        for deployment in deployments(documents)
        for container in deployment["spec"]["template"]["spec"]["containers"]
    ]


def playable(documents: Sequence[dict[str, Any]], host_port: int) -> list[dict[str, Any]]:
    """The manifests with one replica and the `http` port published on 127.0.0.1."""
    played = copy.deepcopy(list(documents))
    found = False
    for deployment in deployments(played):
        deployment["spec"]["replicas"] = 1
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for port in container.get("ports", []):
                if port.get("name") == "http":
                    port["hostIP"], port["hostPort"] = "127.0.0.1", host_port
                    found = True
    if not found:
        raise BuildError("no Deployment in the manifests has a port named http")
    return played


class KubePlay:
    """`podman kube play` of some manifests for the length of a `with` block."""

    def __init__(self, manifests: Path, workdir: Path, repository: Repository) -> None:
        if shutil.which("podman") is None or shutil.which("catatonit") is None:
            raise BuildError("kube play needs podman and catatonit: run `bin/setup`")
        self.manifests, self.workdir = manifests, workdir
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "containers.conf").write_text(CONTAINERS_CONF)
        (workdir / "registries.conf").write_text(registries_conf(repository))
        self.env = os.environ | {
            "CONTAINERS_CONF": str(workdir / "containers.conf"),
            "CONTAINERS_REGISTRIES_CONF": str(workdir / "registries.conf"),
        }

    def podman(self, *args: str) -> subprocess.CompletedProcess[str]:
        # A store of its own, as a machine that deploys has: pulling into the
        # builder's store gave the built images a second manifest (the same
        # image ID), and the build's image index could no longer be pushed.
        storage = ["--root", str(self.workdir / "storage"), "--runroot", str(self.workdir / "run")]
        return subprocess.run(
            ["podman", *storage, *args], capture_output=True, text=True, env=self.env, check=False
        )

    def __enter__(self) -> KubePlay:
        played = self.podman("kube", "play", str(self.manifests))
        if played.returncode != 0:
            self.__exit__(None, None, None)
            raise BuildError(f"podman kube play failed: {played.stderr.strip()}")
        return self

    def logs(self) -> str:
        listed = self.podman("ps", "--all", "--format", "{{.Names}}")
        names = [n for n in listed.stdout.split() if not n.endswith("-infra")]
        return "\n".join(self.podman("logs", name).stderr for name in names)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.podman("kube", "down", str(self.manifests))


def write_playable(rendered: str, host_port: int, destination: Path) -> list[str]:
    """The play's manifests from kustomize's output; the images they run."""
    documents = [d for d in yaml.safe_load_all(rendered) if d]
    destination.write_text(yaml.safe_dump_all(playable(documents, host_port), sort_keys=False))
    return images(documents)
