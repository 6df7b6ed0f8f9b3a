"""cosign, keyed and offline: make a key pair, sign and attest a digest, verify both.

Signatures and attestations go to the registry beside the image, in sigstore's
format (`REPO:sha256-<digest>.sig` and `.att`), where `cosign verify` and a
containers policy find them. There is no transparency log here: signing uses
`--tlog-upload=false` and verifying `--insecure-ignore-tlog`, and
docs/release.md says what an online release adds.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tools.process import BuildError
from tools.release.references import Pinned

#: cosign reads the private key's password from here; an empty one is allowed.
PASSWORD_ENV = "COSIGN_PASSWORD"  # noqa: S105 (the variable's name, not a password)


class Cosign:
    """One cosign binary; every call is offline."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary

    def _run(self, *args: str, what: str) -> str:
        env = os.environ | {PASSWORD_ENV: os.environ.get(PASSWORD_ENV, "")}
        result = subprocess.run(
            [str(self.binary), *args], capture_output=True, text=True, env=env, check=False
        )
        if result.returncode != 0:
            detail = result.stderr.strip().splitlines()
            raise BuildError(f"{what} failed: {detail[-1] if detail else 'no message'}")
        return result.stdout

    def generate_key_pair(self, prefix: Path) -> tuple[Path, Path]:
        """PREFIX.key (encrypted with $COSIGN_PASSWORD) and PREFIX.pub; refuses to overwrite."""
        private, public = prefix.with_suffix(".key"), prefix.with_suffix(".pub")
        if private.exists() or public.exists():
            raise BuildError(f"{private} or {public} exists: move it away, or keep using it")
        prefix.parent.mkdir(parents=True, exist_ok=True)
        self._run("generate-key-pair", "--output-key-prefix", str(prefix), what="making a key")
        private.chmod(0o600)
        return private, public

    def sign(self, image: Pinned, key: Path, *, recursive: bool = False) -> None:
        """Sign a digest; `recursive`: an index and every manifest it lists."""
        self._run(
            "sign",
            "--yes",
            *(["--recursive"] if recursive else []),
            "--key",
            str(key),
            "--tlog-upload=false",
            *image.repository.cosign_flags(),
            str(image),
            what=f"signing {image}",
        )

    def attest(self, image: Pinned, key: Path, predicate: Path, kind: str) -> None:
        self._run(
            "attest",
            "--yes",
            "--key",
            str(key),
            "--tlog-upload=false",
            "--type",
            kind,
            "--predicate",
            str(predicate),
            *image.repository.cosign_flags(),
            str(image),
            what=f"attesting {kind} for {image}",
        )

    def verify(self, image: Pinned, public_key: Path) -> list[dict[str, Any]]:
        """The verified signature payloads; BuildError if none verifies with this key."""
        out = self._run(
            "verify",
            "--key",
            str(public_key),
            "--insecure-ignore-tlog",
            *image.repository.cosign_flags(),
            str(image),
            what=f"verifying the signature of {image} with {public_key}",
        )
        payloads = json.loads(out)
        if not isinstance(payloads, list):
            raise BuildError(f"cosign verify printed no list of payloads for {image}")
        return payloads

    def verify_attestation(
        self, image: Pinned, public_key: Path, kind: str
    ) -> list[dict[str, Any]]:
        """The in-toto statements of `kind` attached to the image, verified with this key."""
        out = self._run(
            "verify-attestation",
            "--key",
            str(public_key),
            "--insecure-ignore-tlog",
            "--type",
            kind,
            *image.repository.cosign_flags(),
            str(image),
            what=f"verifying the {kind} attestation of {image} with {public_key}",
        )
        return [statement_of(json.loads(line)) for line in out.splitlines() if line.strip()]


def statement_of(envelope: dict[str, Any]) -> dict[str, Any]:
    """The in-toto statement inside a DSSE envelope (cosign's attestation output)."""
    if envelope.get("payloadType") != "application/vnd.in-toto+json":
        raise BuildError(f"not an in-toto envelope: {envelope.get('payloadType')!r}")
    statement: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return statement


def subject_digests(statement: dict[str, Any]) -> set[str]:
    """The sha256 digests a statement is about."""
    return {
        f"sha256:{subject['digest']['sha256']}"
        for subject in statement.get("subject", [])
        if "sha256" in subject.get("digest", {})
    }


def signed_digest(payload: dict[str, Any]) -> str:
    """The manifest digest a cosign signature payload names."""
    return str(payload["critical"]["image"]["docker-manifest-digest"])
