"""tools.builders: one class per builder, picked by name or by what is installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import builders
from tools.builders.docker import DockerBuildKit, DockerClassic
from tools.builders.libpod import Buildah, Podman
from tools.process import BuildError
from tools.settings import Settings


def test_buildah_and_podman_are_reproducible_whatever_docker_is() -> None:
    assert Buildah().why_not_reproducible is None
    assert Podman().reproducible


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The host programs this test pretends are installed; no Docker engine answers. The
    toolchain can run when mmdebstrap, apt-ftparchive and unshare are here (as root)."""
    present: set[str] = set()
    monkeypatch.setattr("tools.builders.pick.have", lambda name: name in present)
    monkeypatch.setattr("tools.inputs.toolchain.have", lambda name: name in present)
    monkeypatch.setattr("tools.inputs.toolchain.os.geteuid", lambda: 0)
    monkeypatch.setattr("tools.builders.engine.docker_running", lambda: False)
    monkeypatch.setattr("tools.builders.engine.docker_engine", lambda: None)
    return present


TOOLCHAIN_HOST = {"mmdebstrap", "apt-ftparchive", "unshare"}


def test_buildah_from_the_toolchain_is_picked_where_the_toolchain_can_run(
    installed: set[str],
) -> None:
    installed.update(TOOLCHAIN_HOST)
    assert isinstance(builders.pick_builder(None), Buildah)


def test_without_the_toolchain_docker_is_picked_only_if_its_engine_answers(
    installed: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    installed.update({"docker", "buildah", "podman", "mmdebstrap", "unshare"})
    with pytest.raises(
        BuildError,
        match=r"^no container builder can run: apt-ftparchive is not installed \(apt-utils\)",
    ):
        builders.pick_builder(None)
    monkeypatch.setattr("tools.builders.engine.docker_running", lambda: True)
    assert builders.pick_builder(None).name == "docker"


def test_the_environment_names_the_builder_through_the_settings(installed: set[str]) -> None:
    installed.update(TOOLCHAIN_HOST)
    settings = Settings.read({"MOSCOW_TIME_BUILDER": "podman"})
    assert isinstance(builders.pick_builder(settings.builder), Podman)


@pytest.mark.parametrize(
    ("requested", "message"),
    [
        ("kaniko", "unknown builder 'kaniko': choose one of buildah, podman, docker"),
        (
            "podman",
            r"podman runs from the locked toolchain, and mmdebstrap is not installed "
            r"\(mmdebstrap\); it installs the locked toolchain: run `bin/setup`",
        ),
        ("docker", "builder 'docker' is not installed: `bin/setup` installs it"),
    ],
)
def test_a_builder_that_cannot_be_had_is_a_clear_error(
    installed: set[str], requested: str, message: str
) -> None:
    with pytest.raises(BuildError, match=message):
        builders.pick_builder(requested)


def test_docker_without_an_engine_builds_classically_and_says_why(installed: set[str]) -> None:
    installed.add("docker")
    builder = builders.pick_builder("docker")
    assert isinstance(builder, DockerClassic)
    assert builder.why_not_reproducible == "no Docker engine answers"
    warning = builders.warning(builder)
    assert warning is not None
    assert "--builder buildah" in warning


def test_a_reproducible_build_refuses_a_classic_docker(installed: set[str]) -> None:
    installed.add("docker")
    with pytest.raises(BuildError, match=r"docker cannot build reproducibly here .*use buildah"):
        builders.pick_builder("docker", reproducible=True)


def test_a_docker_engine_with_buildkit_0_13_gets_the_buildkit_builder(
    installed: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tools.builders.engine import CONTAINERD_STORE, DockerEngine

    installed.add("docker")
    info = {"ServerVersion": "26.1.5", "DriverStatus": [["driver-type", CONTAINERD_STORE]]}
    found = DockerEngine.from_info(info, buildx=True, buildkit="v0.13.1")
    monkeypatch.setattr("tools.builders.engine.docker_engine", lambda: found)
    builder = builders.pick_builder("docker", reproducible=True)
    assert isinstance(builder, DockerBuildKit)
    assert builders.warning(builder) is None


def test_buildah_names_unqualified_images_under_localhost() -> None:
    assert Buildah().local_name("moscow-time:slim") == "localhost/moscow-time:slim"
    assert Buildah().local_name("docker.io/library/python:3.13") == "docker.io/library/python:3.13"
    assert DockerClassic("old").local_name("moscow-time:slim") == "moscow-time:slim"


def test_a_build_request_turns_off_the_network_and_passes_tags_args_and_labels(
    tmp_path: Path,
) -> None:
    request = builders.BuildRequest(
        containerfile=tmp_path / "Dockerfile",
        context=tmp_path,
        tags=["a:1", "a:2"],
        timestamp=1,
        build_args={"X": "1"},
        labels={"l": "v"},
        no_cache=True,
    )
    args = request.common_args(tmp_path / "iid")
    assert args[0] == "--network=none"
    assert args.count("--tag") == 2
    assert "X=1" in args
    assert "l=v" in args
    assert args[-1] == "--no-cache"


@pytest.mark.parametrize("builder", [Buildah(), Podman()], ids=["buildah", "podman"])
def test_a_run_step_gets_limits_runc_may_set_without_cap_sys_resource(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, builder: Buildah | Podman
) -> None:
    ran: list[tuple[str, ...]] = []

    def run(*args: str, **_: object) -> None:
        ran.append(args)
        Path(args[args.index("--iidfile") + 1]).write_text("sha256:built\n")

    monkeypatch.setattr(type(builder), "normalize", lambda self, image_id, tags, labels: image_id)
    request = builders.BuildRequest(tmp_path / "Dockerfile", tmp_path, ["a:1"], timestamp=1)
    assert builder.build(run, request) == "sha256:built"
    [args] = ran
    limits = [args[i + 1] for i, arg in enumerate(args) if arg == "--ulimit"]
    assert limits == ["nofile=4096:4096", "nproc=4096:4096"]
    assert args[:2] == (builder.name, "build")


def test_a_buildkit_image_with_no_kept_archive_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="build it again"):
        DockerBuildKit().archive("sha256:" + "0" * 64, tmp_path)


@pytest.mark.parametrize(
    ("builder", "listed"),
    [
        (Buildah(), '[{"id": "sha256:aa", "names": ["x:1"]}, {"id": "sha256:bb", "names": null}]'),
        (Podman(), '[{"Id": "aa", "Names": ["x:1"]}, {"Id": "bb"}]'),
    ],
)
def test_the_unnamed_images_are_read_from_either_programs_listing(
    builder: Buildah | Podman, listed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[str, ...]] = []

    def capture(*args: str, check: bool = True) -> str:
        asked.append(args)
        return listed

    monkeypatch.setattr("tools.builders.interface.capture", capture)
    assert builder.unnamed_images() == {"sha256:bb"}
    assert asked[0][:4] == (builder.name, "images", "--all", "--no-trunc")


def test_removing_no_image_runs_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tools.builders.libpod.capture", lambda *args, **kw: pytest.fail(args))
    Buildah().remove_images(lambda *args: None, set())
