"""`nox -s verify-release`: what a user runs before trusting an image.

It checks the signature on REF@DIGEST with the public key. For an image
index, it then takes each platform's manifest the index lists (the index's
bytes must hash to its digest) and checks each the same way: its signature,
then its SBOM, provenance and vulnerability-scan attestations (verified with
the same key), each about this digest, the provenance naming this platform. It says what the
provenance says was built from what. Any failure is a BuildError naming
what to do.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tools.process import BuildError
from tools.release import manifests, provenance, scanned
from tools.release.references import Pinned
from tools.release.release import SBOM_TYPE
from tools.release.signing import Cosign, signed_digest, subject_digests


@dataclasses.dataclass(frozen=True)
class Verified:
    """What a verified image carries: its signature payloads and attestations."""

    image: Pinned
    #: The platform the index lists it for; "" for an image given alone.
    platform: str
    signatures: int
    sbom: dict[str, Any]
    provenance: dict[str, Any]
    #: Every vulnerability scan's statement about this digest (at least one).
    scans: list[dict[str, Any]]

    def components(self) -> int:
        return len(self.sbom.get("components", []))


def about_this_digest(
    statements: list[dict[str, Any]], image: Pinned, kind: str
) -> dict[str, Any]:
    """The newest statement whose subject is this digest; BuildError if none is."""
    matching = [s for s in statements if image.digest in subject_digests(s)]
    if not matching:
        raise BuildError(f"no {kind} attestation of {image} is about {image.digest}")
    return matching[-1]


def verify(cosign: Cosign, image: Pinned, public_key: Path) -> list[Verified]:
    """An index's signature, then each platform's image in it; or one image alone."""
    if not public_key.exists():
        raise BuildError(f"no public key at {public_key}: pass the release's cosign.pub")
    children = manifests.platforms(image)
    if not children:
        return [verify_image(cosign, image, public_key, platform="")]
    check_signature(cosign, image, public_key)
    return [
        verify_image(cosign, child, public_key, platform=platform)
        for platform, child in children.items()
    ]


def check_signature(cosign: Cosign, image: Pinned, public_key: Path) -> int:
    """How many signatures of this digest verify; BuildError if none names it."""
    payloads = cosign.verify(image, public_key)
    if not any(signed_digest(p) == image.digest for p in payloads):
        raise BuildError(f"no signature of {image} names {image.digest}")
    return len(payloads)


def verify_image(cosign: Cosign, image: Pinned, public_key: Path, *, platform: str) -> Verified:
    signatures = check_signature(cosign, image, public_key)
    sbom = about_this_digest(
        cosign.verify_attestation(image, public_key, SBOM_TYPE), image, "SBOM"
    )
    built = about_this_digest(
        cosign.verify_attestation(image, public_key, provenance.COSIGN_TYPE), image, "provenance"
    )
    if built.get("predicateType") != provenance.PREDICATE_TYPE:
        raise BuildError(f"the provenance of {image} is a {built.get('predicateType')}")
    provenance.check(built["predicate"])
    built_for = built["predicate"]["buildDefinition"]["internalParameters"]["platform"]
    if platform and built_for != platform:
        raise BuildError(f"{image} is listed for {platform}, but its provenance says {built_for}")
    scans = [
        s
        for s in cosign.verify_attestation(image, public_key, scanned.COSIGN_TYPE)
        if image.digest in subject_digests(s)
    ]
    if not scans:
        raise BuildError(f"no vulnerability scan attestation of {image} is about {image.digest}")
    return Verified(
        image, platform, signatures, dict(sbom["predicate"]), dict(built["predicate"]), scans
    )
