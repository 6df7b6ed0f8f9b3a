"""tools.appimages, tools.bases, tools.wheelhouse: what each build is asked to do."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from tools import appimages, bases, wheelhouse
from tools.builders.libpod import Buildah
from tools.project import BASES, PYTHON_VERSION, SUITE, VARIANTS, VERSION

COMMIT = appimages.Commit("4cfa9e21bda4ddd376a97241492187aa4f09e3e3", 1795758711)
STANDINS = {name: base.standin for name, base in BASES.items()}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_an_app_image_is_tagged_by_variant_version_and_commit(name: str) -> None:
    request = appimages.build_request(VARIANTS[name], STANDINS, COMMIT, no_cache=False)
    assert list(request.tags) == [
        f"moscow-time:{name}",
        f"moscow-time:{VERSION}-{name}",
        f"moscow-time:4cfa9e21bda4-{name}",
    ]


def test_the_distroless_image_names_both_bases_and_labels_its_runtime_base() -> None:
    request = appimages.build_request(VARIANTS["distroless"], STANDINS, COMMIT, no_cache=True)
    assert request.build_args["PYTHON_IMAGE"] == BASES["slim"].standin
    assert request.build_args["DISTROLESS_IMAGE"] == BASES["distroless"].standin
    assert request.build_args["PYTHON_VERSION"] == PYTHON_VERSION
    assert request.labels["org.opencontainers.image.base.name"] == BASES["distroless"].standin
    assert request.labels["org.opencontainers.image.created"] == "2026-11-27T05:51:51Z"
    assert request.timestamp == COMMIT.epoch
    assert request.no_cache


def test_the_wheelhouse_takes_both_locks_for_the_images_python_and_cpu() -> None:
    args = wheelhouse.download_args(python="python", arch="aarch64")
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
    args = bases.RECIPES[name].mmdebstrap_args(BASES[name].workdir / "rootfs.tar")
    assert args[-2] == SUITE
    assert not any("://" in arg for arg in args)
    repository = BASES[name].workdir / "debs"
    locked = bases.RECIPES[name].mmdebstrap_args(Path("rootfs.tar"), repository=repository)
    assert locked[-1] == f"deb [trusted=yes] copy://{repository} ./"


def test_the_distroless_stand_in_takes_exactly_upstreams_package_list() -> None:
    recipe = bases.RECIPES["distroless"]
    assert recipe.variant == "extract"
    assert "python3.13-minimal" in recipe.packages
    assert "bash" not in recipe.packages
    assert "./var/lib/dpkg/status" in recipe.leftovers


def test_a_stand_in_made_for_another_commit_is_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    current = {name: base.expected_labels("2026-11-27T05:51:51Z") for name, base in BASES.items()}
    labels = {BASES["slim"].standin: current["slim"], BASES["distroless"].standin: {}}
    monkeypatch.setattr(Buildah, "labels", lambda self, image: labels[image])
    assert bases.stale_bases(Buildah(), epoch=COMMIT.epoch) == ["distroless"]


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
