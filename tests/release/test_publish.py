"""The release as a user meets it: pushed by digest, signed, attested, verified, pinned."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tools.builders import Builder
from tools.images.plan import BuildPlan
from tools.images.record import BuildRecord
from tools.model import BUILDER_ARG, DEPLOYED_VARIANT, VARIANTS, host_platform
from tools.paths import ROOT
from tools.process import BuildError, run_shown
from tools.release import manifests, provenance
from tools.release.consumer import Verified, verify
from tools.release.references import Pinned, Repository
from tools.release.release import KeyPair, Released, rendered_overlay
from tools.release.signing import Cosign, signed_digest


def committed(revision: str, path: str) -> bytes:
    """A file as the commit the images were built from holds it."""
    return subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "blob", f"{revision}:{path}"],
        capture_output=True,
        check=True,
    ).stdout


def test_every_variant_is_released_as_an_index_of_every_platform_built(
    released: dict[str, Released], record: BuildRecord
) -> None:
    assert set(released) == set(VARIANTS)
    digests = {r.image.digest for r in released.values()}
    assert len(digests) == len(VARIANTS), "two variants cannot share a manifest"
    for variant, r in released.items():
        built = {b.platform for b in record.images if b.variant == variant}
        assert set(r.platforms) == built
        assert r.image_ids == {
            b.platform: b.image_id for b in record.images if b.variant == variant
        }
        assert host_platform().name in r.platforms
        assert r.image.digest not in {image.digest for image in r.platforms.values()}


def test_a_second_push_gives_the_same_digests(
    released: dict[str, Released], builder: Builder, repository: Repository
) -> None:
    again = Repository(repository.registry, "moscow-time-again")
    for variant, first in released.items():
        local = builder.local_name(VARIANTS[variant].tag("index"))
        pushed = Pinned(
            again, builder.push_index(run_shown, local, again.tag(variant), tls_verify=False)
        )
        assert pushed.digest == first.image.digest
        assert {p: image.digest for p, image in manifests.platforms(pushed).items()} == {
            p: image.digest for p, image in first.platforms.items()
        }


def test_the_index_and_each_platforms_manifest_are_signed(
    released: dict[str, Released], cosign: Cosign, keys: KeyPair
) -> None:
    for r in released.values():
        for image in (r.image, *r.platforms.values()):
            payloads = cosign.verify(image, keys.public)
            assert {signed_digest(p) for p in payloads} == {image.digest}


def test_another_key_does_not_verify(
    released: dict[str, Released], cosign: Cosign, other_keys: KeyPair
) -> None:
    with pytest.raises(BuildError, match="verifying the signature"):
        cosign.verify(released[DEPLOYED_VARIANT].image, other_keys.public)


def test_the_consumer_gets_sbom_and_provenance_of_each_platforms_digest(
    released: dict[str, Released], cosign: Cosign, keys: KeyPair, record: BuildRecord
) -> None:
    for variant, r in released.items():
        each = verify(cosign, r.image, keys.public)
        assert {v.platform: v.image for v in each} == r.platforms
        for verified in each:
            check_provenance(verified, variant, record)


def check_provenance(verified: Verified, variant: str, record: BuildRecord) -> None:
    """One platform's SBOM and provenance, against what the build record holds."""
    assert verified.components() > 10, "an SBOM of a Python image lists packages"
    definition = verified.provenance["buildDefinition"]
    assert definition["internalParameters"]["platform"] == verified.platform
    assert definition["externalParameters"]["source"]["revision"] == record.plan.revision
    assert BuildPlan.from_json(definition["internalParameters"]["plan"]) == record.plan
    assert definition["externalParameters"]["dockerfile"] == VARIANTS[variant].dockerfile
    assert definition["externalParameters"]["sourceDateEpoch"] == str(record.plan.epoch)
    locks = {
        d["name"]: d["digest"]["sha256"]
        for d in definition["resolvedDependencies"]
        if "name" in d and "uri" not in d
    }
    assert locks == {
        name: hashlib.sha256(committed(record.plan.revision, name)).hexdigest()
        for name in provenance.lock_files()
    }
    bases = [d for d in definition["resolvedDependencies"] if "uri" in d and "name" in d]
    assert {d["name"] for d in bases} == {*VARIANTS[variant].base_args, BUILDER_ARG}
    assert verified.provenance["runDetails"]["builder"]["id"].endswith(record.plan.builder)


def test_the_overlay_and_compose_pin_the_deployed_digest(
    released: dict[str, Released], release_dir: Path
) -> None:
    rendered = rendered_overlay(release_dir)
    deployed = str(released[DEPLOYED_VARIANT].image)
    assert f"image: {deployed}" in rendered
    assert (release_dir / "compose.env").read_text() == f"MOSCOW_TIME_IMAGE={deployed}\n"
    record = json.loads((release_dir / "release.json").read_text())
    assert {i["reference"] for i in record["images"]} == {str(r.image) for r in released.values()}
