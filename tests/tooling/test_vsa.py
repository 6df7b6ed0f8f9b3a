"""tools.release.vsa: the verification summary a rebuild signs, and the verdict read back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tooling.samples import DIGEST, IMAGE, OTHER, a_predicate
from tools.process import BuildError, git_revision
from tools.release import vsa
from tools.release.provenance import BuildInputs
from tools.release.references import Pinned


def inputs() -> BuildInputs:
    return BuildInputs.from_predicate(a_predicate())


# ---- the verification summary ------------------------------------------------------


def summary(passed: bool = True, image: Pinned = IMAGE) -> dict[str, Any]:
    return vsa.summary(
        verifier="urn:test:rebuilder",
        image=image,
        passed=passed,
        inputs=vsa.inputs_used(image, a_predicate(), inputs()),
        time_verified="2026-11-28T12:00:00Z",
    )


def statement(predicate: dict[str, Any], image: Pinned = IMAGE) -> dict[str, Any]:
    return {
        "subject": [{"name": "x", "digest": {"sha256": image.digest.removeprefix("sha256:")}}],
        "predicateType": vsa.PREDICATE_TYPE,
        "predicate": predicate,
    }


def test_a_summary_fits_the_vsa_schema_and_names_every_input() -> None:
    passed, failed = summary(), summary(passed=False)
    assert (passed["verificationResult"], passed["verifiedLevels"]) == (
        "PASSED",
        ["SLSA_BUILD_LEVEL_1"],
    )
    assert (failed["verificationResult"], failed["verifiedLevels"]) == ("FAILED", [])
    uris = [each["uri"] for each in passed["inputAttestations"]]
    assert uris[0].endswith(DIGEST.replace(":", "-") + ".att")
    assert f"git+moscow-time@{git_revision()}" in uris
    assert {"requirements.txt", "localhost/base"} <= set(uris)
    assert passed["resourceUri"] == str(IMAGE)


def test_a_summary_outside_the_schema_is_refused() -> None:
    with pytest.raises(BuildError, match="verifiedLevels is no list"):
        vsa.check(summary() | {"verifiedLevels": "SLSA_BUILD_LEVEL_1"})
    with pytest.raises(BuildError, match="VSA v1"):
        vsa.check(summary() | {"result": "PASSED"})


def test_the_verdict_is_the_newest_about_this_digest_under_our_policy() -> None:
    other_policy = summary() | {"policy": {"uri": "urn:someone:else"}}
    statements = [
        statement(summary(passed=False)),
        statement(summary()),
        statement(summary(image=OTHER), OTHER),
        statement(other_policy),
    ]
    found = vsa.verdict(statements, IMAGE)
    assert found is not None
    assert found["verificationResult"] == "PASSED"
    assert vsa.verdict(statements[2:], IMAGE) is None


@pytest.mark.parametrize(
    "about",
    ["the subject is another image", "the resourceUri names another image"],
)
def test_a_summary_about_another_digest_is_not_this_images_verdict(about: str) -> None:
    mismatched = (
        statement(summary(), OTHER)
        if about.startswith("the subject")
        else statement(summary(image=OTHER), IMAGE)
    )
    assert vsa.verdict([mismatched], IMAGE) is None


class FakeCosign:
    """Answers verify-attestation with these statements, or fails as cosign does."""

    def __init__(self, statements: list[dict[str, Any]] | None) -> None:
        self.statements = statements

    def verify_attestation(self, image: Pinned, key: Path, kind: str) -> list[dict[str, Any]]:
        assert kind == vsa.PREDICATE_TYPE
        assert (image, key.name) == (IMAGE, "rebuilder.pub"), "asked about another image or key"
        if self.statements is None:
            raise BuildError("verifying failed: no matching attestations")
        return self.statements


def require(statements: list[dict[str, Any]] | None, key: Path) -> str:
    cosign: Any = FakeCosign(statements)
    return vsa.require_passed(cosign, IMAGE, key, original="R@D")


def test_verify_requires_a_passed_rebuild_from_the_key_named(tmp_path: Path) -> None:
    key = tmp_path / "rebuilder.pub"
    key.write_text("public")
    assert require([statement(summary())], key) == "urn:test:rebuilder"
    with pytest.raises(BuildError, match="says FAILED") as failed:
        require([statement(summary(passed=False))], key)
    assert str(failed.value).endswith("is not what its provenance builds; do not deploy it")
    with pytest.raises(BuildError, match=r"no rebuild of .* signed by .*nox -s rebuild -- R@D"):
        require(None, key)
    with pytest.raises(BuildError, match="is about"):
        require([statement(summary(image=OTHER), OTHER)], key)
    with pytest.raises(BuildError, match="no rebuilder's public key"):
        require([], tmp_path / "absent.pub")


def test_a_verifier_is_named_by_its_key(tmp_path: Path) -> None:
    (tmp_path / "a.pub").write_text("a")
    (tmp_path / "b.pub").write_text("b")
    first = vsa.key_id(tmp_path / "a.pub")
    assert first == vsa.key_id(tmp_path / "a.pub")
    assert first != vsa.key_id(tmp_path / "b.pub")
    assert first.startswith("urn:moscow-time:rebuilder:key-sha256:")
    fingerprint = hashlib.sha256(b"a").hexdigest()[:32]
    assert first == f"urn:moscow-time:rebuilder:key-sha256:{fingerprint}"


def canonical(document: object) -> str:
    """sha256 of the document as in-toto names JSON: sorted keys, no spaces."""
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode())\
        .hexdigest()  # fmt: skip


def test_every_input_is_named_by_its_digest_in_the_algorithms_own_key() -> None:
    built = inputs()
    used = vsa.inputs_used(IMAGE, a_predicate(), built)
    provenance, commit, *rest = used
    assert provenance["digest"] == {"sha256": canonical(a_predicate())}
    assert canonical({"b": 1, "a": [1, 2]}) == vsa.canonical_digest({"b": 1, "a": [1, 2]})
    assert commit == {
        "uri": f"git+moscow-time@{built.commit}",
        "digest": {"gitCommit": built.commit},
    }
    locks = [{"uri": name, "digest": {"sha256": sha}} for name, sha in sorted(built.locks.items())]
    bases = [{"uri": ref, "digest": {"sha256": image_id.removeprefix("sha256:")}}
             for ref, image_id in sorted(built.bases.values())]  # fmt: skip
    assert rest == locks + bases
    assert all(not d["digest"].get("sha256", "").startswith("sha256:") for d in rest)


def test_a_statement_missing_our_policy_or_a_resource_is_not_a_verdict() -> None:
    for missing in ("policy", "resourceUri"):
        predicate = {k: v for k, v in summary().items() if k != missing}
        assert vsa.verdict([statement(predicate)], IMAGE) is None


def test_a_summary_without_verified_levels_fits_the_schema() -> None:
    vsa.check({k: v for k, v in summary(passed=False).items() if k != "verifiedLevels"})


def test_the_abridged_summary_names_each_field_a_reader_checks() -> None:
    passed = summary()
    rows: dict[str, str] = dict(vsa.abridged(passed))
    assert rows == {
        "verifier": "urn:test:rebuilder",
        "timeVerified": "2026-11-28T12:00:00Z",
        "resourceUri": passed["resourceUri"],
        "policy": vsa.POLICY_URI,
        "verificationResult": "PASSED",
        "verifiedLevels": "SLSA_BUILD_LEVEL_1",
        "inputAttestations": f"{len(passed['inputAttestations'])} (provenance, commit, locks, "
        "bases)",
    }
    bare = {
        k: v
        for k, v in summary(passed=False).items()
        if k not in ("verifiedLevels", "inputAttestations")
    }
    rows = dict(vsa.abridged(bare))
    assert rows["verifiedLevels"] == "(none)"
    two = dict(vsa.abridged(passed | {"verifiedLevels": ["A", "B"]}))
    assert two["verifiedLevels"] == "A, B"
    assert rows["inputAttestations"] == "0 (provenance, commit, locks, bases)"
