"""`python -m tools.rebuild COMMAND`: a release rebuilt by a second party, in a session's venv.

rebuild  [REF@DIGEST ...] [--key PUB] [--git URL] [--sign KEY] [--verifier ID] [--vary]
                                         rebuild from the provenance alone, compare, attest
rehearse [--workdir DIR]                 docs/release.md's whole path against a loopback
                                         registry, ending in a rebuild, and an altered
                                         release that only a rebuild catches
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import shlex
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tools import debtools
from tools.model import DEPLOYED_VARIANT, host_platform
from tools.paths import REBUILD_DIR, RELEASE_DIR, ROOT, SCAN_TESTS
from tools.process import BuildError, rfc3339, run_shown
from tools.rebuild import rebuild as rebuilding
from tools.rebuild.findings import Finding
from tools.release import record as release_record
from tools.release import tamper, vsa
from tools.release.__main__ import (
    DEFAULT_PUBLIC,
    add_images_argument,
    add_key_option,
    cosign,
    keygen,
    play,
    release,
    run_command,
    verify_images,
)
from tools.release.references import Pinned
from tools.release.registry import LoopbackRegistry
from tools.release.release import KeyPair, attachments
from tools.scan import fixture
from tools.scan.gate import GateOptions
from tools.settings import NOX_ENV
from tools.tables import table


def rebuild(
    images: Sequence[str],
    key: Path,
    *,
    git: str | None = None,
    sign: Path | None = None,
    verifier: str | None = None,
    varied: bool = False,
) -> list[Finding]:
    """Rebuild what the references name, compare, print, and attest if asked; the findings."""
    signer = KeyPair.beside(sign, "--sign") if sign else None
    chosen = rebuilding.targets(cosign(), images or release_record.read().references(), key)
    nox = shlex.split(os.environ.get(NOX_ENV, "nox"))
    REBUILD_DIR.mkdir(parents=True, exist_ok=True)
    findings = rebuilding.rebuild(
        run_shown, chosen, nox=nox, workdir=REBUILD_DIR, git_url=git, varied=varied
    )
    for finding in findings:
        print("\n" + finding.report())
    if signer is not None:
        signed_as = verifier or vsa.key_id(signer.public)
        now = rfc3339(int(time.time()))
        for finding in findings:
            path = rebuilding.sign(
                cosign(),
                finding,
                signer.private,
                verifier=signed_as,
                workdir=REBUILD_DIR,
                now=now,
            )
            print(f"\nattached to {finding.target.image} ({path.relative_to(ROOT)}), abridged:")
            print(table([["field", "value"], *vsa.abridged(json.loads(path.read_text()))]))
    rows = [["image", "platform", "variant", "verdict", "build s", "compare s"]]
    for f in findings:
        rows.append(
            [
                f.target.image.digest[:19] + "…",
                f.target.inputs.platform,
                f.target.variant,
                f.verdict,
                f"{f.build_seconds:.0f}",
                f"{f.compare_seconds:.1f}",
            ]
        )
    print("\n" + table(rows))
    return findings


def require_passed(findings: Sequence[Finding]) -> None:
    if failed := [f for f in findings if not f.passed]:
        raise BuildError(
            f"{len(failed)} image(s) are not what their provenance builds: "
            f"{', '.join(str(f.target.image) for f in failed)}; the files that differ are above"
        )


def rehearse(workdir: Path) -> None:
    """docs/release.md's path, start to end, against a registry on loopback."""
    os.environ.setdefault("COSIGN_PASSWORD", "")
    shutil.rmtree(workdir, ignore_errors=True)
    with LoopbackRegistry(workdir / "registry") as registry:
        releaser = keygen(workdir / "keys" / "cosign")
        rehearse_release(registry, workdir, releaser)
        verify_images([], releaser.public, scanned_within=1)
        refused_with(
            lambda: verify_images([], releaser.public, scanned_within=0),
            "verify-release --scanned-within 0 (every scan is older than that)",
        )
        play(releaser.public)
        rehearse_rebuild(workdir, releaser)


def rehearse_release(registry: LoopbackRegistry, workdir: Path, releaser: KeyPair) -> None:
    """The release behind its vulnerability gate, the planted database (tests/scan) served
    as its mirror: refused while a planted fixed advisory stands, released once a VEX
    statement covers it, each image's scan attested."""
    repository = f"{registry.address}/trivy-db"
    fixture.served(
        run_shown, SCAN_TESTS / "advisories.yaml", workdir / "trivy-db", f"{repository}:2"
    )
    planted = GateOptions(db_repository=repository, vex=(SCAN_TESTS / "planted.vex.json",))
    target = f"{registry.address}/moscow-time"
    refused_with(lambda: release(target, releaser.private, scanning=planted),
                 "the release, while the planted advisories stand")  # fmt: skip
    covered = dataclasses.replace(planted, vex=(*planted.vex, SCAN_TESTS / "covering.vex.json"))
    release(target, releaser.private, scanning=covered)
    stem = f"{DEPLOYED_VARIANT}.{host_platform().debian}"
    attested = json.loads((RELEASE_DIR / f"{stem}.vuln.json").read_text())
    print(f"\nthe vulnerability attestation of {stem}, abridged:")
    print(json.dumps({"scanner": attested["scanner"] | {"result": "…"},
                      "metadata": attested["metadata"],
                      "vex": attested["invocation"]["parameters"]["vex"]}, indent=2))  # fmt: skip


def rehearse_rebuild(workdir: Path, releaser: KeyPair) -> None:
    """Two second parties rebuild the release and vouch for it; an altered release, signed
    with the real key, fails the rebuild and is refused."""
    rebuilders = [keygen(workdir / "keys" / name) for name in ("rebuilder", "second-rebuilder")]
    forged = altered_release(releaser) if os.geteuid() == 0 else None
    if forged is None:
        print("the altered release is not made: its attacker runs skopeo through chroot (root)")
    references = release_record.read().references()
    chosen = [*references, *([str(forged)] if forged else [])]
    rebuilt = rebuild(chosen, releaser.public, sign=rebuilders[0].private, varied=True)
    findings = {str(f.target.image): f for f in rebuilt}
    if forged is not None:
        caught = findings.pop(str(forged))
        if caught.passed or not caught.differences:
            raise BuildError(f"the altered release {forged} was not caught by its rebuild")
        print(f"\nthe altered release fails its rebuild: {caught.differences[0]}")
    require_passed(list(findings.values()))
    verify_images([], releaser.public, [rebuilders[0].public])
    # Every key is required: one that rebuilt nothing, beside one that did, is refused.
    silent = {
        "the releaser, who rebuilt nothing": [releaser.public],
        "two keys, one of which rebuilt nothing": [rebuilders[0].public, rebuilders[1].public],
    }
    for who, keys in silent.items():
        refused_with(
            functools.partial(verify_images, [], releaser.public, keys),
            f"verify-release --rebuilt-by ({who})",
        )
    if forged is not None:
        refused_with(
            lambda: verify_images([str(forged)], releaser.public, [rebuilders[0].public]),
            "verify-release --rebuilt-by (the altered release)",
        )


def refused_with(check: Callable[[], None], who: str) -> None:
    """`check` must be refused; what it said is shown."""
    try:
        check()
    except BuildError as refused:
        print(f"\n{who}: refused: {refused}")
    else:
        raise BuildError(f"{who}: admitted, where it must be refused")


def altered_release(releaser: KeyPair) -> Pinned:
    """The deployed variant's host image, one byte changed, signed and attested with the
    releaser's key: what a compromised build machine would publish."""
    platform = host_platform()
    released = release_record.read().variant(DEPLOYED_VARIANT)
    genuine = Pinned.parse(released.platforms[platform.name].reference)
    stem = f"{DEPLOYED_VARIANT}.{platform.debian}"
    return tamper.released_altered(
        debtools.ChrootSkopeo(run_shown),
        cosign(),
        genuine,
        "altered",
        key=releaser.private,
        attachments=attachments(RELEASE_DIR, stem),
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m tools.rebuild",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("rebuild", help="rebuild a release from its provenance alone")
    add_images_argument(sub)
    add_key_option(sub, DEFAULT_PUBLIC, "the releaser's public key")
    sub.add_argument("--git", metavar="URL", help="clone the commit from here, not this clone")
    sub.add_argument("--sign", type=Path, metavar="KEY", help="attest the verdict with this key")
    sub.add_argument("--verifier", help="the verifier id (default: the key's fingerprint)")
    sub.add_argument(
        "--vary",
        action="store_true",
        help="make the bases from the commit's locks, and build as `nox -s vary` varies it",
    )
    sub = commands.add_parser("rehearse", help="the release's whole path on loopback")
    sub.add_argument("--workdir", type=Path, default=RELEASE_DIR.parent / "rehearsal")
    return top


COMMANDS: dict[str, Callable[[argparse.Namespace], object]] = {
    "rebuild": lambda o: require_passed(
        rebuild(o.images, o.key, git=o.git, sign=o.sign, verifier=o.verifier, varied=o.vary)
    ),
    "rehearse": lambda o: rehearse(o.workdir),
}

if __name__ == "__main__":
    run_command(COMMANDS, parser())
