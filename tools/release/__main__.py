"""`python -m tools.release COMMAND`: the release sessions' work, in the session's venv.

keygen   [--prefix P]                    a cosign key pair (P.key, P.pub)
release  --registry HOST:PORT/NAME [--key K] [--allow-dirty]
verify  [REF@DIGEST ...] [--key PUB] [--rebuilt-by PUB ...]
                                         default: every image of the last release
rebuild [REF@DIGEST ...] [--key PUB] [--git URL] [--sign KEY]
                                         rebuild from the provenance alone, compare, attest
gate    REF@DIGEST [--key PUB]           would the signature policy admit it?
play    [--key PUB]                      gate, then podman kube play, then /healthz
rehearse [--workdir DIR]                 all of the above against a loopback registry,
                                         and an altered release that only a rebuild catches
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

from tools import builders
from tools.images import record as build_record
from tools.loopback import free_port, get, wait_for
from tools.model import DEPLOYED_VARIANT, host_platform
from tools.paths import DEFAULT_KEY_PREFIX, KUSTOMIZE_BASE, REBUILD_DIR, RELEASE_DIR, ROOT
from tools.process import BuildError, rfc3339, run_shown
from tools.release import debtools, findings, provenance, rebuild, tamper, vsa
from tools.release.consumer import verify
from tools.release.kubeplay import KubePlay, write_playable
from tools.release.policy import Gate
from tools.release.references import Pinned, Repository
from tools.release.registry import LoopbackRegistry
from tools.release.release import (
    SBOM_TYPE,
    KeyPair,
    Release,
    overlay_dir,
    read_record,
    rendered_overlay,
)
from tools.release.signing import Cosign
from tools.settings import NOX_ENV
from tools.tables import table

DEFAULT_PUBLIC = DEFAULT_KEY_PREFIX.with_suffix(".pub")
#: Emulation aside, the distroless image answers in about a second; pulls take longer.
PLAY_WITHIN = 120


def keygen(options: argparse.Namespace) -> None:
    private, public = cosign().generate_key_pair(options.prefix.with_suffix(""))
    print(f"wrote {private} (keep it secret; its password is $COSIGN_PASSWORD) and {public}")


def release(options: argparse.Namespace) -> None:
    record = build_record.require()
    if not record.tree_clean and not options.allow_dirty:
        raise BuildError(
            "the images were built from uncommitted changes, so no commit describes them: "
            "commit, `nox -s build`, then release (or pass --allow-dirty for a trial)"
        )
    builder = builders.named_builder(record.plan.builder)
    repository = Repository.parse(options.registry)
    key = KeyPair.beside(options.key)
    released = Release(
        run_shown, builder, cosign=cosign(), repository=repository, key=key, record=record
    ).all()
    rows = [["image", "digest", "signature", "attestations"]]
    rows += [row for r in released for row in r.rows()]
    print(table(rows))
    print(f"SLSA Build L{provenance.SLSA_BUILD_LEVEL}: built and attested on one machine.")
    print(
        f"pinned: {overlay_dir(RELEASE_DIR).relative_to(ROOT)}/ and "
        f"{(RELEASE_DIR / 'compose.env').relative_to(ROOT)}"
    )


def released_references() -> list[str]:
    return [image["reference"] for image in read_record()["images"]]


def verify_images(options: argparse.Namespace) -> None:
    for given in options.images or released_references():
        image = Pinned.parse(given)
        for verified in verify(cosign(), image, options.key):
            listed = (
                f" (in {image.digest[:19]}… for {verified.platform})" if verified.platform else ""
            )
            print(
                f"\n{verified.image}{listed}: {verified.signatures} signature(s) verified with "
                f"{options.key}; SBOM of {verified.components()} components; provenance:"
            )
            print(table(provenance.summary(verified.provenance)))
            for public in options.rebuilt_by:
                verifier = vsa.require_passed(cosign(), verified.image, public, original=given)
                print(f"rebuilt bit for bit by {verifier} (signed with {public}): PASSED")


def rebuilt(options: argparse.Namespace) -> list[findings.Finding]:
    """Rebuild what the references name, compare, print, and attest if asked; the findings."""
    signer = KeyPair.beside(options.sign, "--sign") if options.sign else None
    chosen = rebuild.targets(cosign(), options.images or released_references(), options.key)
    nox = shlex.split(os.environ.get(NOX_ENV, "nox"))
    REBUILD_DIR.mkdir(parents=True, exist_ok=True)
    findings = rebuild.rebuild(
        run_shown, chosen, nox=nox, workdir=REBUILD_DIR, git_url=options.git
    )
    for finding in findings:
        print("\n" + finding.report())
    if signer is not None:
        verifier = options.verifier or vsa.key_id(signer.public)
        now = rfc3339(int(time.time()))
        for finding in findings:
            path = rebuild.sign(
                cosign(), finding, signer.private, verifier=verifier, workdir=REBUILD_DIR, now=now
            )
            print(f"\nattached to {finding.target.image} ({path.relative_to(ROOT)}), abridged:")
            print(table([["field", "value"], *vsa.abridged(json.loads(path.read_text()))]))
    rows = [["image", "platform", "variant", "verdict", "build s", "compare s"]]
    for f in findings:
        rows.append([f.target.image.digest[:19] + "…", f.target.inputs.platform, f.target.variant,
                     f.verdict, f"{f.build_seconds:.0f}", f"{f.compare_seconds:.1f}"])  # fmt: skip
    print("\n" + table(rows))
    return findings


def rebuild_images(options: argparse.Namespace) -> None:
    failed = [f for f in rebuilt(options) if not f.passed]
    if failed:
        raise BuildError(
            f"{len(failed)} image(s) are not what their provenance builds: "
            f"{', '.join(str(f.target.image) for f in failed)}; the files that differ are above"
        )


def gate(options: argparse.Namespace) -> None:
    image = Pinned.parse(options.image)
    verdict = Gate(debtools.ChrootSkopeo(run_shown), image.repository, options.key).check(image)
    print(f"{image}: {'admitted' if verdict.admitted else 'REFUSED: ' + verdict.message}")
    if not verdict.admitted:
        sys.exit(1)


def play(options: argparse.Namespace) -> None:
    read_record()  # the overlay exists only after a release
    workdir = RELEASE_DIR / "play"
    workdir.mkdir(parents=True, exist_ok=True)
    rendered = rendered_overlay(RELEASE_DIR)
    port = free_port()
    manifests = workdir / "moscow-time.yaml"
    images = [Pinned.parse(image) for image in write_playable(rendered, port, manifests)]
    # One repository: the overlay pins every image to the release's.
    gate = Gate(debtools.ChrootSkopeo(run_shown), images[0].repository, options.key)
    for image in images:
        verdict = gate.check(image)
        if not verdict.admitted:
            raise BuildError(f"the policy refused {image}: {verdict.message}; not deployed")
        print(f"policy admits {image}")
    started = time.monotonic()
    with KubePlay(manifests, workdir, images[0].repository) as pod:
        url = f"http://127.0.0.1:{port}/healthz"
        if not wait_for(url, within=PLAY_WITHIN, poll=0.5):
            raise BuildError(f"{url} did not answer in {PLAY_WITHIN} s; logs:\n{pod.logs()}")
        took = time.monotonic() - started
        print(
            f"podman kube play of the released {KUSTOMIZE_BASE} serves {url} {took:.1f} s "
            f"after the play began (pull included): {get(url)[2]}"
        )


def rehearse(options: argparse.Namespace) -> None:
    """docs/release.md's path, start to end, against a registry on loopback."""
    os.environ.setdefault("COSIGN_PASSWORD", "")
    workdir: Path = options.workdir
    shutil.rmtree(workdir, ignore_errors=True)
    prefix = workdir / "keys" / "cosign"
    with LoopbackRegistry(workdir / "registry") as registry:
        keygen(argparse.Namespace(prefix=prefix))
        registry_name = f"{registry.address}/moscow-time"
        key = prefix.with_suffix(".key")
        release(argparse.Namespace(registry=registry_name, key=key, allow_dirty=False))
        public = prefix.with_suffix(".pub")
        verify_images(argparse.Namespace(images=[], key=public, rebuilt_by=[]))
        play(argparse.Namespace(key=public))
        rehearse_rebuild(workdir, KeyPair.beside(key))


def rehearse_rebuild(workdir: Path, releaser: KeyPair) -> None:
    """A second party rebuilds the release and vouches for it; an altered release, signed
    with the real key, fails the rebuild and is refused."""
    prefix = workdir / "keys" / "rebuilder"
    keygen(argparse.Namespace(prefix=prefix))
    references = released_references()
    forged = altered_release(releaser) if os.geteuid() == 0 else None
    if forged is None:
        print("the altered release is not made: its attacker runs skopeo through chroot (root)")
    options = argparse.Namespace(
        images=[*references, *([str(forged)] if forged else [])],
        key=releaser.public,
        git=None,
        sign=prefix.with_suffix(".key"),
        verifier=None,
    )
    findings = {str(f.target.image): f for f in rebuilt(options)}
    if forged is not None:
        caught = findings.pop(str(forged))
        if caught.passed or not caught.differences:
            raise BuildError(f"the altered release {forged} was not caught by its rebuild")
        print(f"\nthe altered release fails its rebuild: {caught.differences[0]}")
    if failed := [name for name, f in findings.items() if not f.passed]:
        raise BuildError(f"the release does not rebuild bit for bit: {', '.join(failed)}")
    rebuilder = prefix.with_suffix(".pub")
    verify_images(argparse.Namespace(images=[], key=releaser.public, rebuilt_by=[rebuilder]))
    # The releaser never rebuilt its own release: requiring that is refused.
    try:
        verify_images(
            argparse.Namespace(images=[], key=releaser.public, rebuilt_by=[releaser.public])
        )
    except BuildError as refused:
        print(f"\nverify-release --rebuilt-by a key that rebuilt nothing refuses: {refused}")
    else:
        raise BuildError("verify-release --rebuilt-by admitted a release nobody rebuilt")
    if forged is not None:
        try:
            verify_images(
                argparse.Namespace(
                    images=[str(forged)], key=releaser.public, rebuilt_by=[rebuilder]
                )
            )
        except BuildError as refused:
            print(f"\nverify-release --rebuilt-by refuses the altered release: {refused}")
        else:
            raise BuildError(f"verify-release --rebuilt-by admitted the altered release {forged}")


def altered_release(releaser: KeyPair) -> Pinned:
    """The deployed variant's host image, one byte changed, signed and attested with the
    releaser's key: what a compromised build machine would publish."""
    platform = host_platform()
    entry = next(i for i in read_record()["images"] if i["variant"] == DEPLOYED_VARIANT)
    genuine = Pinned.parse(entry["platforms"][platform.name]["reference"])
    stem = f"{DEPLOYED_VARIANT}.{platform.debian}"
    return tamper.released_altered(
        debtools.ChrootSkopeo(run_shown),
        cosign(),
        genuine,
        "altered",
        key=releaser.private,
        attachments=[
            (RELEASE_DIR / f"{stem}.cdx.json", SBOM_TYPE),
            (RELEASE_DIR / f"{stem}.provenance.json", provenance.COSIGN_TYPE),
        ],
    )


def cosign() -> Cosign:
    return Cosign(debtools.cosign(run_shown))


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m tools.release", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("keygen")
    sub.add_argument("--prefix", type=Path, default=DEFAULT_KEY_PREFIX)
    sub.set_defaults(run=keygen)
    sub = commands.add_parser("release")
    sub.add_argument("--registry", required=True, help="HOST[:PORT]/NAME")
    sub.add_argument("--key", type=Path, default=DEFAULT_KEY_PREFIX.with_suffix(".key"))
    sub.add_argument("--allow-dirty", action="store_true")
    sub.set_defaults(run=release)
    sub = commands.add_parser("verify")
    sub.add_argument("images", nargs="*", metavar="REF@DIGEST")
    sub.add_argument("--key", type=Path, default=DEFAULT_PUBLIC)
    sub.add_argument(
        "--rebuilt-by",
        type=Path,
        action="append",
        default=[],
        metavar="PUB",
        help="require a PASSED rebuild signed with this key (repeatable)",
    )
    sub.set_defaults(run=verify_images)
    sub = commands.add_parser("rebuild")
    sub.add_argument("images", nargs="*", metavar="REF@DIGEST")
    sub.add_argument("--key", type=Path, default=DEFAULT_PUBLIC, help="the releaser's cosign.pub")
    sub.add_argument("--git", metavar="URL", help="clone the commit from here, not this clone")
    sub.add_argument("--sign", type=Path, metavar="KEY", help="attest the verdict with this key")
    sub.add_argument("--verifier", help="the verifier id (default: the key's fingerprint)")
    sub.set_defaults(run=rebuild_images)
    sub = commands.add_parser("gate")
    sub.add_argument("image", metavar="REF@DIGEST")
    sub.add_argument("--key", type=Path, default=DEFAULT_PUBLIC)
    sub.set_defaults(run=gate)
    sub = commands.add_parser("play")
    sub.add_argument("--key", type=Path, default=DEFAULT_PUBLIC)
    sub.set_defaults(run=play)
    sub = commands.add_parser("rehearse")
    sub.add_argument("--workdir", type=Path, default=RELEASE_DIR.parent / "rehearsal")
    sub.set_defaults(run=rehearse)
    return top


def main() -> None:
    options = parser().parse_args()
    try:
        options.run(options)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
