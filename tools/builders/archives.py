"""Image archives: reading a docker-archive or an OCI layout, and cleaning a buildah config.

Both formats are tarballs (or their unpacked directories) of JSON documents
and layer blobs; a `Reader` returns one member's bytes, so the same code reads
either, packed or unpacked.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tools.process import BuildError

#: Reads one member of an image archive, packed or unpacked; None if absent.
Reader = Callable[[str], bytes | None]


def tar_reader(tar: tarfile.TarFile) -> Reader:
    def read(name: str) -> bytes | None:
        try:
            member = tar.extractfile(name)
        except KeyError:
            return None
        return None if member is None else member.read()

    return read


def directory_reader(root: Path) -> Reader:
    return lambda name: (root / name).read_bytes() if (root / name).is_file() else None


def required(read: Reader, name: str) -> bytes:
    """One member of the archive, which must be there."""
    data = read(name)
    if data is None:
        raise BuildError(f"{name} missing from the image archive")
    return data


def blob_path(digest: str) -> str:
    """Where an OCI layout keeps the blob with this digest."""
    return "blobs/" + digest.replace(":", "/")


def archive_paths(read: Reader) -> tuple[str, list[str]]:
    """Where the config and the layers (bottom first) are in a docker-archive or OCI layout."""
    if (docker_manifest := read("manifest.json")) is not None:
        entry = json.loads(docker_manifest)[0]
        return entry["Config"], list(entry["Layers"])
    document = json.loads(required(read, "index.json"))
    while "manifests" in document:  # an index, perhaps of further indexes
        document = json.loads(required(read, blob_path(document["manifests"][0]["digest"])))
    return blob_path(document["config"]["digest"]), [
        blob_path(x["digest"]) for x in document["layers"]
    ]


def archive_config(archive: Path) -> dict[str, Any]:
    """The image config in a docker-archive or OCI archive."""
    with tarfile.open(archive) as tar:
        read = tar_reader(tar)
        config, _ = archive_paths(read)
        return dict(json.loads(required(read, config)))


def extract_all(tar: tarfile.TarFile, destination: Path) -> None:
    """Unpack an image archive, refusing members that would land outside `destination`.

    tarfile's "data" filter does that where it exists; Debian 12's Python 3.11.2
    predates the filters, so there the same checks are made here first.
    """
    if hasattr(tarfile, "data_filter"):
        tar.extractall(destination, filter="data")
        return
    root = destination.resolve()
    for member in tar.getmembers():
        target = (root / member.name).resolve()
        linked = (target.parent / member.linkname).resolve() if member.issym() else target
        if member.islnk():
            linked = (root / member.linkname).resolve()
        if not all(p == root or root in p.parents for p in (target, linked)):
            raise BuildError(f"{member.name} would be unpacked outside {destination}")
        if member.isdev():
            raise BuildError(f"{member.name} is a device file: not unpacked")
    tar.extractall(destination)  # noqa: S202 -- every member was checked above


def archive_layers(unpacked: Path) -> list[Path]:
    """The layer tarballs, bottom first, of an unpacked docker-archive or OCI archive."""
    _, layers = archive_paths(directory_reader(unpacked))
    return [unpacked / layer for layer in layers]


def normalized_config(
    config: dict[str, Any], labels: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A buildah Docker-format config without its per-build noise, with `labels` set.

    buildah's Docker format records the ID of its working container (a random
    number, also as the hostname of images built FROM scratch), the
    intermediate image it committed from, and "FROM <id>" comments naming
    intermediate images. Nothing in the image uses them (Docker gives every
    container its own hostname), but they change the image ID on every build.
    OCI format has none of them, and no HEALTHCHECK either, so the config is
    cleaned instead. The labels that name one build are set here too, where
    buildah would add a committed step for each `--label`, and where its layer
    cache cannot keep a stale one.
    """
    clean = json.loads(json.dumps(config))
    clean.pop("container", None)
    clean.pop("parent", None)
    for section in ("config", "container_config"):
        if clean.get(section, {}).get("Hostname"):
            clean[section]["Hostname"] = ""
        if labels and section in clean:
            clean[section]["Labels"] = {**(clean[section].get("Labels") or {}), **labels}
    for entry in clean.get("history", []):
        if entry.get("comment", "").startswith("FROM "):
            del entry["comment"]
    return dict(clean)


#: What containers/image's dir: transport writes first; its reader expects it.
DIR_VERSION = b"Directory Transport Version: 1.1\n"


def config_bytes(config: Mapping[str, Any]) -> bytes:
    """A config as the image ID is the digest of: compact JSON."""
    return json.dumps(config, separators=(",", ":")).encode()


def write_config_only_image(
    directory: Path, manifest: Mapping[str, Any], config: Mapping[str, Any]
) -> str:
    """A `dir:` image of this config and the manifest's layers, holding no layer; its ID.

    Pulled into the store that holds those layers (the store the manifest came
    from), it costs one small file: the store reuses each layer by its digest
    and never asks for the blob, where a docker-archive would copy every layer
    out and back in.
    """
    data = config_bytes(config)
    digest = hashlib.sha256(data).hexdigest()
    descriptor = {**manifest["config"], "size": len(data), "digest": f"sha256:{digest}"}
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "version").write_bytes(DIR_VERSION)
    (directory / digest).write_bytes(data)
    (directory / "manifest.json").write_text(json.dumps({**manifest, "config": descriptor}))
    return f"sha256:{digest}"
