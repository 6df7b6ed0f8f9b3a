"""`nox -s release`: push by digest, sign, attach SBOM, provenance and the vulnerability
scan, pin the deployments.

Each variant's image index is pushed from the builder's store as built (the
build record says which IDs), so what is signed is what was
tested. The index and each platform's manifest in it are signed; each
platform's image gets its own SBOM, made afresh and naming the same image ID,
its own provenance, which must fit SLSA v1, and the vulnerability gate's result for
it (tools/scan; the release refuses an image that fails the gate). The release then verifies its
own signatures, and writes the index digests where the deployments read them:
a kustomize overlay and compose's variable.
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

from tools.builders import Builder
from tools.checks import trivy
from tools.images.appimages import build_request
from tools.images.record import BuildRecord
from tools.model import (
    BUILDER_ARG,
    DEPLOYED_VARIANT,
    IMAGE_NAME,
    PLATFORMS,
    VARIANTS,
    Platform,
    Variant,
)
from tools.paths import KUSTOMIZE_BASE, RELEASE_DIR, ROOT
from tools.process import BuildError, Runner
from tools.release import manifests, provenance, scanned
from tools.release import record as release_record
from tools.release.references import Pinned, Repository
from tools.release.signing import Cosign, signed_digest
from tools.scan.result import ImageScan, ScanResult
from tools.settings import COMPOSE_IMAGE_ENV

SBOM_TYPE = "cyclonedx"
#: The property trivy's CycloneDX output names the scanned image ID with.
TRIVY_IMAGE_ID = "aquasecurity:trivy:ImageID"
#: What each platform's manifest is attested with: the file's suffix, cosign's type.
ATTESTED = (
    ("cdx.json", SBOM_TYPE),
    ("provenance.json", provenance.COSIGN_TYPE),
    ("vuln.json", scanned.COSIGN_TYPE),
)


def attachments(workdir: Path, stem: str) -> list[tuple[Path, str]]:
    """The files one platform's manifest was attested with, and their cosign types."""
    return [(workdir / f"{stem}.{suffix}", kind) for suffix, kind in ATTESTED]


@dataclasses.dataclass(frozen=True)
class Released:
    """One variant in the registry: its index, each platform's image in it, what is attached."""

    variant: str
    #: The image index: what is deployed, and what a platform-aware pull resolves.
    image: Pinned
    #: Platform → its manifest in the index.
    platforms: dict[str, Pinned]
    #: Platform → the image ID it was built as.
    image_ids: dict[str, str]
    #: What each platform's manifest has attached.
    attestations: tuple[str, ...]

    def rows(self) -> list[list[str]]:
        def signature(image: Pinned) -> str:
            return f"verified ({image.signature_tag.rsplit(':', 1)[1][:19]}….sig)"

        rows = [[f"{self.variant} (index)", str(self.image), signature(self.image), ""]]
        for platform, image in self.platforms.items():
            attached = ", ".join(self.attestations)
            rows.append([f"  {platform}", image.digest, signature(image), attached])
        return rows


@dataclasses.dataclass(frozen=True)
class KeyPair:
    """The signing key and the public key beside it."""

    private: Path
    public: Path

    @classmethod
    def beside(cls, private: Path, option: str = "--key") -> KeyPair:
        """The pair `private` names; `option` is the flag that names it, for the message."""
        public = private.with_suffix(".pub")
        for path in (private, public):
            if not path.exists():
                raise BuildError(
                    f"no {path}: make a key pair with `nox -s keygen -- --prefix "
                    f"{private.with_suffix('')}`, or pass {option} with another"
                )
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
        record: BuildRecord,
        scan: ScanResult,
        workdir: Path = RELEASE_DIR,
    ) -> None:
        self.run, self.builder, self.cosign = run, builder, cosign
        self.repository, self.key, self.record, self.scan = repository, key, record, scan
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)

    def index(self, variant: Variant) -> tuple[str, dict[str, str]]:
        """A variant's recorded images, each checked in the store, put in one image index
        made now: its name, and platform → image ID."""
        if not self.builder.multi_platform:
            raise BuildError(
                f"{self.builder.name} makes no image index: build with buildah or podman "
                "(`nox -s build`), then release"
            )
        images = {b.platform: b.image_id for b in self.record.images if b.variant == variant.name}
        for platform, image_id in images.items():
            local = self.builder.local_name(self.record.image(variant.name, platform).tag)
            if self.builder.image_id(local) != image_id:
                raise BuildError(
                    f"{local} in {self.builder.name}'s store is not what the build record "
                    "holds: run `nox -s build`, then release"
                )
        name = self.builder.local_name(variant.tag("index"))
        self.builder.create_index(self.run, name, list(images.values()))
        return name, images

    def predicate(self, variant: Variant, platform: Platform) -> dict[str, Any]:
        plan = self.record.plan
        request = build_request(plan, variant, platform)
        base_ids = {}
        for arg in (*variant.base_args, BUILDER_ARG):
            found = self.builder.image_id(request.build_args[arg])
            if found is None:
                raise BuildError(f"base {request.build_args[arg]} is gone: run `nox -s build`")
            base_ids[arg] = found
        return provenance.predicate(
            plan=plan,
            tree_clean=self.record.tree_clean,
            dockerfile=variant.dockerfile,
            build_args=request.build_args,
            base_ids=base_ids,
            builder_version=self.record.builder_version,
            platform=platform.name,
        )

    def sbom(self, variant: Variant, platform: Platform, image_id: str, path: Path) -> None:
        """trivy's CycloneDX SBOM of one platform's image, checked to be of this image ID."""
        tag = self.record.image(variant.name, platform.name).tag
        self.run(*trivy.sbom(tag, path), env=trivy.ENV)
        described = sbom_image_id(json.loads(path.read_text()))
        if described != image_id:
            raise BuildError(
                f"the SBOM of {tag} describes {described}, not {image_id}: "
                "Docker holds another image under that tag; run `nox -s build`"
            )

    def attest(self, variant: Variant, platform: Platform, image: Pinned, image_id: str) -> None:
        """One platform's manifest: its SBOM, its provenance and its vulnerability scan."""
        attached = attachments(self.workdir, f"{variant.name}.{platform.debian}")
        (sbom, _), (predicate, _), (vulns, _) = attached
        self.sbom(variant, platform, image_id, sbom)
        predicate.write_text(json.dumps(self.predicate(variant, platform), indent=2) + "\n")
        scan = self.passing_scan(variant.name, platform.name, image_id)
        vulns.write_text(json.dumps(scanned.predicate(self.scan, scan), indent=2) + "\n")
        for path, kind in attached:
            self.cosign.attest(image, self.key.private, path, kind)

    def check_signed(self, image: Pinned) -> None:
        signed = {signed_digest(p) for p in self.cosign.verify(image, self.key.public)}
        if image.digest not in signed:
            raise BuildError(f"the signature of {image} names {signed}, not {image.digest}")

    def variant(self, variant: Variant) -> Released:
        name, images = self.index(variant)
        digest = self.builder.push_index(
            self.run,
            name,
            self.repository.tag(variant.name),
            tls_verify=not self.repository.loopback,
        )
        pinned = Pinned(self.repository, digest)
        children = manifests.platforms(pinned)
        if set(children) != set(images):
            raise BuildError(
                f"{pinned} holds {', '.join(children)}, not the {', '.join(images)} "
                "that was built: run `nox -s build`, then release"
            )
        # The index and, recursively, each platform's manifest in it.
        self.cosign.sign(pinned, self.key.private, recursive=True)
        for platform, child in children.items():
            self.attest(variant, PLATFORMS[platform], child, images[platform])
        for image in (pinned, *children.values()):
            self.check_signed(image)
        attached = tuple(kind for _, kind in ATTESTED)
        return Released(variant.name, pinned, children, dict(images), attached)

    def passing_scan(self, variant: str, platform: str, image_id: str) -> ImageScan:
        if (scan := self.scan.image(image_id)) is None or scan.failing:
            raise BuildError(
                f"{variant} ({platform}) has no passing vulnerability scan of {image_id[:19]}…: "
                "`nox -s vulns` says why; fix it, then release"
            )
        return scan

    def all(self) -> list[Released]:
        """Every variant, once every image passed the gate (nothing is pushed before)."""
        for built in self.record.images:
            self.passing_scan(built.variant, built.platform, built.image_id)
        released = [self.variant(variant) for variant in VARIANTS.values()]
        write_record(released, self.repository, self.workdir)
        return released


def write_record(released: Sequence[Released], repository: Repository, workdir: Path) -> None:
    """release.json, the kustomize overlay and compose's env file, all by digest."""
    images = {r.variant: r for r in released}
    release_record.write(release_record.of(released, str(repository)), workdir)
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
