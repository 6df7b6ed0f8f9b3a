"""`nox -s release`: push by digest, sign, attach SBOM and provenance, pin the deployments.

Each image is pushed from the builder's store as built (the record in
build/images.json says which IDs), so what is signed is what was tested. The
SBOM is made afresh and must name the same image ID; the provenance must fit
SLSA v1. The release then verifies its own signature, and writes the digests
where the deployments read them: a kustomize overlay and compose's variable.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tools import trivy
from tools.appimages import Commit, build_request
from tools.builders import Builder
from tools.process import BuildError, Runner
from tools.project import (
    BASES,
    COMPOSE_IMAGE_ENV,
    DEPLOYED_VARIANT,
    IMAGE_NAME,
    KUSTOMIZE_BASE,
    RELEASE_DIR,
    ROOT,
    VARIANTS,
    Variant,
)
from tools.release import provenance
from tools.release.references import Pinned, Repository
from tools.release.signing import Cosign, signed_digest

SBOM_TYPE = "cyclonedx"
#: The property trivy's CycloneDX output names the scanned image ID with.
TRIVY_IMAGE_ID = "aquasecurity:trivy:ImageID"


@dataclasses.dataclass(frozen=True)
class Released:
    """One image in the registry: where, what it was built as, what is attached."""

    variant: str
    image: Pinned
    image_id: str
    attestations: tuple[str, ...]

    def row(self) -> list[str]:
        return [
            self.variant,
            str(self.image),
            f"verified ({self.image.signature_tag.rsplit(':', 1)[1][:19]}….sig)",
            ", ".join(self.attestations),
        ]


@dataclasses.dataclass(frozen=True)
class KeyPair:
    """The signing key and the public key beside it."""

    private: Path
    public: Path

    @classmethod
    def beside(cls, private: Path) -> KeyPair:
        public = private.with_suffix(".pub")
        for path in (private, public):
            if not path.exists():
                raise BuildError(f"no {path}: make a key pair with `nox -s keygen`, or pass --key")
        return cls(private, public)


def sbom_image_id(sbom: Mapping[str, Any]) -> str | None:
    """The image ID trivy's CycloneDX SBOM says it describes."""
    for prop in sbom.get("metadata", {}).get("component", {}).get("properties", []):
        if prop.get("name") == TRIVY_IMAGE_ID:
            return str(prop.get("value"))
    return None


class Release:
    """One release of the images `nox -s build` recorded, to one repository."""

    def __init__(
        self,
        run: Runner,
        builder: Builder,
        *,
        cosign: Cosign,
        repository: Repository,
        key: KeyPair,
        record: Mapping[str, Any],
        workdir: Path = RELEASE_DIR,
    ) -> None:
        self.run, self.builder, self.cosign = run, builder, cosign
        self.repository, self.key, self.record = repository, key, record
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)

    def built_id(self, variant: Variant) -> str:
        """The recorded ID of a variant, which the builder's store must still hold."""
        recorded = {image["variant"]: image["image_id"] for image in self.record["images"]}
        local = self.builder.local_name(variant.tag())
        if variant.name not in recorded or self.builder.image_id(local) != recorded[variant.name]:
            raise BuildError(
                f"{local} in {self.builder.name}'s store is not what build/images.json records: "
                "run `nox -s build`, then release"
            )
        return str(recorded[variant.name])

    def bases(self) -> dict[str, str]:
        """What each base build arg named when the images were built."""
        return {
            name: (base.standin if self.record["offline"] else base.upstream)
            for name, base in BASES.items()
        }

    def predicate(self, variant: Variant) -> dict[str, Any]:
        commit = Commit(self.record["revision"], self.record["source_date_epoch"])
        request = build_request(variant, self.bases(), commit, no_cache=False)
        base_ids = {}
        for arg in variant.base_args:
            found = self.builder.image_id(request.build_args[arg])
            if found is None:
                raise BuildError(f"base {request.build_args[arg]} is gone: run `nox -s build`")
            base_ids[arg] = found
        return provenance.predicate(
            revision=commit.revision,
            tree_clean=self.record["tree_clean"],
            dockerfile=variant.dockerfile,
            build_args=request.build_args,
            base_ids=base_ids,
            builder=self.builder.name,
            builder_version=self.record["builder_version"],
            platform=f"linux/{self.record['arch']}",
        )

    def sbom(self, variant: Variant, image_id: str) -> Path:
        """trivy's CycloneDX SBOM of the image, checked to be of this image ID."""
        path = self.workdir / f"{variant.name}.cdx.json"
        self.run(*trivy.sbom(variant.tag(), path), env=trivy.ENV)
        described = sbom_image_id(json.loads(path.read_text()))
        if described != image_id:
            raise BuildError(
                f"the SBOM of {variant.tag()} describes {described}, not {image_id}: "
                "Docker holds another image under that tag; run `nox -s build`"
            )
        return path

    def image(self, variant: Variant) -> Released:
        image_id = self.built_id(variant)
        digest = self.builder.push(
            self.run,
            self.builder.local_name(variant.tag()),
            self.repository.tag(variant.name),
            tls_verify=not self.repository.loopback,
        )
        pinned = Pinned(self.repository, digest)
        sbom = self.sbom(variant, image_id)
        predicate = self.workdir / f"{variant.name}.provenance.json"
        predicate.write_text(json.dumps(self.predicate(variant), indent=2) + "\n")
        self.cosign.sign(pinned, self.key.private)
        self.cosign.attest(pinned, self.key.private, sbom, SBOM_TYPE)
        self.cosign.attest(pinned, self.key.private, predicate, provenance.COSIGN_TYPE)
        signed = {
            signed_digest(payload) for payload in self.cosign.verify(pinned, self.key.public)
        }
        if digest not in signed:
            raise BuildError(f"the signature of {pinned} names {signed}, not {digest}")
        return Released(variant.name, pinned, image_id, (SBOM_TYPE, provenance.COSIGN_TYPE))

    def all(self) -> list[Released]:
        released = [self.image(variant) for variant in VARIANTS.values()]
        write_record(released, self.repository, self.workdir)
        return released


def write_record(released: Sequence[Released], repository: Repository, workdir: Path) -> None:
    """release.json, the kustomize overlay and compose's env file, all by digest."""
    images = {r.variant: r for r in released}
    record = {
        "repository": str(repository),
        "images": [
            {"variant": r.variant, "reference": str(r.image), "image_id": r.image_id}
            for r in released
        ],
    }
    (workdir / "release.json").write_text(json.dumps(record, indent=2) + "\n")
    deployed = images[DEPLOYED_VARIANT].image
    overlay = overlay_dir(workdir)
    overlay.mkdir(parents=True, exist_ok=True)
    (overlay / "kustomization.yaml").write_text(kustomization(deployed, overlay))
    (workdir / "compose.env").write_text(f"{COMPOSE_IMAGE_ENV}={deployed}\n")


def overlay_dir(workdir: Path) -> Path:
    return workdir / "kubernetes"


def rendered_overlay(workdir: Path = RELEASE_DIR) -> str:
    """The manifests the release's overlay renders to, as `kubectl kustomize` prints them."""
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(overlay_dir(workdir))],
        capture_output=True,
        text=True,
        check=False,
    )
    if rendered.returncode != 0:
        raise BuildError(f"kubectl kustomize {overlay_dir(workdir)}: {rendered.stderr.strip()}")
    return rendered.stdout


def kustomization(image: Pinned, overlay: Path) -> str:
    """An overlay of the Kubernetes base that runs `image`, by digest."""
    base = os.path.relpath(ROOT / KUSTOMIZE_BASE, overlay)
    document = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [base],
        "images": [{"name": IMAGE_NAME, "newName": str(image.repository), "digest": image.digest}],
    }
    header = "# Written by `nox -s release`: the base, pinned to the released digest.\n"
    return header + yaml.safe_dump(document, sort_keys=False)


def read_record(workdir: Path = RELEASE_DIR) -> dict[str, Any]:
    path = workdir / "release.json"
    if not path.exists():
        raise BuildError(f"no {path}: run `nox -s release -- --registry HOST:PORT/NAME` first")
    return dict(json.loads(path.read_text()))
