"""The release's decisions, without a registry: references, policy, play, forgery, provenance."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import re
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tooling.samples import DIGEST, a_predicate
from tools.debtools import DebianTool
from tools.images.plan import BuildPlan
from tools.paths import ROOT
from tools.process import BuildError, git_revision
from tools.release import kubeplay, policy, provenance, registry
from tools.release.references import Pinned, Repository
from tools.release.release import KeyPair, kustomization, sbom_image_id
from tools.release.signing import statement_of, subject_digests
from tools.release.tamper import flip_one_byte, tamper_layout

# ---- references -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "registry_", "path", "loopback"),
    [
        ("127.0.0.1:5000/moscow-time", "127.0.0.1:5000", "moscow-time", True),
        ("localhost:5000/team/moscow-time", "localhost:5000", "team/moscow-time", True),
        ("ghcr.io/acme/moscow-time", "ghcr.io", "acme/moscow-time", False),
        ("registry.example:443/moscow-time", "registry.example:443", "moscow-time", False),
    ],
)
def test_repositories_parse(text: str, registry_: str, path: str, loopback: bool) -> None:
    repository = Repository.parse(text)
    assert (repository.registry, repository.path, repository.loopback) == (
        registry_,
        path,
        loopback,
    )
    assert str(repository) == text


@pytest.mark.parametrize(
    "text", ["moscow-time", "127.0.0.1:5000", "127.0.0.1:5000/", "http://h/x", "h/A", "h//x"]
)
def test_a_bad_repository_says_what_to_give(text: str) -> None:
    with pytest.raises(BuildError, match=r"HOST\[:PORT\]/NAME"):
        Repository.parse(text)


def test_http_flags_are_for_loopback_only() -> None:
    assert Repository.parse("127.0.0.1:5000/x").cosign_flags() == ["--allow-http-registry"]
    assert Repository.parse("127.0.0.1:5000/x").skopeo_tls("src") == ["--src-tls-verify=false"]
    assert Repository.parse("ghcr.io/x").cosign_flags() == []
    assert Repository.parse("ghcr.io/x").skopeo_tls("dest") == []


def test_a_pinned_image_keeps_its_digest_and_drops_a_tag() -> None:
    pinned = Pinned.parse(f"127.0.0.1:5000/moscow-time:distroless@{DIGEST}")
    assert str(pinned) == f"127.0.0.1:5000/moscow-time@{DIGEST}"
    assert pinned.signature_tag == f"127.0.0.1:5000/moscow-time:sha256-{'ab' * 32}.sig"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("127.0.0.1:5000/moscow-time:distroless", "names no digest"),
        ("127.0.0.1:5000/moscow-time@sha256:abc", "not a sha256 digest"),
    ],
)
def test_a_reference_without_a_digest_is_refused(text: str, complaint: str) -> None:
    with pytest.raises(BuildError, match=complaint):
        Pinned.parse(text)


# ---- policy and registry --------------------------------------------------------


def test_the_policy_rejects_all_but_our_signed_repository() -> None:
    written = policy.policy(Repository.parse("127.0.0.1:5000/moscow-time"), "/trust/cosign.pub")
    assert written["default"] == [{"type": "reject"}]
    (requirement,) = written["transports"]["docker"]["127.0.0.1:5000/moscow-time"]
    assert requirement["type"] == "sigstoreSigned"
    assert requirement["keyPath"] == "/trust/cosign.pub"
    assert requirement["signedIdentity"] == {"type": "matchRepository"}, "no other repo's image"
    assert yaml.safe_load(policy.REGISTRIES_D) == {
        "default-docker": {"use-sigstore-attachments": True}
    }


def test_the_registry_listens_on_loopback_only(tmp_path: Path) -> None:
    config = registry.config(5000, tmp_path)
    assert config["http"] == {"addr": "127.0.0.1:5000"}


def test_podman_is_told_about_loopback_registries_only() -> None:
    assert 'location = "127.0.0.1:5000"' in kubeplay.registries_conf(
        Repository.parse("127.0.0.1:5000/x")
    )
    assert kubeplay.registries_conf(Repository.parse("ghcr.io/x")) == ""


# ---- kube play ------------------------------------------------------------------


def deployment(replicas: int = 2, port_name: str = "http") -> dict[str, Any]:
    container = {"name": "app", "image": "r/x@" + DIGEST, "ports": [{"name": port_name}]}
    return {
        "kind": "Deployment",
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}},
    }


def test_the_play_runs_one_replica_published_on_loopback() -> None:
    documents = [{"kind": "Namespace"}, deployment()]
    (played,) = kubeplay.deployments(kubeplay.playable(documents, 18080))
    assert played["spec"]["replicas"] == 1
    port = played["spec"]["template"]["spec"]["containers"][0]["ports"][0]
    assert (port["hostIP"], port["hostPort"]) == ("127.0.0.1", 18080)
    assert documents[1]["spec"]["replicas"] == 2, "the input is left alone"
    assert kubeplay.images(documents) == ["r/x@" + DIGEST]


def test_a_play_without_an_http_port_says_so() -> None:
    with pytest.raises(BuildError, match="port named http"):
        kubeplay.playable([deployment(port_name="metrics")], 18080)


def test_the_overlay_pins_the_digest(tmp_path: Path) -> None:
    image = Pinned.parse(f"127.0.0.1:5000/moscow-time@{DIGEST}")
    overlay = tmp_path / "kubernetes"
    document = yaml.safe_load(kustomization(image, overlay))
    assert document["images"] == [
        {"name": "moscow-time", "newName": "127.0.0.1:5000/moscow-time", "digest": DIGEST}
    ]
    assert (overlay / document["resources"][0]).resolve() == ROOT / "deploy" / "kubernetes"


# ---- the forgery ----------------------------------------------------------------


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("dir"))
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_one_byte_of_one_file_changes() -> None:
    original = tar_of({"app/a.py": b"print('a')\n", "app/b.py": b"b"})
    changed = flip_one_byte(original)
    assert len(changed) == len(original)
    assert sum(x != y for x, y in zip(original, changed, strict=True)) == 1
    with tarfile.open(fileobj=io.BytesIO(changed)) as tar:
        content = tar.extractfile("app/a.py")
        assert content is not None
        assert content.read() != b"print('a')\n"


def blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def test_the_forgery_fixes_every_digest(tmp_path: Path) -> None:
    (tmp_path / "blobs" / "sha256").mkdir(parents=True)
    layer = tar_of({"app/a.py": b"print('a')\n"})
    config = {"rootfs": {"diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}
    manifest = {
        "config": blob(tmp_path, json.dumps(config).encode()),
        "layers": [blob(tmp_path, gzip.compress(layer))],
    }
    index = {"manifests": [blob(tmp_path, json.dumps(manifest).encode())]}
    (tmp_path / "index.json").write_text(json.dumps(index))

    tamper_layout(tmp_path)

    def read(digest: str) -> bytes:
        data = (tmp_path / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
        assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
        return data

    new_index = json.loads((tmp_path / "index.json").read_text())
    assert new_index["manifests"][0]["digest"] != index["manifests"][0]["digest"]
    new_manifest = json.loads(read(new_index["manifests"][0]["digest"]))
    new_config = json.loads(read(new_manifest["config"]["digest"]))
    new_layer = gzip.decompress(read(new_manifest["layers"][0]["digest"]))
    assert new_config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(new_layer).hexdigest()]
    assert new_layer != layer


# ---- provenance, statements, SBOM -----------------------------------------------


def test_the_provenance_fits_slsa_v1_and_names_every_lock() -> None:
    written = a_predicate()
    named = {d.get("name") for d in written["buildDefinition"]["resolvedDependencies"]}
    assert {"requirements.txt", "requirements-build.txt", "PYTHON_IMAGE"} <= named
    assert any(name and name.startswith("standins/") for name in named)
    rows = provenance.summary(written)
    assert ["commit", git_revision()] in rows
    assert ["platform", "linux/arm64"] in rows
    recorded = written["buildDefinition"]["internalParameters"]["plan"]
    assert BuildPlan.from_json(recorded).bases == {"linux/arm64": {"slim": "localhost/base"}}


def test_a_predicate_outside_slsa_v1_is_refused() -> None:
    written = a_predicate()
    written["buildDefinition"]["buildTypo"] = "x"
    with pytest.raises(BuildError, match="SLSA v1"):
        provenance.check(written)


def test_a_statement_comes_out_of_its_envelope() -> None:
    subject = {"name": "x", "digest": {"sha256": "ab" * 32}}
    statement = {"subject": [subject], "predicate": {}}
    envelope = {
        "payloadType": "application/vnd.in-toto+json",
        "payload": base64.b64encode(json.dumps(statement).encode()).decode(),
    }
    assert subject_digests(statement_of(envelope)) == {DIGEST}
    with pytest.raises(BuildError) as refused:
        statement_of({"payloadType": "text/plain", "payload": ""})
    assert str(refused.value) == "not an in-toto envelope: 'text/plain'"
    assert subject_digests({"predicate": {}}) == set()
    assert subject_digests({"subject": [{"name": "x"}, subject]}) == {DIGEST}


def test_the_sbom_names_its_image() -> None:
    sbom = {
        "metadata": {
            "component": {
                "properties": [
                    {"name": "aquasecurity:trivy:RepoTag", "value": "moscow-time:slim"},
                    {"name": "aquasecurity:trivy:ImageID", "value": DIGEST},
                ]
            }
        }
    }
    assert sbom_image_id(sbom) == DIGEST
    assert sbom_image_id({}) is None


def test_a_missing_key_says_how_to_make_one(tmp_path: Path) -> None:
    advice = re.escape(f"nox -s keygen -- --prefix {tmp_path}/cosign`, or pass --key")
    with pytest.raises(BuildError, match=advice):
        KeyPair.beside(tmp_path / "cosign.key")
    with pytest.raises(BuildError, match=r"or pass --sign with another"):
        KeyPair.beside(tmp_path / "rebuilder.key", "--sign")


def test_a_tool_version_is_its_debian_changelogs(tmp_path: Path) -> None:
    changelog = tmp_path / "usr/share/doc/cosign/changelog.Debian.gz"
    changelog.parent.mkdir(parents=True)
    changelog.write_bytes(gzip.compress(b"cosign (2.5.0-2) unstable; urgency=medium\n"))
    assert DebianTool("cosign", "extract").version_in(tmp_path) == "2.5.0-2"


def test_locks_are_read_from_the_commit_not_the_tree() -> None:
    with pytest.raises(BuildError, match="full clone"):
        provenance.lock_digests("0" * 40)


def test_the_play_sets_limits_runc_may_set_here() -> None:
    conf = tomllib.loads(kubeplay.CONTAINERS_CONF)
    assert conf["engine"]["runtime"] == "runc"
    for limit in conf["containers"]["default_ulimits"]:
        soft, hard = limit.split("=")[1].split(":")
        assert int(soft) <= int(hard) <= 4096, limit
