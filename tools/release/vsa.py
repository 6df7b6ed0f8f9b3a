"""The SLSA Verification Summary (VSA) a rebuilder signs, and the check that requires one.

`nox -s rebuild -- … --sign KEY` attaches one to each platform's manifest it
rebuilt: who verified (`verifier.id`), which digest, under which policy (a
bit-for-bit rebuild from the signed provenance), PASSED or FAILED, and the
inputs it used (the provenance, the commit, its locks and bases, as
`inputAttestations`). `verify-release -- --rebuilt-by KEY.pub` requires a
PASSED one from each key named. The predicate is checked against the VSA v1
schema of the in-toto attestation framework before it is signed and after
it is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from in_toto_attestation.predicates.vsa.v1 import vsa_pb2

from tools.process import BuildError
from tools.release.provenance import BuildInputs
from tools.release.references import Pinned
from tools.release.signing import Cosign, subject_digests

PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
#: The one policy a rebuild checks; docs/rebuild.md#the-policy says what it means.
POLICY_URI = "urn:moscow-time:policy:bit-for-bit-rebuild:v1"
PASSED, FAILED = "PASSED", "FAILED"
SLSA_VERSION = "1.0"


def key_id(public_key: Path) -> str:
    """A verifier's default id: its public key's fingerprint, so the id names who signed."""
    digest = hashlib.sha256(public_key.read_bytes()).hexdigest()
    return f"urn:moscow-time:rebuilder:key-sha256:{digest[:32]}"


def canonical_digest(document: Mapping[str, Any]) -> str:
    """sha256 of a JSON document with sorted keys and no spaces: how an input is named."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def inputs_used(
    image: Pinned, provenance: Mapping[str, Any], inputs: BuildInputs
) -> list[dict[str, Any]]:
    """The provenance the rebuild followed, then each input it named, as descriptors."""
    attestation = image.repository.tag(image.digest.replace(":", "-") + ".att")
    used: list[dict[str, Any]] = [
        {"uri": attestation, "digest": {"sha256": canonical_digest(provenance)}},
        {"uri": f"git+moscow-time@{inputs.commit}", "digest": {"gitCommit": inputs.commit}},
    ]
    used += [
        {"uri": name, "digest": {"sha256": sha}} for name, sha in sorted(inputs.locks.items())
    ]
    used += [
        {"uri": ref, "digest": {"sha256": image_id.removeprefix("sha256:")}}
        for ref, image_id in sorted(inputs.bases.values())
    ]
    return used


def summary(
    *,
    verifier: str,
    image: Pinned,
    passed: bool,
    inputs: Sequence[Mapping[str, Any]],
    time_verified: str,
) -> dict[str, Any]:
    """The VSA predicate of one rebuild, checked against the schema."""
    predicate: dict[str, Any] = {
        "verifier": {"id": verifier},
        "timeVerified": time_verified,
        "resourceUri": str(image),
        "policy": {"uri": POLICY_URI},
        "inputAttestations": [dict(each) for each in inputs],
        "verificationResult": PASSED if passed else FAILED,
        "verifiedLevels": ["SLSA_BUILD_LEVEL_1"] if passed else [],
        "slsaVersion": SLSA_VERSION,
    }
    check(predicate)
    return predicate


def check(predicate: Mapping[str, Any]) -> None:
    """Fail if the predicate does not fit the VSA v1 schema.

    The spec makes `verifiedLevels` a list; the framework's proto still has one string
    (in-toto/attestation#425), so that field is checked here and the rest by the proto.
    """
    levels = predicate.get("verifiedLevels", [])
    if not isinstance(levels, list) or not all(isinstance(level, str) for level in levels):
        raise BuildError(
            f"the verification summary's verifiedLevels is no list of strings: {levels}"
        )
    rest = {key: value for key, value in predicate.items() if key != "verifiedLevels"}
    try:
        json_format.ParseDict(rest, vsa_pb2.VerificationSummary())
    except json_format.ParseError as error:
        raise BuildError(
            f"the verification summary does not fit SLSA's VSA v1: {error}"
        ) from error


def verdict(statements: Sequence[Mapping[str, Any]], image: Pinned) -> Mapping[str, Any] | None:
    """The newest summary about this digest under our policy; None if there is none."""
    about = [
        s["predicate"]
        for s in statements
        if image.digest in subject_digests(dict(s))
        and s.get("predicateType") == PREDICATE_TYPE
        and s["predicate"].get("policy", {}).get("uri") == POLICY_URI
        and s["predicate"].get("resourceUri", "").endswith("@" + image.digest)
    ]
    for predicate in about:
        check(predicate)
    return about[-1] if about else None


def require_passed(cosign: Cosign, image: Pinned, public_key: Path, *, original: str) -> str:
    """The verifier id of a PASSED rebuild of `image` signed with `public_key`; BuildError,
    saying what to ask for, if there is none (`original`: the reference the user gave)."""
    if not public_key.exists():
        raise BuildError(f"no rebuilder's public key at {public_key}: pass the file they gave you")
    ask = (
        f"ask its owner to run `nox -s rebuild -- {original} --key cosign.pub --sign "
        f"THEIR.key`, or rebuild it yourself"
    )
    try:
        statements = cosign.verify_attestation(image, public_key, PREDICATE_TYPE)
    except BuildError as error:
        raise BuildError(
            f"no rebuild of {image} signed by {public_key} ({error}): {ask}"
        ) from error
    found = verdict(statements, image)
    if found is None:
        raise BuildError(f"no rebuild of {image} by {public_key} is about {image.digest}: {ask}")
    if found["verificationResult"] != PASSED:
        raise BuildError(
            f"{found['verifier']['id']} ({public_key}) rebuilt {image} and says "
            f"{found['verificationResult']} ({found['timeVerified']}): the image is not what its "
            "provenance builds; do not deploy it"
        )
    return str(found["verifier"]["id"])


def abridged(predicate: Mapping[str, Any]) -> list[list[str]]:
    """A summary's fields as table rows (the inputs counted, not listed)."""
    return [
        ["verifier", predicate["verifier"]["id"]],
        ["timeVerified", predicate["timeVerified"]],
        ["resourceUri", predicate["resourceUri"]],
        ["policy", predicate["policy"]["uri"]],
        ["verificationResult", predicate["verificationResult"]],
        ["verifiedLevels", ", ".join(predicate.get("verifiedLevels", [])) or "(none)"],
        [
            "inputAttestations",
            f"{len(predicate.get('inputAttestations', []))} (provenance, commit, locks, bases)",
        ],
    ]
