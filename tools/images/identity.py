"""What an app image is defined by: its inputs, the commit that last changed them, one epoch.

An image's ID depends only on what goes into it (docs/reproducibility.md has
the table): the files of `IMAGE_INPUTS`, the platform's wheelhouse, the base
images, the builder and its version. Not on when it was built, nor on a commit
that changed only docs or tests:

- every file time and `created` are `IMAGE_EPOCH`, a constant, as in
  distroless, ko and rules_oci: any date that moves with commits would move
  every layer, and a cached layer would keep an older date than a clean build;
- the revision label names `input_revision()`, the last commit that changed an
  input, whose checkout builds the same image;
- `inputs_digest` is one build request's inputs as a digest: the build record
  keeps it, and a build whose digest is unchanged reuses the image it made.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from tools.builders import Builder, BuildRequest
from tools.paths import ROOT
from tools.process import git

#: SOURCE_DATE_EPOCH of every app image: 1970-01-01T00:00:00Z.
IMAGE_EPOCH = 0

#: Everything in the checkout that shapes an app image: its Containerfiles and
#: context, the locks, the stand-ins' recipes and locks, the toolchain, and the
#: tooling that turns them into build arguments and normalized images.
IMAGE_INPUTS = (
    ".dockerignore",
    "Dockerfile",
    "Dockerfile.distroless",
    "image",
    "moscow_time",
    "requirements-build.txt",
    "requirements.txt",
    "standins",
    "tools/builders",
    "tools/buildenv.py",
    "tools/images/appimages.py",
    "tools/images/identity.py",
    "tools/images/standins.py",
    "tools/inputs/recipes.py",
    "tools/inputs/toolchain.py",
    "tools/model.py",
    # The programs that write the bits (buildah, mmdebstrap, apt, dpkg), by their lock.
    "toolchain",
)


def input_revision() -> str:
    """The last commit that changed an image input: the commit the images are of."""
    return git("log", "-1", "--format=%H", "HEAD", "--", *IMAGE_INPUTS) or git("rev-parse", "HEAD")


def inputs_changed_since_commit() -> list[str]:
    """The image inputs that differ from the last commit (tracked or not), by path."""
    changed = git("diff", "--name-only", "HEAD", "--", *IMAGE_INPUTS).splitlines()
    changed += git("ls-files", "--others", "--exclude-standard", "--", *IMAGE_INPUTS).splitlines()
    return sorted(set(changed))


def input_files(paths: Iterable[str], root: Path = ROOT) -> list[Path]:
    """Every file under these paths that git tracks or would track, sorted."""
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", "--", *paths)
    return sorted(root / name for name in listed.splitlines() if (root / name).is_file())


def files_digest(files: Iterable[Path], root: Path) -> str:
    """sha256 over each file's path, executable bit and content."""
    digest = hashlib.sha256()
    for path in files:
        executable = b"x" if os.access(path, os.X_OK) else b"-"
        digest.update(str(path.relative_to(root)).encode() + b"\0" + executable + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def request_inputs(request: BuildRequest) -> dict[str, object]:
    """What of a request shapes the image: not its tags, nor whether the cache was used."""
    return {
        "containerfile": str(request.containerfile.relative_to(request.context)),
        "build_args": dict(sorted(request.build_args.items())),
        "labels": dict(sorted(request.labels.items())),
        "timestamp": request.timestamp,
        "platform": request.platform,
    }


def inputs_digest(
    builder: Builder, request: BuildRequest, base_ids: Mapping[str, str | None], wheelhouse: Path
) -> str:
    """The digest of everything one app image is made from: equal digests, equal images."""
    checkout = files_digest(input_files(IMAGE_INPUTS), ROOT)
    wheels = files_digest(sorted(p for p in wheelhouse.rglob("*") if p.is_file()), wheelhouse)
    found = {
        "builder": [builder.name, builder.version()],
        "request": request_inputs(request),
        "bases": dict(sorted(base_ids.items())),
        "checkout": checkout,
        "wheelhouse": wheels,
    }
    return "sha256:" + hashlib.sha256(json.dumps(found, sort_keys=True).encode()).hexdigest()
