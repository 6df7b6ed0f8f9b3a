"""Online builds on the exact upstream references, served by a loopback mirror: the lock,
two builds, a moved tag, and a locked digest the registry lacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.builders.libpod import Buildah
from tools.images.appimages import base_image_ids, build_variant
from tools.images.context import Build
from tools.images.options import Options
from tools.images.pipeline import prepare_bases
from tools.images.plan import make_plan
from tools.images.record import Built
from tools.inputs.baselock import BaseLock, lock_upstream, moved, skopeo_resolver
from tools.inputs.wheelhouse import download_wheelhouse
from tools.model import BASES, VARIANTS, host_platform
from tools.process import BuildError, capture, run_shown
from tools.release.registry import LoopbackRegistry
from tools.settings import Settings

BASE_NAME_LABEL = "org.opencontainers.image.base.name"
#: Pushes images as one index to a path in the loopback registry (conftest's `push`).
Push = Callable[[str, list[str]], str]


def locked_here(path: Path) -> BaseLock:
    """`nox -s lock`'s upstream step, into `path`."""
    return lock_upstream(path, skopeo_resolver(run_shown))


def online_build(builder: Buildah, lock: Path, store: Path, *, no_cache: bool) -> Built:
    """The slim image for this machine on the locked upstream bases, frozen, in an empty
    store that pulls them through the mirror."""
    settings = Settings(offline=False, frozen=True, bases_lock=lock)
    plan, _ = make_plan(Options(builder="buildah", no_cache=no_cache), settings)
    build = Build(plan, builder, python=sys.executable)
    download_wheelhouse(run_shown, python=sys.executable, platform=plan.host)
    with builder.separate_store(store):
        prepare_bases(build)
        built = build_variant(
            build, VARIANTS["slim"], plan.host, base_image_ids(build), load=False
        )
        label = builder.labels(built.image_id)[BASE_NAME_LABEL]
    assert label == plan.base(plan.host, "slim"), "the label names the digest that was used"
    return built


def test_the_lock_resolves_each_upstream_tag_through_the_mirror(
    upstream: dict[str, str], tmp_path: Path
) -> None:
    pushed = upstream
    lock = locked_here(tmp_path / "bases.lock.json")
    print((tmp_path / "bases.lock.json").read_text())
    for name, digest in pushed.items():
        entry = lock.bases[name]
        assert entry.reference == BASES[name].upstream
        assert entry.index == digest, "the digest the registry gave when the index was pushed"
        assert host_platform().name in entry.platforms


def test_two_online_builds_agree_and_a_moved_tag_changes_neither(
    upstream: dict[str, str], builder: Buildah, push: Push, tmp_path: Path
) -> None:
    pushed = upstream
    lock = tmp_path / "bases.lock.json"
    locked_here(lock)
    first = online_build(builder, lock, tmp_path / "store-1", no_cache=False)
    # Another image under the slim tag: the distroless stand-in, as an upstream rebuild would.
    other = builder.image_id(BASES["distroless"].standin_for(host_platform()))
    assert other is not None
    now = push(BASES["slim"].upstream.split("/", 1)[1], [other])
    report = moved(BaseLock.read(lock), skopeo_resolver(run_shown), time.time())
    print("\n".join(report))
    assert report == [
        f"{BASES['slim'].upstream} moved: {pushed['slim']} → {now}, resolved 0 days ago"
    ]
    second = online_build(builder, lock, tmp_path / "store-2", no_cache=True)
    print(f"online builds, before and after the tag moved: {first.image_id}, {second.image_id}")
    assert second.image_id == first.image_id


def test_a_locked_digest_the_registry_lacks_is_one_line_naming_the_base(
    upstream: dict[str, str], builder: Buildah, push: Push, tmp_path: Path
) -> None:
    lock = tmp_path / "bases.lock.json"
    locked = locked_here(lock)
    # A digest skopeo resolved, but of another repository: python's has no such manifest.
    host_slim = builder.image_id(BASES["slim"].standin_for(host_platform()))
    assert host_slim is not None
    elsewhere = push("elsewhere/python:gone", [host_slim])
    entry = locked.bases["slim"]
    data = json.loads(lock.read_text())
    data["bases"]["slim"] = {**data["bases"]["slim"], "index": elsewhere}
    lock.write_text(json.dumps(data))
    settings = Settings(offline=False, frozen=True, bases_lock=lock)
    plan, _ = make_plan(Options(builder="buildah"), settings)
    with builder.separate_store(tmp_path / "store"), pytest.raises(BuildError) as refused:
        prepare_bases(Build(plan, builder, python=sys.executable))
    message = str(refused.value)
    print(f"refused: {message}")
    assert "\n" not in message
    assert message.startswith(f"cannot pull the slim base {entry.reference}@{elsewhere}")
    assert "`nox -s lock`" in message


def test_docker_pulls_a_locked_digest_by_name_tag_and_digest(
    upstream: dict[str, str], registry: LoopbackRegistry, builder: Buildah
) -> None:
    """Docker's `registry-mirrors` covers docker.io only, so Docker is given the registry by
    name (as MOSCOW_TIME_PYTHON_IMAGE would be); `NAME:TAG@sha256:…` pulls the digest."""
    if (
        shutil.which("docker") is None
        or subprocess.run(["docker", "info"], capture_output=True, check=False).returncode
    ):
        pytest.skip("no Docker engine answers here: `bin/setup` starts one")
    reference = f"{registry.address}/{BASES['slim'].upstream.split('/', 1)[1]}@{upstream['slim']}"
    pulled = subprocess.run(
        ["docker", "pull", "--quiet", reference], capture_output=True, text=True, check=False
    )
    assert pulled.returncode == 0, pulled.stderr
    try:
        found = capture("docker", "image", "inspect", "--format", "{{.Id}}", pulled.stdout.strip())
        assert found == builder.image_id(BASES["slim"].standin_for(host_platform()))
        gone = reference[:-4] + ("0000" if not reference.endswith("0000") else "1111")
        missing = subprocess.run(
            ["docker", "pull", gone], capture_output=True, text=True, check=False
        )
        print(f"docker pull of a digest the registry lacks: {missing.stderr.strip()}")
        assert missing.returncode != 0
        assert "manifest unknown" in missing.stderr
    finally:
        subprocess.run(["docker", "rmi", pulled.stdout.strip()], capture_output=True, check=False)
