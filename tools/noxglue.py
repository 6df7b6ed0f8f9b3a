"""The nox glue: what sessions share that needs the running `nox.Session`.

Locked installs, one-line errors, the build context a session hands to the
package, and the checks that run tools from a session's venv. The one module
of `tools/` that imports nox; nothing in the package imports it.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shlex
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import nox

from tools import builders, containers
from tools.checks import compose, deploy_probe, trivy
from tools.containers import runnable_images, why_not_runnable
from tools.images import record
from tools.images.context import Build
from tools.images.options import Options
from tools.images.plan import make_plan
from tools.inputs import locking, piplocks
from tools.model import (
    DEPLOYED_VARIANT,
    DEV_LOCK,
    KUBERNETES_VERSION,
    RUNTIME_LOCK,
    VARIANTS,
    PipLock,
)  # fmt: skip
from tools.paths import (
    COMPOSE_FILE,
    KUSTOMIZE_BASE,
    RENDERED_MANIFESTS,
    ROOT,
    SBOM_DIR,
    SCREENSHOTS,
)  # fmt: skip
from tools.process import BuildError
from tools.rebuild.comparison import Comparison
from tools.settings import NOX_ENV, Settings


def user_errors(session_function: Callable[[nox.Session], None]) -> Callable[[nox.Session], None]:
    """A BuildError from the tooling says what to do next: one line, no traceback."""

    @functools.wraps(session_function)
    def run(session: nox.Session) -> None:
        try:
            session_function(session)
        except BuildError as error:
            session.error(str(error))

    return run


def install_locked(session: nox.Session, *locks: PipLock) -> None:
    """Install from hash-pinned locks only; an unpinned package is an error."""
    session.install(*piplocks.install_args(*locks))


def venv_program(session: nox.Session, name: str) -> str:
    """A program of the session's venv, by path (the package runs it outside nox)."""
    try:
        return str(Path(session.bin) / name)
    except ValueError:  # a session with python=False has no venv: the one on PATH
        return name


def build_context(
    session: nox.Session, *, reproducible: bool = False, standins: bool = False
) -> Build:
    """The session's options and the environment, made into one plan, bound to its builder
    (`standins`: a plan on the stand-in bases, whatever a registry would answer)."""
    options = Options.parse(session.name, session.posargs)
    if standins:
        options = dataclasses.replace(options, offline=True)
    plan, builder = make_plan(options, Settings.read(), reproducible=reproducible)
    if message := builders.warning(builder):
        session.warn(message)
    return Build(plan, builder, python=venv_program(session, "python"))


def this_nox() -> list[str]:
    """The command line of the nox running now, for a build of another checkout."""
    return [sys.executable, "-m", "nox"]


def recorded_builder() -> builders.Builder:
    """The builder the last build was made with (build/images.json)."""
    return builders.named_builder(record.require().plan.builder)


def release_tool(session: nox.Session, command: str, *args: str, stage: str = "release") -> None:
    """`python -m tools.STAGE COMMAND` (release or rebuild) in a venv with the dev lock
    (cosign's wrappers, SLSA); a rebuild runs another commit's noxfile with the nox running
    this one."""
    install_locked(session, RUNTIME_LOCK, DEV_LOCK)
    nox_command = shlex.join(this_nox())
    session.run("python", "-m", f"tools.{stage}", command, *args, env={NOX_ENV: nox_command})


def require_images(session: nox.Session) -> None:
    """The app images must already be built; say how if they are not."""
    if problem := why_not_runnable():
        session.error(problem)


def structure_tests(session: nox.Session) -> None:
    """container-structure-test on each image of every platform built, with its config in
    tests/structure/; another platform's commands run under emulation."""
    for image in runnable_images():
        if image.skip_reason:
            session.log(f"{image.tag} ({image.platform}): {image.skip_reason}")
            continue
        session.log(f"structure tests of {image.tag} ({image.platform})")
        session.run(
            "container-structure-test",
            "test",
            "--image",
            image.tag,
            "--platform",
            image.platform,
            "--config",
            str(image.variant.structure_tests),
        )


def validate_deployments(session: nox.Session) -> None:
    """The Kubernetes base rendered and validated (kubernetes-validate, trivy's config scan),
    and compose.yaml checked by compose itself where it is installed."""
    RENDERED_MANIFESTS.parent.mkdir(parents=True, exist_ok=True)
    RENDERED_MANIFESTS.write_text(
        str(session.run("kubectl", "kustomize", KUSTOMIZE_BASE, silent=True))
    )
    session.run("kubernetes-validate", "--strict", "--quiet", "--kubernetes-version",
                KUBERNETES_VERSION, str(RENDERED_MANIFESTS))  # fmt: skip
    session.run(*trivy.config_scan(str(RENDERED_MANIFESTS.parent)), env=trivy.ENV)
    if tool := compose.command():
        session.run(*compose.validate(tool, COMPOSE_FILE), external=True)
    else:
        session.warn(f"compose.yaml not validated: {compose.MISSING}")


def trivy_scans(session: nox.Session) -> None:
    """trivy over the repository's config, each image, and each image's SBOM (build/sbom/).
    The vulnerability scan is the gate's (`nox -s vulns`, tools/scan): it needs a database."""
    session.env.update(trivy.ENV)
    session.run(*trivy.repository_scan())
    SBOM_DIR.mkdir(parents=True, exist_ok=True)
    for variant in VARIANTS.values():
        session.run(*trivy.image_scan(variant.tag()))
        session.run(*trivy.sbom(variant.tag(), SBOM_DIR / f"{variant.name}.cdx.json"))


def deploy(session: nox.Session) -> None:
    """The Kubernetes base applied to KUBECONFIG's cluster, rolled out, /healthz probed."""
    if problem := deploy_probe.kubeconfig_problem(os.environ):
        session.error(f"{problem} (`nox -s deploy-check` validates the manifests without one)")
    session.run("kubectl", "apply", "--kustomize", KUSTOMIZE_BASE)
    session.run("kubectl", "--namespace", "moscow-time", "rollout", "status",
                "deployment/moscow-time", "--timeout", "120s")  # fmt: skip
    session.run("python", "-m", "tools.checks.deploy_probe")


def screenshot(session: nox.Session) -> None:
    """docs/screenshot.png from the browser test's view of the distroless image."""
    session.run("pytest", "-q", "tests/integration/test_browser.py")
    shutil.copy(SCREENSHOTS / "desktop.png", ROOT / "docs" / "screenshot.png")
    session.log("docs/screenshot.png refreshed: look at it, then commit it")


def conclude(session: nox.Session, comparison: Comparison, failure: str) -> None:
    """A comparison's lines; skipped, saying why, when incomparable; `failure` unless same."""
    session.log("\n".join(comparison.lines()))
    if comparison.status == "incomparable":
        session.skip(comparison.incomparable)
    if not comparison.passed:
        session.error(failure)


def lock(session: nox.Session) -> None:
    """`nox -s lock [-- --check]`: an out-of-date lock fails the check (a bot acts on it)."""
    check, extra = "--check" in session.posargs, [a for a in session.posargs if a != "--check"]
    pip_compile = venv_program(session, "pip-compile")
    if stale := locking.lock_all(
        pip_compile, Settings.read().bases_lock, check=check, extra=extra
    ):
        session.error(f"out of date: {', '.join(stale)}; run `nox -s refresh`")


def serve_deployed(session: nox.Session, *, port: int) -> None:
    """The deployed variant in the foreground on 127.0.0.1:PORT until Ctrl-C."""
    command = containers.foreground(VARIANTS[DEPLOYED_VARIANT].tag(), port=port)
    session.log(f"serving http://127.0.0.1:{port} ({command[0]} run; Ctrl-C stops it)")
    session.run(*command, external=True)
