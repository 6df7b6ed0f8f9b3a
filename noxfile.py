"""Sessions for moscow-time. `nox -l` lists them; `nox` runs the default set."""

from __future__ import annotations

import argparse
import filecmp
import functools
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tools import deploy_probe, images

nox.needs_version = ">=2025.02.09"
nox.options.default_venv_backend = "venv"
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).resolve().parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
VERSION: str = PYPROJECT["project"]["version"]

LINT_PATHS = ["moscow_time", "tests", "tools", "noxfile.py"]
CONTAINERFILES = [
    "Dockerfile",
    "Dockerfile.distroless",
    *map(str, sorted(Path("bases").glob("*.Containerfile"))),
]
INTEGRATION_TESTS = ["tests/integration"]
SBOM_DIR = ROOT / "build" / "sbom"
KUSTOMIZE_BASE = "deploy/kubernetes"
RENDERED_MANIFESTS = ROOT / "build" / "deploy" / "moscow-time.yaml"
#: The Kubernetes version whose schemas the manifests must satisfy.
KUBERNETES_VERSION = "1.37.0"
#: trivy's cache, so its vulnerability database survives between runs.
TRIVY_CACHE = ROOT / "build" / "trivy-cache"
#: Where `nox -s verify` checks out the commit whose image IDs were published.
VERIFY_WORKTREE = ROOT / "build" / "verify"
UNIT_TESTS = ["tests", *(f"--ignore=tests/{d}" for d in ("integration", "scan", "deploy"))]

RUNTIME_LOCK = "requirements.txt"
BUILD_LOCK = "requirements-build.txt"
DEV_LOCK = "requirements-dev.txt"
#: Each lock and the file it is compiled from. Order matters: the dev lock is
#: constrained by the runtime lock, so that one is compiled first.
LOCKS = {
    "requirements.txt": "requirements.in",
    "requirements-build.txt": "requirements-build.in",
    "requirements-dev.txt": "requirements-dev.in",
}
#: The Python the locks are compiled with: pip-compile evaluates markers for
#: the interpreter it runs on, so a lock is only stable for one of them.
LOCK_PYTHON = "3.11"
PIP_COMPILE_ARGS = [
    "--quiet",
    "--generate-hashes",
    # Pin pip and setuptools too: in hash-checking mode everything needs a hash.
    "--allow-unsafe",
    "--strip-extras",
    # Never write this machine's index or wheel directories into a lock.
    "--no-emit-index-url",
    "--no-emit-find-links",
]
PIP_COMPILE_ENV = {
    "CUSTOM_COMPILE_COMMAND": "nox -s lock",
    # Resolve against PyPI alone: a machine's pip.conf (extra indexes, local
    # wheel directories) must not change what gets pinned.
    "PIP_CONFIG_FILE": os.devnull,
    "PIP_FIND_LINKS": "",
    "PIP_EXTRA_INDEX_URL": "",
}


def install_locked(session: nox.Session, *locks: str) -> None:
    """Install from hash-pinned locks only; an unpinned package is an error."""
    args = [arg for lock in locks for arg in ("-r", lock)]
    session.install("--require-hashes", "--no-deps", *args)


# ---- Development -----------------------------------------------------------


@nox.session(python=LOCK_PYTHON, default=False)
def lock(session: nox.Session) -> None:
    """Compile the hash-pinned locks (`-- --check` fails if one is stale)."""
    check = "--check" in session.posargs
    extra = [arg for arg in session.posargs if arg != "--check"]
    install_locked(session, DEV_LOCK)
    with tempfile.TemporaryDirectory() as scratch:
        stale = []
        for lock_file, source in LOCKS.items():
            output = ROOT / lock_file
            if check:
                # Compile over a copy: pip-compile keeps existing pins, so the
                # copy changes only if the .in file asks for something else.
                output = Path(scratch) / lock_file
                output.write_bytes((ROOT / lock_file).read_bytes())
            session.run(
                "pip-compile",
                *PIP_COMPILE_ARGS,
                *extra,
                "--output-file",
                str(output),
                source,
                env=PIP_COMPILE_ENV,
            )
            if check and not filecmp.cmp(output, ROOT / lock_file, shallow=False):
                stale.append(lock_file)
        if stale:
            session.error(f"stale lock(s): {', '.join(stale)}; run `nox -s lock`")


@nox.session
def lint(session: nox.Session) -> None:
    """Lint: ruff check, ruff format --check, mypy, and hadolint on the Dockerfiles."""
    install_locked(session, RUNTIME_LOCK, DEV_LOCK)
    paths = session.posargs or LINT_PATHS
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("mypy")
    session.run("hadolint", *CONTAINERFILES)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the unit, property, route and process tests with coverage."""
    install_locked(session, RUNTIME_LOCK, DEV_LOCK)
    session.run(
        "pytest",
        "--cov",
        "--cov-report=term",
        *(session.posargs or UNIT_TESTS),
        env={"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")},
    )


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Serve the app locally on http://127.0.0.1:5000 (args go to the server)."""
    install_locked(session, RUNTIME_LOCK)
    session.run("python", "-m", "moscow_time", *session.posargs)


# ---- Images ------------------------------------------------------------------


def image_options(session: nox.Session) -> argparse.Namespace:
    """Options shared by the sessions that build images."""
    parser = argparse.ArgumentParser(prog=f"nox -s {session.name} --")
    parser.add_argument(
        "--builder",
        choices=images.BUILDERS,
        help=f"default: ${images.BUILDER_ENV}, else the first of buildah, podman, docker found",
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help=f"build on local stand-in bases (also: {images.OFFLINE_ENV}=1)",
    )
    parser.add_argument("--no-cache", action="store_true", help="rebuild every layer")
    return parser.parse_args(session.posargs)


def runner(session: nox.Session) -> images.Runner:
    return functools.partial(session.run, external=True)


def variant_builder(
    session: nox.Session, builder: images.Builder, bases: dict[str, str]
) -> functools.partial[images.Built]:
    """Builds one app image at this commit; further options pass through."""
    return functools.partial(
        images.build_variant,
        runner(session),
        builder,
        bases=bases,
        epoch=images.source_date_epoch(),
        revision=images.git_revision(),
        version=VERSION,
    )


def pick_builder(
    session: nox.Session, requested: str | None, *, reproducible: bool = False
) -> images.Builder:
    """The builder to use; one that cannot build reproducibly is a warning, or an error."""
    try:
        builder = images.pick_builder(requested)
    except images.BuildError as error:
        session.error(str(error))
    if reason := builder.why_not_reproducible:
        if reproducible:
            session.error(f"{builder.name} cannot build reproducibly here ({reason}); use buildah")
        session.warn(
            f"{builder.name} builds are not bit-for-bit reproducible here ({reason}); "
            "buildah's and podman's are: --builder buildah"
        )
    return builder


def build_bases(session: nox.Session, builder: images.Builder) -> dict[str, str]:
    """Make both stand-in bases from Debian packages; return their IDs."""
    run, epoch = runner(session), images.source_date_epoch()
    tarballs: dict[str, Path] = {}
    ids: dict[str, str] = {}
    for base in images.BASES.values():
        session.log(f"making the {base.name} stand-in from Debian {images.SUITE} packages")
        tarballs[base.name] = images.build_rootfs(run, base, epoch=epoch)
        ids[base.name] = images.build_base(run, builder, base, tarballs[base.name], epoch=epoch)
    images.write_bases_lock(tarballs)
    rows = [["base", "stand-in", "rootfs.tar sha256", "image ID"]]
    for name, base in images.BASES.items():
        rows.append([name, base.standin, images.sha256_file(tarballs[name])[:16], ids[name][:19]])
    session.log("stand-in bases (package versions in build/bases.lock):\n" + images.table(rows))
    return ids


@nox.session(python=False, default=False)
def bases(session: nox.Session) -> None:
    """Build the stand-in base images from Debian packages (no registry needed)."""
    options = image_options(session)
    build_bases(session, pick_builder(session, options.builder))


def resolve_bases(session: nox.Session, builder: images.Builder, offline: bool) -> dict[str, str]:
    """Which image each base build arg names, making or pulling it as needed."""
    if offline:
        # Stand-ins carry the commit's date in every file, so ones made for
        # another commit, or from other hooks, would give other image IDs.
        epoch = images.source_date_epoch()
        stale = [
            b.name
            for b in images.BASES.values()
            if not b.expected_labels(epoch).items() <= builder.labels(b.standin).items()
        ]
        if stale:
            session.log(
                f"stand-in bases missing or out of date ({', '.join(stale)}): "
                "making them first, as `nox -s bases` does"
            )
            build_bases(session, builder)
        return {name: base.standin for name, base in images.BASES.items()}
    for base in images.BASES.values():
        if builder.image_id(base.upstream) is None and not builder.pull(
            runner(session), base.upstream
        ):
            session.error(
                f"cannot pull {base.upstream}. Without a registry, build on stand-ins "
                f"made from Debian packages: {images.OFFLINE_ENV}=1 nox -s build"
            )
    return {name: base.upstream for name, base in images.BASES.items()}


@nox.session(default=True)
def build(session: nox.Session) -> None:
    """Build moscow-time:slim and :distroless from the lock, with no network inside."""
    options = image_options(session)
    builder = pick_builder(session, options.builder)
    offline = images.is_offline(options.offline)
    # pip, pinned in the build lock, downloads the wheelhouse on the host.
    install_locked(session, BUILD_LOCK)
    run = runner(session)
    images.download_wheelhouse(run, python="python", arch=images.machine_arch())
    build_one = variant_builder(session, builder, resolve_bases(session, builder, offline))
    built = [build_one(v, no_cache=options.no_cache) for v in images.VARIANTS.values()]
    epoch = images.source_date_epoch()
    images.write_images_json(
        built, builder, epoch=epoch, revision=images.git_revision(), offline=offline
    )
    rows = [["image", "base", "size", "image ID"]]
    for b in built:
        rows.append(
            [
                b.tags[0],
                b.base,
                images.human_size(images.image_size(builder, b.tags[0])),
                b.image_id,
            ]
        )
    session.log(f"built with {builder.name} (SOURCE_DATE_EPOCH={epoch}):\n" + images.table(rows))
    if not builder.reproducible:
        session.warn(f"{builder.name} output is not reproducible here; buildah's is")


@nox.session(default=True)
def reproduce(session: nox.Session) -> None:
    """Build everything twice from scratch and prove the image IDs are identical."""
    options = image_options(session)
    builder = pick_builder(session, options.builder, reproducible=True)
    install_locked(session, BUILD_LOCK)
    run, epoch = runner(session), images.source_date_epoch()
    offline = images.is_offline(options.offline)
    rows = [["image", "build 1", "build 2", "same"]]
    mismatches: list[str] = []
    if offline:
        # The stand-ins too: two runs over the same mirror content must agree.
        first, second = build_bases(session, builder), build_bases(session, builder)
        for name in images.BASES:
            rows.append(
                [f"base {name}", first[name], second[name], str(first[name] == second[name])]
            )
            if first[name] != second[name]:
                mismatches.append(f"base {name}")
    build_one = variant_builder(session, builder, resolve_bases(session, builder, offline))
    for variant in images.VARIANTS.values():
        ids = []
        for _ in range(2):
            # A fresh wheelhouse and no cache: nothing carries over between builds.
            images.download_wheelhouse(run, python="python", arch=images.machine_arch())
            built = build_one(variant, no_cache=True, load=False)
            ids.append(built.image_id)
        same = ids[0] == ids[1]
        rows.append([variant.tag(), ids[0], ids[1], str(same)])
        layers = [images.diff_ids(builder, image_id) for image_id in ids]
        for number, pair in enumerate(zip(*layers, strict=False), start=1):
            rows.append([f"  layer {number}", pair[0][:19], pair[1][:19], str(pair[0] == pair[1])])
        if not same:
            mismatches.append(variant.tag())
            session.log(
                f"{variant.tag()}: what differs\n"
                + "\n".join(images.explain_difference(builder, ids[0], ids[1]))
            )
        builder.load_into_docker(run, [images.local_name(builder, variant.tag())])
    session.log(
        f"two clean builds with {builder.name}, SOURCE_DATE_EPOCH={epoch}:\n" + images.table(rows)
    )
    if mismatches:
        session.error(f"not reproducible: {', '.join(mismatches)}")


@nox.session(python=False, default=False)
def publish(session: nox.Session) -> None:
    """Write the IDs `nox -s build` printed for this commit to docs/image-ids.json."""
    if not images.IMAGES_JSON.exists():
        session.error("nothing built yet: run `MOSCOW_TIME_OFFLINE=1 nox -s build` first")
    built = json.loads(images.IMAGES_JSON.read_text())
    head = images.git_revision()
    problems = []
    if built["revision"] != head:
        problems.append(f"the images are of {built['revision'][:12]}, not of HEAD {head[:12]}")
    if not built["tree_clean"]:
        problems.append("they were built from uncommitted changes")
    if not built["reproducible"]:
        problems.append(f"{built['builder']} did not build them reproducibly")
    if not built["offline"]:
        problems.append("they are on upstream bases, which CI cannot pull: build with --offline")
    if problems:
        session.error("cannot publish: " + "; ".join(problems))
    published = images.publication(built, images.BASES_LOCK.read_text())
    images.PUBLISHED_IDS.write_text(json.dumps(published, indent=2) + "\n")
    session.log(
        f"wrote {images.PUBLISHED_IDS.relative_to(ROOT)} for {head[:12]}; commit it, and "
        "`nox -s verify` on another machine rebuilds that commit and compares"
    )


@nox.session(python=False, default=False)
def verify(session: nox.Session) -> None:
    """Rebuild the commit in docs/image-ids.json and compare with its published IDs."""
    published = json.loads(images.PUBLISHED_IDS.read_text())
    commit = published["commit"]
    builder = pick_builder(session, published["builder"], reproducible=True)
    if (version := builder.version()) != published["builder_version"]:
        session.skip(
            f"published with {published['builder_version']!r}, this machine has {version!r}: "
            "IDs are only comparable for the same builder version"
        )
    found = images.capture("git", "-C", str(ROOT), "cat-file", "-t", commit, check=False)
    if found != "commit":
        session.skip(f"commit {commit[:12]} is not in this clone (a shallow clone?)")
    worktree = VERIFY_WORKTREE
    session.run("git", "worktree", "remove", "--force", str(worktree), success_codes=[0, 128])
    shutil.rmtree(worktree, ignore_errors=True)
    session.run("git", "worktree", "prune")
    session.run("git", "worktree", "add", "--detach", str(worktree), commit)
    # That commit's own noxfile builds it, as `git checkout` and `nox -s build` would
    # on a new machine: the stand-ins too, as this machine may hold them already.
    session.run(
        "nox",
        "--noxfile",
        str(worktree / "noxfile.py"),
        "--sessions",
        *(["bases"] if published["offline"] else []),
        "build",
        "--",
        "--builder",
        builder.name,
        "--no-cache",
        *(["--offline"] if published["offline"] else []),
    )
    rebuilt_json = json.loads((worktree / "build" / "images.json").read_text())
    rebuilt = images.publication(rebuilt_json, (worktree / "build" / "bases.lock").read_text())
    verdict = images.compare_publication(published, rebuilt)
    report = "\n".join(verdict.lines)
    session.log(f"{commit[:12]} rebuilt with {version}:\n{report}")
    if verdict.status == "incomparable":
        session.skip(verdict.reason)
    if verdict.status != "same":
        session.error(f"{commit[:12]} rebuilt here does not give the published image IDs")


def require_images(session: nox.Session) -> list[str]:
    """The app images, which must already be built; say how if they are not."""
    tags = [variant.tag() for variant in images.VARIANTS.values()]
    if not images.docker_running():
        session.error("these checks run the images with Docker, and no Docker engine answers")
    missing = [tag for tag in tags if images.capture("docker", "images", "-q", tag) == ""]
    if missing:
        session.error(f"{', '.join(missing)} not built: run `nox -s build` first")
    return tags


@nox.session
def integration(session: nox.Session) -> None:
    """Run both images as users do: docker-run tests and container-structure-test."""
    tags = require_images(session)
    install_locked(session, RUNTIME_LOCK, DEV_LOCK)
    for variant, tag in zip(images.VARIANTS, tags, strict=True):
        session.run(
            "container-structure-test",
            "test",
            "--image",
            tag,
            "--config",
            f"tests/structure/{variant}.yaml",
        )
    session.run(
        "pytest",
        *(session.posargs or INTEGRATION_TESTS),
        env={"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")},
    )


def trivy_config(session: nox.Session, *args: str) -> None:
    """trivy's misconfiguration checks, with its embedded rules; a finding fails."""
    session.run(
        "trivy",
        "config",
        "--skip-check-update",
        "--exit-code",
        "1",
        *args,
        env={"TRIVY_CACHE_DIR": str(TRIVY_CACHE)},
    )


def vulnerability_db_ready(session: nox.Session) -> bool:
    """True if trivy has a vulnerability database, fetching one if it can."""
    if (TRIVY_CACHE / "db" / "trivy.db").exists():
        return True
    try:
        session.run(
            "trivy", "image", "--download-db-only", "--timeout", "2m", "--quiet", silent=True
        )
    except nox.command.CommandFailed:
        return False
    return True


@nox.session
def scan(session: nox.Session) -> None:
    """Scan with trivy: the repo's config, both images, SBOMs; vulns when it can."""
    tags = require_images(session)
    install_locked(session, RUNTIME_LOCK, DEV_LOCK)
    session.env["TRIVY_CACHE_DIR"] = str(TRIVY_CACHE)
    offline = ["--skip-check-update", "--skip-db-update"]
    trivy_config(
        session,
        "--ignorefile",
        ".trivyignore.yaml",
        "--skip-dirs",
        "build",
        "--skip-dirs",
        ".nox",
        ".",
    )
    SBOM_DIR.mkdir(parents=True, exist_ok=True)
    for variant, tag in zip(images.VARIANTS, tags, strict=True):
        session.run(
            "trivy",
            "image",
            *offline,
            "--scanners",
            "secret,misconfig",
            "--image-config-scanners",
            "misconfig,secret",
            "--exit-code",
            "1",
            tag,
        )
        session.run(
            "trivy",
            "image",
            *offline,
            "--format",
            "cyclonedx",
            "--output",
            str(SBOM_DIR / f"{variant}.cdx.json"),
            tag,
        )
    session.run("pytest", "tests/scan")
    if vulnerability_db_ready(session):
        for tag in tags:
            session.run(
                "trivy",
                "image",
                *offline,
                "--scanners",
                "vuln",
                "--severity",
                "HIGH,CRITICAL",
                "--ignore-unfixed",
                "--exit-code",
                "1",
                tag,
            )
    else:
        session.warn(
            "vulnerability scan NOT run: trivy's database cannot be downloaded here "
            "(see README: Scanning for vulnerabilities)"
        )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Measure size, cold start, throughput, memory and stop time against a baseline."""
    require_images(session)
    install_locked(session, RUNTIME_LOCK, DEV_LOCK)
    session.run("python", "tools/bench.py", *session.posargs)


# ---- Deployment -----------------------------------------------------------------


@nox.session(name="deploy-check")
def deploy_check(session: nox.Session) -> None:
    """Validate compose.yaml and the Kubernetes manifests offline, with real tools."""
    install_locked(session, RUNTIME_LOCK, DEV_LOCK)
    RENDERED_MANIFESTS.parent.mkdir(parents=True, exist_ok=True)
    rendered = session.run("kubectl", "kustomize", KUSTOMIZE_BASE, silent=True)
    RENDERED_MANIFESTS.write_text(str(rendered))
    session.log(f"rendered {KUSTOMIZE_BASE} to {RENDERED_MANIFESTS.relative_to(ROOT)}")
    session.run(
        "kubernetes-validate",
        "--strict",
        "--quiet",
        "--kubernetes-version",
        KUBERNETES_VERSION,
        str(RENDERED_MANIFESTS),
    )
    for target in (RENDERED_MANIFESTS.parent, "compose.yaml"):
        trivy_config(session, str(target))
    session.run("pytest", *(session.posargs or ["tests/deploy"]))


@nox.session(default=False)
def deploy(session: nox.Session) -> None:
    """Apply the Kubernetes base to the cluster KUBECONFIG names and check /healthz."""
    if problem := deploy_probe.kubeconfig_problem(os.environ):
        session.error(f"{problem} (`nox -s deploy-check` validates the manifests without one)")
    install_locked(session, DEV_LOCK)
    session.run("kubectl", "apply", "--kustomize", KUSTOMIZE_BASE)
    session.run(
        "kubectl",
        "--namespace",
        "moscow-time",
        "rollout",
        "status",
        "deployment/moscow-time",
        "--timeout",
        "120s",
    )
    session.run("python", "tools/deploy_probe.py")
