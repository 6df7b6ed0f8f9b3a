"""What a registry holds, read by digest: an index's platforms, a manifest, a blob.

Anonymous reads over the registry's HTTP API (plain HTTP for loopback
registries only, as `references` decides). The bytes must hash to the digest
asked for, so what a platform list says can be trusted however it travelled.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from typing import Any

from tools.process import BuildError
from tools.release.references import Pinned, Repository

INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
IMAGE_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


def _checked(url: str, digest: str, headers: dict[str, str]) -> bytes:
    """The body at `url`, which must hash to `digest`."""
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (http or https, above)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            body: bytes = response.read()
    except urllib.error.HTTPError as error:
        hint = (
            "the registry wants credentials, and images are read anonymously: "
            "verify from a registry that allows anonymous pulls"
            if error.code == 401
            else "is the digest the one `nox -s release` printed?"
        )
        raise BuildError(f"{url}: HTTP {error.code}; {hint}") from error
    except OSError as error:
        raise BuildError(f"{url}: {error}; is the registry running and reachable?") from error
    actual = "sha256:" + hashlib.sha256(body).hexdigest()
    if actual != digest:
        raise BuildError(f"{url} sent bytes whose digest is {actual}: do not trust them")
    return body


def _url(repository: Repository, kind: str, digest: str) -> str:
    scheme = "http" if repository.loopback else "https"
    return f"{scheme}://{repository.registry}/v2/{repository.path}/{kind}/{digest}"


def fetch(image: Pinned) -> dict[str, Any]:
    """The manifest or index `image` names, checked against its digest."""
    accept = {"Accept": ", ".join(INDEX_TYPES + IMAGE_TYPES)}
    body = _checked(_url(image.repository, "manifests", image.digest), image.digest, accept)
    manifest: dict[str, Any] = json.loads(body)
    return manifest


def blob(repository: Repository, digest: str) -> bytes:
    """A config or layer blob of the repository, checked against its digest."""
    return _checked(_url(repository, "blobs", digest), digest, {})


def platform_name(entry: dict[str, Any]) -> str:
    """`linux/arm64` from an index entry (a CPU variant, such as v8, is left out)."""
    platform = entry.get("platform", {})
    return f"{platform.get('os', '?')}/{platform.get('architecture', '?')}"


def platforms(image: Pinned) -> dict[str, Pinned]:
    """Each platform's manifest in the index `image`; empty if it is a single image."""
    manifest = fetch(image)
    if manifest.get("mediaType") not in INDEX_TYPES and "manifests" not in manifest:
        return {}
    found = {
        platform_name(entry): Pinned(image.repository, entry["digest"])
        for entry in manifest["manifests"]
    }
    if len(found) != len(manifest["manifests"]):
        raise BuildError(f"{image} lists one platform twice: not an index a release makes")
    return found
