"""The pull-time gate: a containers policy.json that admits only images signed by our key.

skopeo, podman, buildah and CRI-O read this policy. For the release's
repository it requires a sigstore signature by the release key whose identity
matches the repository; every other source is rejected. `registries.d` tells
them to look for signatures where cosign puts them. Debian 12's tools cannot
check sigstore signatures, so `Gate` runs Debian 13's skopeo: a copy it
refuses is an image a runtime with this policy would refuse to run.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from tools.debtools import ChrootSkopeo
from tools.release.references import Pinned, Repository


def policy(repository: Repository, key_path: str) -> dict[str, Any]:
    """Reject everything but images of `repository` signed by the key at `key_path`."""
    return {
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                str(repository): [
                    {
                        "type": "sigstoreSigned",
                        "keyPath": key_path,
                        "signedIdentity": {"type": "matchRepository"},
                    }
                ]
            }
        },
    }


#: sigstore signatures live beside the image, as cosign attaches them.
REGISTRIES_D = "default-docker:\n  use-sigstore-attachments: true\n"


def write_trust(directory: Path, repository: Repository, public_key: Path, key_path: str) -> None:
    """policy.json, registries.d/ and the key, for tools that see `directory`."""
    shutil.copy(public_key, directory / "cosign.pub")
    (directory / "policy.json").write_text(json.dumps(policy(repository, key_path), indent=2))
    (directory / "registries.d").mkdir(exist_ok=True)
    (directory / "registries.d" / "sigstore.yaml").write_text(REGISTRIES_D)


@dataclasses.dataclass(frozen=True)
class Admission:
    """Whether the policy admitted an image, and skopeo's words if it did not."""

    admitted: bool
    message: str


class Gate:
    """Debian 13's skopeo, with the policy for one repository and one key."""

    def __init__(self, skopeo: ChrootSkopeo, repository: Repository, public_key: Path) -> None:
        self.skopeo, self.repository = skopeo, repository
        self.trust = skopeo.shared(f"trust-{repository.path.replace('/', '-')}")
        write_trust(self.trust, repository, public_key, skopeo.inside(self.trust / "cosign.pub"))

    def check(self, image: Pinned) -> Admission:
        """Copy the image under the policy; the copy is thrown away."""
        copy = self.skopeo.shared("gate-copy")
        command = self.skopeo.command(
            "--policy",
            self.skopeo.inside(self.trust / "policy.json"),
            "--registries.d",
            self.skopeo.inside(self.trust / "registries.d"),
            "copy",
            "--quiet",
            *image.repository.skopeo_tls("src"),
            f"docker://{image}",
            f"dir:{self.skopeo.inside(copy)}",
        )
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        shutil.rmtree(copy, ignore_errors=True)
        lines = (result.stderr or result.stdout).strip().splitlines()
        return Admission(result.returncode == 0, _skopeo_message(lines[-1]) if lines else "")


def _skopeo_message(line: str) -> str:
    """skopeo's fatal line without its logrus prefix: `time=... level=fatal msg="..."`."""
    if 'msg="' in line:
        return line.split('msg="', 1)[1].rstrip('"').replace('\\"', '"')
    return line
