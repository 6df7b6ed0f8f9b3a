"""tools.builders.engine: which Docker engines build reproducibly, and why the others do not."""

from __future__ import annotations

import pytest

from tools.builders import engine as docker_engine

CONTAINERD = [["driver-type", docker_engine.CONTAINERD_STORE]]
OVERLAY2 = [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]]


def engine(
    version: str,
    *,
    buildx: bool = True,
    buildkit: str = "",
    driver_status: list[list[str]] = CONTAINERD,
) -> docker_engine.DockerEngine:
    info = {"ServerVersion": version, "DriverStatus": driver_status}
    return docker_engine.DockerEngine.from_info(info, buildx=buildx, buildkit=buildkit)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("26.1.5+dfsg1", (26, 1, 5)),
        ("20.10.24+dfsg1", (20, 10, 24)),
        ("v0.13.2", (0, 13, 2)),
        ("v0.0.0+unknown", (0, 0, 0)),
        ("", ()),
        ("unknown", ()),
    ],
)
def test_version_tuple_reads_the_leading_numbers(text: str, expected: tuple[int, ...]) -> None:
    assert docker_engine.version_tuple(text) == expected


def test_buildkit_version_is_read_from_buildx_inspect() -> None:
    inspected = (
        "Name:   default\nDriver: docker\n\nNodes:\nName:             default\n"
        "Status:           running\nBuildKit version: v0.13.2\nPlatforms:        linux/amd64\n"
    )
    assert docker_engine.buildkit_version(inspected) == "v0.13.2"
    assert docker_engine.buildkit_version("Driver: docker\n") == ""


def test_docker_20_10_is_not_reproducible_and_says_its_buildkit_is_too_old() -> None:
    reason = engine("20.10.24+dfsg1", buildx=False, driver_status=OVERLAY2).why_not_reproducible()
    assert reason is not None
    assert "20.10.24" in reason
    assert "0.13" in reason


def test_a_known_buildkit_version_wins_over_the_engine_version() -> None:
    assert engine("27.0.0", buildkit="v0.12.5").why_not_reproducible() is not None
    assert engine("25.0.0", buildkit="v0.13.0").why_not_reproducible() is None


def test_debians_unknown_buildkit_version_is_judged_by_the_engine() -> None:
    assert engine("26.1.5+dfsg1", buildkit="v0.0.0+unknown").why_not_reproducible() is None
    assert engine("25.0.5", buildkit="v0.0.0+unknown").why_not_reproducible() is not None


def test_a_new_engine_without_buildx_names_the_package_to_install() -> None:
    reason = engine("26.1.5", buildx=False).why_not_reproducible()
    assert reason is not None
    assert "docker-buildx" in reason


def test_a_new_engine_on_the_classic_image_store_names_the_setting() -> None:
    reason = engine("26.1.5", driver_status=OVERLAY2).why_not_reproducible()
    assert reason is not None
    assert "containerd-snapshotter" in reason


def test_a_new_engine_with_buildx_and_the_containerd_store_is_reproducible() -> None:
    assert engine("28.2.2").why_not_reproducible() is None
