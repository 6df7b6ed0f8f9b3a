"""tools.builders.archives: docker-archives and OCI layouts read alike; config noise removed."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tools.builders import archives
from tools.process import BuildError


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
    config = archives.archive_config(archive)
    assert config["rootfs"] == json.loads(CONFIG)["rootfs"]


def test_the_layers_of_an_unpacked_archive_come_bottom_first(
    archive: Path, tmp_path: Path
) -> None:
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        archives.extract_all(tar, unpacked)
    layers = archives.archive_layers(unpacked)
    assert [path.read_bytes() for path in layers] == LAYERS


def test_an_archive_with_no_manifest_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.tar"
    broken.write_bytes(tar_bytes({"oci-layout": b"{}"}))
    with pytest.raises(BuildError, match=r"index\.json"):
        archives.archive_config(broken)


NOISY_CONFIG = {
    "container": "8f2c",
    "parent": "sha256:intermediate",
    "config": {"Hostname": "8f2c", "Labels": {"a": "b"}},
    "container_config": {"Hostname": "8f2c"},
    "history": [{"created_by": "ADD rootfs.tar /", "comment": "FROM sha256:1234"}, {"x": 1}],
    "rootfs": {"type": "layers", "diff_ids": DIFF_IDS},
}


def test_normalizing_drops_buildahs_per_build_noise_and_keeps_the_rest() -> None:
    clean = archives.normalized_config(NOISY_CONFIG)
    assert "container" not in clean
    assert "parent" not in clean
    assert clean["config"] == {"Hostname": "", "Labels": {"a": "b"}}
    assert clean["history"] == [{"created_by": "ADD rootfs.tar /"}, {"x": 1}]
    assert clean["rootfs"] == NOISY_CONFIG["rootfs"]
    assert NOISY_CONFIG["container"] == "8f2c", "the input is left alone"


def test_normalizing_sets_the_builds_labels_over_the_dockerfiles() -> None:
    noisy = {**NOISY_CONFIG, "container_config": {"Labels": {"a": "b", "r": "old"}}}
    clean = archives.normalized_config(noisy, {"r": "abc123", "v": "1.0"})
    assert clean["config"]["Labels"] == {"a": "b", "r": "abc123", "v": "1.0"}
    assert clean["container_config"]["Labels"] == {"a": "b", "r": "abc123", "v": "1.0"}
    assert archives.normalized_config(noisy)["config"]["Labels"] == {"a": "b"}


def test_a_config_only_image_names_the_manifests_layers_and_holds_none(tmp_path: Path) -> None:
    layers = [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar", "size": 3,
               "digest": digest} for digest in DIFF_IDS]  # fmt: skip
    manifest = {"schemaVersion": 2, "config": {"digest": "sha256:noisy", "size": 1},
                "layers": layers}  # fmt: skip
    config = archives.normalized_config(NOISY_CONFIG)
    image_id = archives.write_config_only_image(tmp_path / "clean", manifest, config)
    encoded = json.dumps(config, separators=(",", ":")).encode()
    assert image_id == "sha256:" + hashlib.sha256(encoded).hexdigest()
    written = json.loads((tmp_path / "clean" / "manifest.json").read_text())
    assert written["config"] == {"digest": image_id, "size": len(encoded)}
    assert written["layers"] == layers
    assert (tmp_path / "clean" / image_id.removeprefix("sha256:")).read_bytes() == encoded
    assert sorted(p.name for p in (tmp_path / "clean").iterdir()) == sorted(
        ["version", "manifest.json", image_id.removeprefix("sha256:")]
    ), "no layer is written: the store has them"


# ---- hostile archives: refused on either Python, the member named ---------------------


def hostile(tmp_path: Path, member: tarfile.TarInfo, data: bytes = b"") -> tarfile.TarFile:
    path = tmp_path / "hostile.tar"
    with tarfile.open(path, "w") as tar:
        safe = tarfile.TarInfo("fine.txt")
        tar.addfile(safe, io.BytesIO(b""))
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    return tarfile.open(path)


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


#: Each kind, given the test's tmp_path: an escape lands there (beside the destination,
#: tmp_path/out), never elsewhere on the machine, even when a mutant lets it through.
HOSTILE_MEMBERS: dict[str, Callable[[Path], tarfile.TarInfo]] = {
    "a path that climbs": lambda tmp: member("../escaped.txt"),
    "an absolute path": lambda tmp: member(str(tmp / "escaped-absolute.txt")),
    "a symlink out": lambda tmp: member("link", tarfile.SYMTYPE, "../../etc/passwd"),
    "a symlink to an absolute path": lambda tmp: member(
        "abs-link", tarfile.SYMTYPE, "/etc/passwd"
    ),
    "a hardlink out": lambda tmp: member("hard", tarfile.LNKTYPE, "../outside"),
    "a device file": lambda tmp: member("dev/sda", tarfile.BLKTYPE),
}


@pytest.mark.parametrize("filters", [True, False], ids=["tarfile filters", "Debian 12's 3.11.2"])
@pytest.mark.parametrize("kind", list(HOSTILE_MEMBERS))
def test_a_hostile_member_is_refused_and_nothing_lands_outside(
    kind: str, filters: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not filters:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    elif not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python has no tarfile filters: the other case covers it")
    destination = tmp_path / "out"
    destination.mkdir()
    bad = HOSTILE_MEMBERS[kind](tmp_path)
    with hostile(tmp_path, bad) as tar, pytest.raises((BuildError, tarfile.TarError)) as refused:
        archives.extract_all(tar, destination)
    if not filters:  # our own check names the member
        assert bad.name in str(refused.value)
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "escaped-absolute.txt").exists()


def test_a_symlink_inside_the_destination_is_unpacked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    destination = tmp_path / "out"
    destination.mkdir()
    with hostile(tmp_path, member("inner-link", tarfile.SYMTYPE, "fine.txt")) as tar:
        archives.extract_all(tar, destination)
    assert (destination / "inner-link").is_symlink()


def test_a_config_with_none_of_the_noise_is_left_as_it_is() -> None:
    bare = {"rootfs": {"type": "layers", "diff_ids": DIFF_IDS}, "history": [{"created_by": "x"}]}
    assert archives.normalized_config(bare) == bare
    assert archives.normalized_config({}) == {}


def test_a_config_only_image_is_written_into_a_new_or_an_existing_directory(
    tmp_path: Path,
) -> None:
    manifest = {"schemaVersion": 2, "config": {"digest": "sha256:x", "size": 1}, "layers": []}
    nested = tmp_path / "not" / "yet"
    first = archives.write_config_only_image(nested, manifest, {"a": 1})
    assert archives.write_config_only_image(nested, manifest, {"a": 1}) == first


def test_a_directory_member_reads_as_nothing(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        directory = tarfile.TarInfo("etc")
        directory.type = tarfile.DIRTYPE
        tar.addfile(directory)
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as tar:
        read = archives.tar_reader(tar)
        assert read("etc") is None
        assert read("missing") is None
