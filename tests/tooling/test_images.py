"""tools.images.appimages, standins, inputs.wheelhouse: what each build is asked to do."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tooling.makers import second_maker_waits
from tools.builders.libpod import Buildah
from tools.images import appimages
from tools.images import standins as bases
from tools.images.context import Build
from tools.images.plan import BuildPlan, base_references
from tools.inputs import wheelhouse
from tools.inputs.aptlock import Lock
from tools.inputs.recipes import RECIPES
from tools.model import (
    BASE_INPUTS_LABEL,
    BASES,
    CREATED_LABEL,
    PLATFORMS,
    PYTHON_VERSION,
    SUITE,
    VARIANTS,
    VERSION,
    Base,
    Platform,
    host_platform,
)
from tools.paths import ROOT
from tools.process import BuildError, rfc3339

AMD64, ARM64 = PLATFORMS["linux/amd64"], PLATFORMS["linux/arm64"]
OTHER = ARM64 if host_platform() != ARM64 else AMD64
PLAN = BuildPlan(
    builder="buildah",
    platforms=(host_platform().name, OTHER.name),
    bases=base_references([AMD64, ARM64], offline=True, upstream={}),
    revision="4cfa9e21bda4ddd376a97241492187aa4f09e3e3",
    epoch=1795758711,
    offline=True,
)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_an_app_image_is_tagged_by_variant_version_and_commit(name: str) -> None:
    request = appimages.build_request(PLAN, VARIANTS[name], host_platform())
    assert list(request.tags) == [
        f"moscow-time:{name}",
        f"moscow-time:{VERSION}-{name}",
        f"moscow-time:4cfa9e21bda4-{name}",
    ]


def test_the_distroless_image_names_both_bases_and_labels_its_runtime_base() -> None:
    request = appimages.build_request(
        PLAN.replace(no_cache=True), VARIANTS["distroless"], host_platform()
    )
    assert request.build_args["PYTHON_IMAGE"] == BASES["slim"].standin
    assert request.build_args["DISTROLESS_IMAGE"] == BASES["distroless"].standin
    assert request.build_args["PYTHON_VERSION"] == PYTHON_VERSION
    assert request.labels["org.opencontainers.image.base.name"] == BASES["distroless"].standin
    assert request.labels["org.opencontainers.image.created"] == "2026-11-27T05:51:51Z"
    assert request.timestamp == PLAN.epoch
    assert request.no_cache


@pytest.mark.parametrize("platform", [AMD64, ARM64], ids=["amd64", "arm64"])
@pytest.mark.parametrize("name", list(VARIANTS))
def test_an_app_image_on_a_stand_in_carries_that_stand_ins_own_inputs_label(
    name: str, platform: Platform
) -> None:
    """Not the label of an earlier stand-in with the same layers, which buildah's cache keeps."""
    request = appimages.build_request(PLAN, VARIANTS[name], platform)
    runtime = BASES[VARIANTS[name].base_args[VARIANTS[name].runtime_arg]]
    assert request.labels[BASE_INPUTS_LABEL] == runtime.inputs_digest(platform)
    upstream = PLAN.replace(offline=False)
    assert (
        BASE_INPUTS_LABEL not in appimages.build_request(upstream, VARIANTS[name], platform).labels
    )


def test_the_wheelhouse_takes_both_locks_for_the_images_python_and_cpu() -> None:
    args = wheelhouse.download_args(python="python", arch="aarch64", dest=Path("wheels"))
    assert "--require-hashes" in args
    assert "manylinux_2_17_aarch64" in args
    assert args[args.index("--python-version") + 1] == PYTHON_VERSION
    assert [args[i + 1].rsplit("/", 1)[-1] for i, a in enumerate(args) if a == "-r"] == [
        "requirements.txt",
        "requirements-build.txt",
    ]


@pytest.mark.parametrize("name", list(BASES))
def test_a_stand_in_is_resolved_live_with_no_mirror_named_or_built_from_the_lock(
    name: str,
) -> None:
    args = RECIPES[name].mmdebstrap_args(BASES[name].workdir(ARM64) / "rootfs.tar", ARM64)
    assert args[-2] == SUITE
    assert "--arch=arm64" in args
    assert not any("://" in arg for arg in args)
    repository = BASES[name].workdir(AMD64) / "debs"
    locked = RECIPES[name].mmdebstrap_args(Path("rootfs.tar"), AMD64, repository=repository)
    assert locked[-1] == f"deb [trusted=yes] copy://{repository} ./"
    assert "--arch=amd64" in locked


def test_the_distroless_stand_in_takes_exactly_upstreams_package_list() -> None:
    recipe = RECIPES["distroless"]
    assert recipe.variant == "extract"
    assert "python3.13-minimal" in recipe.packages
    assert "bash" not in recipe.packages
    assert "./var/lib/dpkg/status" in recipe.leftovers


def made(base: Base, platform: Platform, lock_of: Platform | None = None) -> dict[str, str]:
    """The labels a stand-in made now from this checkout has (from another platform's lock)."""
    created = rfc3339(bases.standin_epoch(base, platform))
    return base.expected_labels(created, lock_of or platform)


def test_a_stand_in_is_stale_unless_dated_by_its_lock_and_made_from_its_recipe(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    labels = {
        BASES["slim"].standin: made(BASES["slim"], AMD64),
        BASES["distroless"].standin: {},
        BASES["slim"].standin_for(ARM64): made(BASES["slim"], ARM64)
        | {CREATED_LABEL: "2026-11-27T05:51:51Z"},
        BASES["distroless"].standin_for(ARM64): made(BASES["distroless"], ARM64, AMD64),
    }
    monkeypatch.setattr(Buildah, "labels", lambda self, image: labels[image])
    build = Build(PLAN, Buildah())
    assert bases.stale_bases(build, [AMD64]) == [BASES["distroless"].standin]
    # Dated by a commit, as before #25, and made from amd64's lock: both arm64 ones are stale.
    assert bases.stale_bases(build, [ARM64]) == [
        BASES["slim"].standin_for(ARM64),
        BASES["distroless"].standin_for(ARM64),
    ]


def test_a_stand_in_is_dated_when_its_packages_were_locked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        bases, "read_lock", lambda name, platform: Lock("2026-11-27T14:06:49Z", ())
    )
    assert rfc3339(bases.standin_epoch(BASES["slim"], ARM64)) == "2026-11-27T14:06:49Z"
    monkeypatch.setattr(bases, "read_lock", lambda name, platform: Lock("", ()))
    with pytest.raises(BuildError, match=r"slim\.arm64\.lock has no valid locked-at.*nox -s lock"):
        bases.standin_epoch(BASES["slim"], ARM64)


def test_stand_in_ids_are_read_from_the_store_and_a_missing_one_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stored = {BASES["slim"].standin_for(ARM64): "sha256:1"}
    monkeypatch.setattr(Buildah, "image_id", lambda self, image: stored.get(image))
    assert bases.standin_ids(Buildah(), [ARM64]) == {
        BASES["slim"].standin_for(ARM64): "sha256:1",
        BASES["distroless"].standin_for(ARM64): "(missing)",
    }


def test_one_platforms_lock_is_no_input_of_the_other_platforms_stand_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools import model

    for name in ("slim.Containerfile", "slim-hook.sh", "slim.amd64.lock"):
        (tmp_path / name).write_text(name)
    monkeypatch.setattr(model, "STANDIN_RECIPES", tmp_path)
    amd64 = BASES["slim"].inputs_digest(AMD64)
    (tmp_path / "slim.arm64.lock").write_text("arm64")
    assert BASES["slim"].inputs_digest(AMD64) == amd64, "arm64's lock changed amd64's inputs"
    arm64 = BASES["slim"].inputs_digest(ARM64)
    (tmp_path / "slim-hook.sh").write_text("edited")
    assert BASES["slim"].inputs_digest(AMD64) != amd64
    assert BASES["slim"].inputs_digest(ARM64) != arm64


def test_the_tooling_that_makes_a_stand_in_is_one_of_its_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools import model

    (tmp_path / "builders").mkdir()
    (tmp_path / "builders" / "libpod.py").write_text("normalize = 1")
    (tmp_path / "standins.py").write_text("RECIPES = {}")
    monkeypatch.setattr(model, "ROOT", tmp_path)
    monkeypatch.setattr(
        model, "STANDIN_TOOLING", (tmp_path / "standins.py", tmp_path / "builders")
    )
    before = BASES["distroless"].inputs_digest(AMD64)
    (tmp_path / "builders" / "libpod.py").write_text("normalize = 2")
    assert BASES["distroless"].inputs_digest(AMD64) != before


def test_the_slim_stand_in_compiles_no_bytecode_while_python_is_installed() -> None:
    """The essential hook stubs py_compile before python3's maintainer scripts run; the
    customize hook puts it back and drops the bytecode, as python:3.13-slim has none."""
    args = RECIPES["slim"].mmdebstrap_args(Path("rootfs.tar"), ARM64)
    hooks = [arg.split("=", 1)[0] for arg in args if arg.startswith("--") and "hook" in arg]
    assert hooks == ["--essential-hook", "--customize-hook"]
    essential = (ROOT / "standins" / "slim-essential-hook.sh").read_text()
    customize = (ROOT / "standins" / "slim-hook.sh").read_text()
    assert "--add /usr/lib/python3.13/py_compile.py" in essential
    assert "--remove /usr/lib/python3.13/py_compile.py" in customize
    assert "-name __pycache__" in customize


def test_amd64_keeps_the_stand_in_names_it_had_and_arm64_adds_its_architecture() -> None:
    # A base's name is in the app image's labels, so in its ID: amd64's IDs
    # must not change, and every host must name arm64's stand-ins alike.
    assert BASES["slim"].standin_for(AMD64) == BASES["slim"].standin
    assert BASES["slim"].standin_for(ARM64) == BASES["slim"].standin + "-arm64"
    assert BASES["slim"].workdir(AMD64) != BASES["slim"].workdir(ARM64)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_another_platform_is_built_from_its_own_bases_and_wheelhouse_under_its_own_tag(
    name: str,
) -> None:
    other = OTHER
    request = appimages.build_request(PLAN, VARIANTS[name], other)
    assert list(request.tags) == [f"moscow-time:{other.debian}-{name}"]
    assert request.platform == other.name
    assert request.build_args["WHEELHOUSE"] == f"build/wheelhouse/{other.debian}"
    runtime = request.build_args[VARIANTS[name].runtime_arg]
    assert runtime.endswith(other.suffix)
    assert request.labels["org.opencontainers.image.base.name"] == runtime
    # The builder stage runs natively, on the host's own stand-in, for the target's wheels.
    assert request.build_args["BUILDER_IMAGE"] == BASES["slim"].standin_for(host_platform())
    assert request.build_args["BUILDER_PLATFORM"] == host_platform().name
    assert request.build_args["WHEEL_MACHINE"] == other.machine
    assert request.build_args["IMAGE_PLATFORM"] == other.name


def test_dropping_members_keeps_the_rest_byte_for_byte(tmp_path: Path) -> None:
    tarball = tmp_path / "rootfs.tar"
    files = {"./etc/apt/sources.list": b"deb x", "./etc/passwd": b"root", "./var/lib/apt": None}
    with tarfile.open(tarball, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                info.pax_headers = {"mtime": "1795787241.820651112"}
                tar.addfile(info, io.BytesIO(data))
    bases.drop_members(tarball, ["./etc/apt", "./var/lib/apt"])
    with tarfile.open(tarball) as tar:
        assert tar.getnames() == ["./etc/passwd"]
        kept = tar.extractfile("./etc/passwd")
        assert kept is not None
        assert kept.read() == b"root"


def test_a_second_maker_of_stand_ins_waits_for_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bases, "STANDIN_WORKDIR", tmp_path)
    said: list[str] = []
    second_maker_waits(tmp_path / ".making", lambda: bases.exclusive(said.append))
    assert said == ["another session is making the stand-in bases: waiting for it to finish"]
