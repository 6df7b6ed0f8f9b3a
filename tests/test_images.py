"""The pure parts of tools/images.py: which Docker engines build reproducibly, image archives."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tools import images

CONTAINERD = [["driver-type", images.CONTAINERD_STORE]]
OVERLAY2 = [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]]


def engine(
    version: str,
    *,
    buildx: bool = True,
    buildkit: str = "",
    driver_status: list[list[str]] = CONTAINERD,
) -> images.DockerEngine:
    info = {"ServerVersion": version, "DriverStatus": driver_status}
    return images.DockerEngine.from_info(info, buildx=buildx, buildkit=buildkit)


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
    assert images.version_tuple(text) == expected


def test_buildkit_version_is_read_from_buildx_inspect() -> None:
    inspected = (
        "Name:   default\nDriver: docker\n\nNodes:\nName:             default\n"
        "Status:           running\nBuildKit version: v0.13.2\nPlatforms:        linux/amd64\n"
    )
    assert images.buildkit_version(inspected) == "v0.13.2"
    assert images.buildkit_version("Driver: docker\n") == ""


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


def test_buildah_and_podman_are_reproducible_whatever_docker_is() -> None:
    assert images.Builder("buildah").why_not_reproducible is None
    assert images.Builder("podman").reproducible


# ---- archives ---------------------------------------------------------------------


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


LAYERS = [tar_bytes({"etc/os-release": b"trixie\n"}), tar_bytes({"app/main.py": b"print()\n"})]
DIFF_IDS = [digest(layer) for layer in LAYERS]
CONFIG = json.dumps({"rootfs": {"type": "layers", "diff_ids": DIFF_IDS}}).encode()


def oci_archive(path: Path, *, nested_index: bool) -> Path:
    """A one-platform OCI layout, as BuildKit's oci exporter writes it."""
    blobs = {digest(data): data for data in (CONFIG, *LAYERS)}
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {"digest": digest(CONFIG)},
            "layers": [{"digest": digest(x)} for x in LAYERS],
        }
    ).encode()
    blobs[digest(manifest)] = manifest
    top = {"manifests": [{"digest": digest(manifest)}]}
    if nested_index:
        inner = json.dumps(top).encode()
        blobs[digest(inner)] = inner
        top = {"manifests": [{"digest": digest(inner)}]}
    files = {"index.json": json.dumps(top).encode(), "oci-layout": b'{"imageLayoutVersion":"1"}'}
    files |= {"blobs/" + d.replace(":", "/"): data for d, data in blobs.items()}
    path.write_bytes(tar_bytes(files))
    return path


def docker_archive(path: Path) -> Path:
    """A docker-archive, as `buildah push docker-archive:` writes it."""
    config_name = digest(CONFIG).removeprefix("sha256:") + ".json"
    layer_names = [f"{i}/layer.tar" for i in range(len(LAYERS))]
    manifest = [{"Config": config_name, "RepoTags": None, "Layers": layer_names}]
    files = {config_name: CONFIG, "manifest.json": json.dumps(manifest).encode()}
    files |= dict(zip(layer_names, LAYERS, strict=True))
    path.write_bytes(tar_bytes(files))
    return path


@pytest.fixture(
    params=["oci", "oci-nested-index", "docker-archive"],
)
def archive(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    if request.param == "docker-archive":
        return docker_archive(tmp_path / "image.tar")
    return oci_archive(tmp_path / "image.tar", nested_index=request.param == "oci-nested-index")


def test_the_config_read_from_an_archive_names_its_layers(archive: Path) -> None:
    config = images.archive_config(archive)
    assert config["rootfs"] == json.loads(CONFIG)["rootfs"]


def test_the_layers_of_an_unpacked_archive_come_bottom_first(
    archive: Path, tmp_path: Path
) -> None:
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    layers = images.archive_layers(unpacked)
    assert [path.read_bytes() for path in layers] == LAYERS


def test_an_archive_with_no_manifest_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tar"
    broken.write_bytes(tar_bytes({"oci-layout": b"{}"}))
    with pytest.raises(images.BuildError, match=r"index\.json"):
        images.archive_config(broken)


# ---- publishing ---------------------------------------------------------------------

BASES_LOCK = "# header\n\n[slim] rootfs.tar sha256:aa\nlibc6 2.41-12\npython3.13 3.13.5-2\n"


def images_json(**changes: object) -> dict[str, object]:
    built = {
        "builder": "buildah",
        "builder_version": "buildah version 1.28.2",
        "reproducible": True,
        "source_date_epoch": 1795758711,
        "revision": "4cfa9e21bda4ddd376a97241492187aa4f09e3e3",
        "tree_clean": True,
        "offline": True,
        "arch": "x86_64",
        "images": [
            {"variant": "slim", "tags": ["moscow-time:slim"], "image_id": "sha256:51"},
            {"variant": "distroless", "tags": ["moscow-time:distroless"], "image_id": "sha256:d1"},
        ],
    }
    return built | changes


def test_a_publication_names_the_commit_and_each_image_by_its_first_tag() -> None:
    published = images.publication(images_json(), BASES_LOCK)
    assert published["commit"] == "4cfa9e21bda4ddd376a97241492187aa4f09e3e3"
    assert published["images"] == {
        "moscow-time:slim": "sha256:51",
        "moscow-time:distroless": "sha256:d1",
    }
    assert "libc6 2.41-12" in published["bases_lock"]


def test_a_rebuild_with_the_same_ids_is_the_same() -> None:
    published = images.publication(images_json(), BASES_LOCK)
    verdict = images.compare_publication(published, dict(published))
    assert verdict.status == "same"
    assert any("sha256:51" in line and "True" in line for line in verdict.lines)


def test_other_ids_from_the_same_builder_and_packages_differ() -> None:
    published = images.publication(images_json(), BASES_LOCK)
    rebuilt = published | {"images": published["images"] | {"moscow-time:slim": "sha256:52"}}
    verdict = images.compare_publication(published, rebuilt)
    assert verdict.status == "differs"
    assert any("sha256:52" in line and "False" in line for line in verdict.lines)


def test_other_ids_after_the_mirror_moved_are_incomparable_and_name_the_packages() -> None:
    published = images.publication(images_json(), BASES_LOCK)
    moved = BASES_LOCK.replace("libc6 2.41-12", "libc6 2.41-12+deb13u1")
    rebuilt = images.publication(
        images_json(images=[{"tags": ["moscow-time:slim"], "image_id": "sha256:52"}]), moved
    )
    verdict = images.compare_publication(published, rebuilt)
    assert verdict.status == "incomparable"
    assert "mirror moved" in verdict.reason
    assert "-libc6 2.41-12" in verdict.lines
    assert "+libc6 2.41-12+deb13u1" in verdict.lines


@pytest.mark.parametrize(
    ("key", "value"), [("builder_version", "buildah version 1.39.3"), ("arch", "aarch64")]
)
def test_another_builder_version_or_cpu_is_incomparable(key: str, value: str) -> None:
    published = images.publication(images_json(), BASES_LOCK)
    rebuilt = images.publication(images_json(**{key: value}), BASES_LOCK)
    verdict = images.compare_publication(published, rebuilt)
    assert verdict.status == "incomparable"
    assert value in verdict.reason


def test_the_published_ids_are_of_a_commit_in_this_history() -> None:
    published = json.loads(images.PUBLISHED_IDS.read_text())
    if images.capture("git", "rev-parse", "--is-shallow-repository") == "true":
        pytest.skip("a shallow clone does not hold the published commit")
    ancestor = subprocess.run(
        ["git", "merge-base", "--is-ancestor", published["commit"], "HEAD"], check=False
    )
    assert ancestor.returncode == 0, f"{published['commit']} is not an ancestor of HEAD"
    assert set(published["images"]) == {v.tag() for v in images.VARIANTS.values()}
