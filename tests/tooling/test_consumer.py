"""What `verify-release` requires of each platform's manifest (tools/release/consumer.py):
every attestation the release attaches, each about this digest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tooling.samples import DIGEST, a_predicate
from tools.process import BuildError
from tools.release import provenance
from tools.release.consumer import verify_image
from tools.release.references import Pinned
from tools.release.release import attachments


class Attested:
    """cosign's answers for one image signed and attested with `kinds`; what is asked, kept."""

    def __init__(self, image: Pinned, kinds: set[str]) -> None:
        self.image, self.kinds, self.asked = image, kinds, list[str]()

    def verify(self, image: Pinned, key: Path) -> list[dict[str, Any]]:
        return [{"critical": {"image": {"docker-manifest-digest": image.digest}}}]

    def verify_attestation(self, image: Pinned, key: Path, kind: str) -> list[dict[str, Any]]:
        self.asked.append(kind)
        if kind not in self.kinds:
            raise BuildError(f"none of the attestations matched the predicate type: {kind}")
        types = {provenance.COSIGN_TYPE: provenance.PREDICATE_TYPE}
        return [
            {
                "subject": [{"digest": {"sha256": image.digest.removeprefix("sha256:")}}],
                "predicateType": types.get(kind, kind),
                "predicate": a_predicate() if kind == provenance.COSIGN_TYPE else {},
            }
        ]


def test_a_manifest_attested_as_the_release_attests_it_verifies(tmp_path: Path) -> None:
    # The rehearsal's altered release is attested with these too; one left out is refused.
    image = Pinned.parse(f"127.0.0.1:5000/moscow-time@{DIGEST}")
    kinds = [kind for _, kind in attachments(tmp_path, "slim.arm64")]
    cosign = Attested(image, set(kinds))
    verified = verify_image(cosign, image, tmp_path, platform="linux/arm64")  # type: ignore[arg-type]
    assert sorted(cosign.asked) == sorted(kinds)
    assert verified.scans
    assert verified.provenance == a_predicate()
    for missing in kinds:
        with pytest.raises(BuildError, match=missing):
            verify_image(Attested(image, set(kinds) - {missing}), image, tmp_path, platform="")  # type: ignore[arg-type]
