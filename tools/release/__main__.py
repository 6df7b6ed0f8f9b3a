"""`python -m tools.release COMMAND`: the release sessions' work, in the session's venv.

keygen   [--prefix P]                    a cosign key pair (P.key, P.pub)
release  --registry HOST:PORT/NAME [--key K] [--allow-dirty]
         [--db-repository REPO[@DIGEST]] [--vex OPENVEX ...] [--offline]
                                         the vulnerability gate first (tools/scan)
verify  [REF@DIGEST ...] [--key PUB] [--rebuilt-by PUB ...] [--scanned-within DAYS]
                                         default: every image of the last release
gate    REF@DIGEST [--key PUB]           would the signature policy admit it?
play    [--key PUB]                      gate, then podman kube play, then /healthz

The parser maps options to typed calls in one place (`COMMANDS`); the
functions are what the rehearsal (`python -m tools.rebuild rehearse`) calls.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from tools import builders, debtools
from tools.images import record as build_record
from tools.loopback import free_port, get, wait_for
from tools.paths import DEFAULT_KEY_PREFIX, KUSTOMIZE_BASE, RELEASE_DIR, ROOT
from tools.process import BuildError, run_shown
from tools.release import provenance, scanned, vsa
from tools.release import record as release_record
from tools.release.consumer import verify
from tools.release.kubeplay import KubePlay, write_playable
from tools.release.policy import Gate
from tools.release.references import Pinned, Repository
from tools.release.release import KeyPair, Release, overlay_dir, rendered_overlay
from tools.release.signing import Cosign
from tools.scan import gate as vulngate
from tools.scan.database import stamp
from tools.tables import table

DEFAULT_PRIVATE = DEFAULT_KEY_PREFIX.with_suffix(".key")
DEFAULT_PUBLIC = DEFAULT_KEY_PREFIX.with_suffix(".pub")
#: The gate as the policy says: its database repository, its VEX documents.
NO_GATE_OPTIONS = vulngate.GateOptions()
#: Emulation aside, the distroless image answers in about a second; pulls take longer.
PLAY_WITHIN = 120


def cosign() -> Cosign:
    return Cosign(debtools.cosign(run_shown))


def keygen(prefix: Path) -> KeyPair:
    private, public = cosign().generate_key_pair(prefix.with_suffix(""))
    print(f"wrote {private} (keep it secret; its password is $COSIGN_PASSWORD) and {public}")
    return KeyPair(private, public)


def release(
    registry: str,
    key: Path,
    *,
    allow_dirty: bool = False,
    scanning: vulngate.GateOptions = NO_GATE_OPTIONS,
) -> None:
    """Run the vulnerability gate over what the build record names, then push it to
    `registry`, signed with `key`, each image with its scan attested."""
    record = build_record.require()
    if not record.tree_clean and not allow_dirty:
        raise BuildError(
            "the images were built from uncommitted changes, so no commit describes them: "
            "commit, `nox -s build`, then release (or pass --allow-dirty for a trial)"
        )
    scan = vulngate.run_gate(run_shown, record, scanning)
    builder = builders.named_builder(record.plan.builder)
    repository = Repository.parse(registry)
    released = Release(
        run_shown,
        builder,
        cosign=cosign(),
        repository=repository,
        key=KeyPair.beside(key),
        record=record,
        scan=scan,
    ).all()
    rows = [["image", "digest", "signature", "attestations"]]
    rows += [row for r in released for row in r.rows()]
    print(table(rows))
    print(f"SLSA Build L{provenance.SLSA_BUILD_LEVEL}: built and attested on one machine.")
    print(
        f"pinned: {overlay_dir(RELEASE_DIR).relative_to(ROOT)}/ and "
        f"{(RELEASE_DIR / 'compose.env').relative_to(ROOT)}"
    )


def verify_images(
    images: Sequence[str],
    key: Path,
    rebuilt_by: Sequence[Path] = (),
    scanned_within: float | None = None,
) -> None:
    """Check each image's signatures, SBOM, provenance and scan; with `rebuilt_by`, that
    every one of those keys signed a PASSED rebuild of it; with `scanned_within`, that its
    newest vulnerability scan is at most that many days old."""
    for given in images or release_record.read().references():
        image = Pinned.parse(given)
        for verified in verify(cosign(), image, key):
            listed = (
                f" (in {image.digest[:19]}… for {verified.platform})" if verified.platform else ""
            )
            print(
                f"\n{verified.image}{listed}: {verified.signatures} signature(s) verified with "
                f"{key}; SBOM of {verified.components()} components; provenance:"
            )
            print(table(provenance.summary(verified.provenance)))
            if scanned_within is not None:
                now = dt.datetime.now(dt.UTC)
                newest = scanned.require_within(
                    verified.scans, verified.image, scanned_within, now
                )
                print(
                    f"scanned for vulnerabilities {stamp(newest)}, within {scanned_within:g} days"
                )
            for public in rebuilt_by:
                verifier = vsa.require_passed(cosign(), verified.image, public, original=given)
                print(f"rebuilt bit for bit by {verifier} (signed with {public}): PASSED")


def gate(image: str, key: Path) -> bool:
    """Would the signature policy admit `image`? Said, and returned."""
    pinned = Pinned.parse(image)
    admission = Gate(debtools.ChrootSkopeo(run_shown), pinned.repository, key).check(pinned)
    print(f"{pinned}: {'admitted' if admission.admitted else 'REFUSED: ' + admission.message}")
    return admission.admitted


def play(key: Path) -> None:
    """The released overlay on podman kube play, once the policy admits every image."""
    release_record.read()  # the overlay exists only after a release
    workdir = RELEASE_DIR / "play"
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    manifests = workdir / "moscow-time.yaml"
    images = [
        Pinned.parse(image)
        for image in write_playable(rendered_overlay(RELEASE_DIR), port, manifests)
    ]
    # One repository: the overlay pins every image to the release's.
    policy = Gate(debtools.ChrootSkopeo(run_shown), images[0].repository, key)
    for image in images:
        admission = policy.check(image)
        if not admission.admitted:
            raise BuildError(f"the policy refused {image}: {admission.message}; not deployed")
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


def add_key_option(parser: argparse.ArgumentParser, default: Path, what: str) -> None:
    """The one --key option: the releaser's key, private to sign or public to check."""
    parser.add_argument("--key", type=Path, default=default, metavar="KEY", help=what)


def add_images_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "images", nargs="*", metavar="REF@DIGEST", help="default: every image of the last release"
    )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m tools.release",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(dest="command", required=True)
    sub = commands.add_parser("keygen", help="make a cosign key pair")
    sub.add_argument("--prefix", type=Path, default=DEFAULT_KEY_PREFIX)
    sub = commands.add_parser("release", help="push, sign and attest the built images")
    sub.add_argument("--registry", required=True, help="HOST[:PORT]/NAME")
    add_key_option(sub, DEFAULT_PRIVATE, "the signing key")
    sub.add_argument("--allow-dirty", action="store_true")
    vulngate.add_options(sub)
    sub = commands.add_parser("verify", help="check a release's signatures and attestations")
    add_images_argument(sub)
    add_key_option(sub, DEFAULT_PUBLIC, "the releaser's public key")
    sub.add_argument(
        "--rebuilt-by",
        type=Path,
        action="append",
        default=[],
        metavar="PUB",
        help="require a PASSED rebuild signed with this key (repeatable)",
    )
    sub.add_argument("--scanned-within", type=float, metavar="DAYS",
                     help="require a vulnerability scan at most DAYS old")  # fmt: skip
    sub = commands.add_parser("gate", help="would the signature policy admit this image?")
    sub.add_argument("image", metavar="REF@DIGEST")
    add_key_option(sub, DEFAULT_PUBLIC, "the releaser's public key")
    sub = commands.add_parser("play", help="run the released manifests on podman kube play")
    add_key_option(sub, DEFAULT_PUBLIC, "the releaser's public key")
    return top


def refused_unless(admitted: bool) -> None:
    if not admitted:
        sys.exit(1)


#: Each command's call, from its parsed options: the one place options become arguments.
COMMANDS: dict[str, Callable[[argparse.Namespace], object]] = {
    "keygen": lambda o: keygen(o.prefix),
    "release": lambda o: release(
        o.registry, o.key, allow_dirty=o.allow_dirty, scanning=vulngate.GateOptions.of(o)
    ),
    "verify": lambda o: verify_images(o.images, o.key, o.rebuilt_by, o.scanned_within),
    "gate": lambda o: refused_unless(gate(o.image, o.key)),
    "play": lambda o: play(o.key),
}


def run_command(
    commands: dict[str, Callable[[argparse.Namespace], object]],
    top: argparse.ArgumentParser,
    argv: Sequence[str] | None = None,
) -> None:
    """Parse, then call; a BuildError is one line on stderr and exit status 2."""
    options = top.parse_args(argv)
    try:
        commands[options.command](options)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    run_command(COMMANDS, parser())
