"""The attackers: one byte changed in one layer, re-pushed, then the signature copied or made.

`tamper` pulls a signed image into an OCI layout, flips one byte inside a
file of its top layer, and fixes every digest on the way up (layer, diff_id,
config, manifest), as a careful attacker would, so the registry and a
client's digest checks accept the result. It pushes that under the same tag
and copies the genuine signature to the new digest. Only the signature's
claim ("this manifest digest") can tell the two apart.

`released_altered` is the stronger attacker, a compromised build machine: it
signs the altered image with the real key and attaches the genuine
provenance. Signatures cannot tell; `nox -s rebuild` can.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.debtools import ChrootSkopeo
from tools.process import BuildError
from tools.release.references import Pinned
from tools.release.signing import Cosign


def flip_one_byte(layer_tar: bytes) -> bytes:
    """The same tar with one byte of the first non-empty regular file inverted."""
    with tarfile.open(fileobj=io.BytesIO(layer_tar)) as tar:
        member = next((m for m in tar.getmembers() if m.isreg() and m.size > 0), None)
    if member is None:
        raise BuildError("the top layer holds no file to change")
    changed = bytearray(layer_tar)
    changed[member.offset_data] ^= 0xFF
    return bytes(changed)


def _blob(layout: Path, digest: str) -> Path:
    return layout / "blobs" / "sha256" / digest.removeprefix("sha256:")


def _store(layout: Path, data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    _blob(layout, digest).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def tamper_layout(layout: Path) -> None:
    """Change one byte in the top layer of the only image in an OCI layout, fixing digests."""
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads(_blob(layout, index["manifests"][0]["digest"]).read_bytes())
    config = json.loads(_blob(layout, manifest["config"]["digest"]).read_bytes())
    top = manifest["layers"][-1]
    tar = gzip.decompress(_blob(layout, top["digest"]).read_bytes())
    changed = flip_one_byte(tar)
    top.update(_store(layout, gzip.compress(changed, mtime=0)))
    config["rootfs"]["diff_ids"][-1] = "sha256:" + hashlib.sha256(changed).hexdigest()
    manifest["config"].update(_store(layout, json.dumps(config).encode()))
    index["manifests"][0].update(_store(layout, json.dumps(manifest).encode()))
    (layout / "index.json").write_text(json.dumps(index))


def tamper(skopeo: ChrootSkopeo, genuine: Pinned, tag: str) -> Pinned:
    """Push a one-byte-changed copy of `genuine` as `tag`, with its signature copied over."""
    work = skopeo.shared("tamper")
    layout = f"oci:{skopeo.inside(work)}:image"
    tls = genuine.repository

    def copy(*args: str) -> None:
        command = skopeo.command("--insecure-policy", "copy", "--quiet", *args)
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise BuildError(f"the attacker's copy failed: {result.stderr.strip()}")

    copy(*tls.skopeo_tls("src"), f"docker://{genuine}", layout)
    tamper_layout(work)
    copy(
        *tls.skopeo_tls("dest"),
        "--digestfile",
        skopeo.inside(work / "digest"),
        layout,
        f"docker://{tls.tag(tag)}",
    )
    forged = Pinned(tls, (work / "digest").read_text().strip())
    copy(
        *tls.skopeo_tls("src"),
        *tls.skopeo_tls("dest"),
        f"docker://{genuine.signature_tag}",
        f"docker://{forged.signature_tag}",
    )
    return forged


def released_altered(
    skopeo: ChrootSkopeo,
    cosign: Cosign,
    genuine: Pinned,
    tag: str,
    *,
    key: Path,
    attachments: Sequence[tuple[Path, str]],
) -> Pinned:
    """What a compromised build machine releases: `genuine` with one byte changed, signed with
    the real key, carrying the genuine image's SBOM and provenance (`attachments`: predicate
    file and cosign type). Every signature check passes; only a rebuild can tell."""
    forged = tamper(skopeo, genuine, tag)
    cosign.sign(forged, key)
    for predicate, kind in attachments:
        cosign.attest(forged, key, predicate, kind)
    return forged
