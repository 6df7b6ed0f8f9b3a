"""Where things are: the checkout's files and what the sessions write under build/.

Paths only: no environment is read here (that is `tools.settings`), and no
domain type is defined here (that is `tools.model`).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"

# ---- In the checkout ---------------------------------------------------------
#: The toolchain that writes image bits: its package list, its locks (toolchain.ARCH.lock),
#: its containers.conf and enter.sh, which runs a command with it (`tools.inputs.toolchain`).
TOOLCHAIN_FOLDER = ROOT / "toolchain"
#: What each stand-in base is made of: a Containerfile, an mmdebstrap hook and
#: the Debian locks, one per architecture (NAME.ARCH.lock).
STANDIN_RECIPES = ROOT / "standins"
#: The tooling that turns a recipe into a stand-in image: the recipes' hooks
#: are run, and the built image cleaned, by this code.
STANDIN_TOOLING = (
    ROOT / "tools" / "images" / "standins.py",
    ROOT / "tools" / "inputs" / "recipes.py",
    ROOT / "tools" / "inputs" / "toolchain.py",
    ROOT / "tools" / "builders",
    ROOT / "tools" / "buildenv.py",
    # Which toolchain, on either host architecture, runs the hooks and writes the image.
    *(
        TOOLCHAIN_FOLDER / name
        for name in (
            "packages.txt",
            "containers.conf",
            "enter.sh",
            "toolchain.amd64.lock",
            "toolchain.arm64.lock",
        )
    ),
)
#: The upstream bases by digest (`tools.inputs.baselock`), beside the pip locks.
BASES_LOCK = ROOT / "bases.lock.json"
#: The image IDs of one commit, as built here, for other machines to rebuild.
PUBLISHED_IDS = ROOT / "published" / "image-ids.json"
#: Every layer's files of the published build, one record per platform (ARCH.txt).
CONTENT_RECORDS = ROOT / "published" / "contents"
STRUCTURE_TESTS = ROOT / "tests" / "structure"
#: The vulnerability gate's planted advisories and VEX documents (the rehearsal uses them too).
SCAN_TESTS = ROOT / "tests" / "scan"
KUSTOMIZE_BASE = "deploy/kubernetes"
#: One server's deployment (`docker compose up -d`).
COMPOSE_FILE = ROOT / "compose.yaml"
#: Python sources that ruff and mypy check.
LINT_PATHS = ("moscow_time", "image", "tests", "tools", "noxfile.py")
CONTAINERFILES = (
    "Dockerfile",
    "Dockerfile.distroless",
    *sorted(str(p.relative_to(ROOT)) for p in STANDIN_RECIPES.glob("*.Containerfile")),
)

# ---- Under build/ --------------------------------------------------------------
#: One directory per platform (Debian's name), passed as the WHEELHOUSE build arg.
WHEELHOUSE = BUILD / "wheelhouse"
#: Where each stand-in's root filesystem is made (build/standins/NAME/ARCH).
STANDIN_WORKDIR = BUILD / "standins"
#: The Debian packages each stand-in was made from, for explaining a drift: an output,
#: not a lock (the locks are standins/NAME.ARCH.lock).
STANDIN_PACKAGES = BUILD / "standin-packages.txt"
#: Its name before it was renamed, which older commits' builds write.
STANDIN_PACKAGES_BEFORE = "bases.lock"
#: The build record: what the last `nox -s build` made (`tools.images.record`).
BUILD_RECORD = BUILD / "images.json"
#: The OCI archives that Docker's BuildKit writes, one per image ID.
OCI_ARCHIVES = BUILD / "oci"
SBOM_DIR = BUILD / "sbom"
TRIVY_CACHE = BUILD / "trivy-cache"
#: Where `nox -s rebuild-published` checks out the published commit.
PUBLISHED_WORKTREE = BUILD / "published-rebuild"
RENDERED_MANIFESTS = BUILD / "deploy" / "moscow-time.yaml"
#: Where `nox -s rebuild` checks out each released commit, and writes its summaries.
REBUILD_DIR = BUILD / "rebuild"
#: Where `nox -s release` keeps SBOMs, predicates, its record and the pinned deployments.
RELEASE_DIR = BUILD / "release"
#: Where `nox -s keygen` puts the signing key pair unless told otherwise.
DEFAULT_KEY_PREFIX = BUILD / "keys" / "cosign"
#: What the browser test sees; `nox -s screenshot` copies desktop.png into docs/..
SCREENSHOTS = BUILD / "screenshots"
