"""The signature policy at pull time: the release passes; each forgery is refused, saying why."""

from __future__ import annotations

from tools.builders import Builder
from tools.debtools import ChrootSkopeo
from tools.model import BASES, DEPLOYED_VARIANT, host_platform
from tools.process import run_shown
from tools.release.policy import Gate
from tools.release.references import Pinned, Repository
from tools.release.release import KeyPair, Released
from tools.release.signing import Cosign
from tools.release.tamper import tamper


def push_unsigned(builder: Builder, repository: Repository, tag: str) -> Pinned:
    """Something else under our repository: the distroless stand-in base, unsigned."""
    local = builder.local_name(BASES["distroless"].standin)
    return Pinned(
        repository, builder.push(run_shown, local, repository.tag(tag), tls_verify=False)
    )


def test_the_release_is_admitted(gate: Gate, released: dict[str, Released]) -> None:
    for r in released.values():
        for image in (r.image, *r.platforms.values()):
            verdict = gate.check(image)
            assert verdict.admitted, f"{image}: {verdict.message}"


def test_an_unsigned_image_is_refused(
    gate: Gate, builder: Builder, repository: Repository
) -> None:
    verdict = gate.check(push_unsigned(builder, repository, "unsigned"))
    print(f"unsigned image refused: {verdict.message}")
    assert not verdict.admitted
    assert "no signature exists" in verdict.message


def test_an_image_signed_by_another_key_is_refused(
    gate: Gate,
    builder: Builder,
    repository: Repository,
    cosign: Cosign,
    other_keys: KeyPair,
) -> None:
    image = push_unsigned(builder, repository, "other-key")
    cosign.sign(image, other_keys.private)
    assert cosign.verify(image, other_keys.public), "signed, but not by our key"
    verdict = gate.check(image)
    print(f"another key's signature refused: {verdict.message}")
    assert not verdict.admitted
    assert "signature" in verdict.message.lower()


def test_one_changed_byte_with_the_signature_copied_is_refused(
    gate: Gate, skopeo: ChrootSkopeo, released: dict[str, Released]
) -> None:
    # One platform's manifest: an attacker swaps what one platform runs.
    genuine = released[DEPLOYED_VARIANT].platforms[host_platform().name]
    forged = tamper(skopeo, genuine, "tampered")
    assert forged.digest != genuine.digest
    verdict = gate.check(forged)
    print(f"one byte changed, signature copied, refused: {verdict.message}")
    assert not verdict.admitted
    assert gate.check(genuine).admitted, "the genuine image is still admitted"
