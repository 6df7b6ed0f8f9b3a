"""`nox -s vary`: the committed images built again on a machine made to look like another's.

reprotest's method (reproducible-builds.org): build twice, vary the second
build, compare. The first build is the one `nox -s build` made here; the
second is a fresh clone of the same commit, built from scratch in an empty
store of its own (the stand-ins made again from the Debian locks, nothing
copied in by ID), with every `VARIATIONS` row applied at once. Every
stand-in's rootfs.tar, every stand-in ID and every image ID (both variants,
each platform of the first build) must be the same; a difference names the
layers and the files (`layerdiff`), or the rootfs.tar members.

reprotest's own environment variation would not have caught the leak this
guards against (it does not set `PYTHONDONTWRITEBYTECODE`), so the variables
are named here: `hostile_environment`.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools.builders import Builder
from tools.images import record as build_record
from tools.images.record import BuildRecord
from tools.model import BASES, PLATFORMS
from tools.paths import ROOT, STANDIN_WORKDIR
from tools.process import BuildError, Runner, git_revision, have, sha256_file, tree_is_clean
from tools.rebuild import layerdiff
from tools.rebuild.comparison import Comparison
from tools.settings import BUILDER_ENV, OFFLINE_ENV, PLATFORMS_ENV

SIDES = ("as built", "varied")
HOSTNAME, DOMAIN = "varied-host", "varied.example"
#: How far ahead the second build's clock is (faketime), for the tooling's own process.
CLOCK_AHEAD = "+7d"


@dataclasses.dataclass(frozen=True)
class Variation:
    """One way the second build differs from the first, as the docs' table says it."""

    name: str
    how: str


VARIATIONS = (
    Variation("build path", "a clone at another, deeper path, under /tmp"),
    Variation(
        "file order",
        "disorderfs --shuffle-dirents over the clone: the build context "
        "and the local .deb repositories read in another order",
    ),
    Variation(
        "environment",
        "PYTHONDONTWRITEBYTECODE flipped; PYTHONHASHSEED, PYTHONOPTIMIZE, "
        "PYTHONPATH, LANG, LC_ALL, LC_CTYPE, TZ, TMPDIR, HOME, SOURCE_DATE_EPOCH, "
        "DOCKER_BUILDKIT, DOCKER_DEFAULT_PLATFORM, BUILDAH_FORMAT, BUILDAH_LAYERS, "
        "BUILDAH_ISOLATION set; PATH with a directory before it",
    ),
    Variation("umask", "077 for the build (the clone is git's, 644 and 755)"),
    Variation("host and domain name", f"{HOSTNAME}, {DOMAIN} (a UTS namespace of its own)"),
    Variation("CPUs", "one (taskset -c 0)"),
    Variation(
        "clock",
        f"{CLOCK_AHEAD} for the tooling's process (faketime; the tools it "
        "starts get the declared environment, without LD_PRELOAD)",
    ),
    Variation("store", "an empty one: the stand-ins made again from the Debian locks"),
)


def hostile_environment(caller: Mapping[str, str], workdir: Path) -> dict[str, str]:
    """The caller's environment, with every variable a shell might set set otherwise."""
    flipped = "" if caller.get("PYTHONDONTWRITEBYTECODE") else "1"
    (workdir / "home").mkdir(exist_ok=True)
    (workdir / "tmp").mkdir(exist_ok=True)
    cache = caller.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return dict(caller) | {
        "PYTHONDONTWRITEBYTECODE": flipped,
        "PYTHONHASHSEED": "7",
        "PYTHONOPTIMIZE": "1",
        "PYTHONPATH": str(workdir / "nothing-here"),
        "LANG": "fr_FR.UTF-8",
        "LC_ALL": "fr_FR.UTF-8",
        "LC_CTYPE": "tr_TR.UTF-8",
        "TZ": "Pacific/Kiritimati",
        "TMPDIR": str(workdir / "tmp"),
        "HOME": str(workdir / "home"),
        # Where to find the .deb cache and uv's, as a user who set it would: not what to build.
        "XDG_CACHE_HOME": cache,
        "SOURCE_DATE_EPOCH": "1234567890",
        "DOCKER_BUILDKIT": "0",
        "DOCKER_DEFAULT_PLATFORM": "linux/s390x",
        "BUILDAH_FORMAT": "docker",
        "BUILDAH_LAYERS": "false",
        "BUILDAH_ISOLATION": "chroot",
        "PATH": f"{workdir / 'bin'}:{caller.get('PATH', '')}",
    }


def varied_command(command: Sequence[str]) -> list[str]:
    """`command` in a UTS namespace with another host and domain name, umask 077, one CPU,
    the clock ahead."""
    inner = f'hostname {HOSTNAME} && domainname {DOMAIN} && umask 077 && exec "$@"'
    return [
        "unshare",
        "--uts",
        "sh",
        "-c",
        inner,
        "varied",
        "taskset",
        "-c",
        "0",
        "faketime",
        "-f",
        CLOCK_AHEAD,
        *command,
    ]


def missing_tools() -> list[str]:
    """The Debian packages the variations need that are not installed."""
    needed = {
        "disorderfs": "disorderfs",
        "faketime": "faketime",
        "unshare": "util-linux",
        "taskset": "util-linux",
    }
    return sorted({package for program, package in needed.items() if not have(program)})


@dataclasses.dataclass
class Outcome:
    """What one build made: each stand-in's rootfs.tar and ID, each image's ID and layers."""

    tarballs: dict[str, Path]
    ids: dict[str, str]
    layers: dict[str, list[str]]


def outcome(builder: Builder, record: BuildRecord, standins: Path) -> Outcome:
    """Read from the store in use (the machine's, or a `SeparateStore` entered)."""
    tarballs, ids, layers = {}, {}, {}
    for platform in record.plan.platforms:
        for base in BASES.values():
            name = base.standin_for(PLATFORMS[platform])
            tarballs[name] = standins / base.name / PLATFORMS[platform].debian / "rootfs.tar"
            ids[name] = builder.image_id(name) or "(missing)"
    for built in record.images:
        ids[built.tag] = built.image_id
        layers[built.tag] = builder.diff_ids(built.image_id)
    return Outcome(tarballs, ids, layers)


def compare(first: Outcome, second: Outcome) -> Comparison:
    """Every stand-in's rootfs.tar and ID, every image's ID and layers, side by side."""
    comparison = Comparison(sides=SIDES)
    for name, tarball in first.tarballs.items():
        if not tarball.exists():  # the first build reused stand-ins made earlier: by ID below
            continue
        other = second.tarballs.get(name)
        digest = (
            f"sha256:{sha256_file(p)}" if p and p.exists() else "(none)" for p in (tarball, other)
        )
        if not comparison.compare(f"{name} rootfs.tar", *digest) and other and other.exists():
            left, right = layerdiff.listing_of(tarball), layerdiff.listing_of(other)
            comparison.differences += layerdiff.listing_difference(1, left, right, 40, SIDES)
    for name, image_id in first.ids.items():
        comparison.compare(name, image_id, second.ids.get(name, "(not built)"))
        if name in first.layers:
            comparison.compare_layers(first.layers[name], second.layers.get(name, []))
    return comparison


def vary(
    run: Runner, builder: Builder, nox: Sequence[str], keep: Path | None = None
) -> Comparison:
    """Build this commit again, varied, and compare with what `nox -s build` made here."""
    if missing := missing_tools():
        raise BuildError(f"the variations need {', '.join(missing)}: run `bin/setup --for test`")
    first_record = build_record.require()
    if not first_record.tree_clean or not tree_is_clean():
        raise BuildError("the variations rebuild the commit: commit, `nox -s build`, then vary")
    first = outcome(builder, first_record, STANDIN_WORKDIR)
    workdir = keep or Path(tempfile.mkdtemp(prefix="moscow-time-vary-"))
    source, shuffled = workdir / "clone", workdir / "shuffled" / "elsewhere" / "moscow-time"
    try:
        run("git", "clone", "--quiet", "--no-local", str(ROOT), str(source))
        run("git", "-C", str(source), "checkout", "--quiet", "--detach", git_revision())
        shuffled.mkdir(parents=True)
        run(
            "disorderfs",
            "--quiet",
            "--shuffle-dirents=yes",
            "--multi-user=yes",
            str(source),
            str(shuffled),
        )
        try:
            second, explained = build_varied(
                run, builder, nox, first=first_record, checkout=shuffled, workdir=workdir
            )
            # Read after the unmount: the clone holds what was written through the mount.
            second.tarballs = {
                name: source / path.relative_to(shuffled) for name, path in second.tarballs.items()
            }
        finally:
            run("umount", str(shuffled), success_codes=[0, 32])
        comparison = compare(first, second)
        comparison.differences += [
            line
            for tag in comparison.mismatches
            for line in explained(first.ids.get(tag, ""), tag)
        ]
        comparison.notes.append(f"{git_revision()[:12]} built again in {shuffled}, varied:")
        return comparison
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def build_varied(
    run: Runner,
    builder: Builder,
    nox: Sequence[str],
    *,
    first: BuildRecord,
    checkout: Path,
    workdir: Path,
) -> tuple[Outcome, layerdiff.Explainer]:
    """The second build, every variation at once, in an empty store; what it made, and a way
    to say how one of its images differs from the first build's."""
    plan = first.plan
    settings = {
        OFFLINE_ENV: "1" if plan.offline else "0",
        BUILDER_ENV: plan.builder,
        PLATFORMS_ENV: ",".join(plan.platforms),
    }
    noxfile = str(checkout / "noxfile.py")
    with builder.separate_store(workdir / "store"):
        # The store's storage.conf is in the environment only once it is entered.
        env = hostile_environment(os.environ, workdir) | settings
        command = [*nox, "--noxfile", noxfile, "--sessions", "build", "--", "--no-cache"]
        run(*varied_command(command), env=env, cwd=checkout)
        record = build_record.require(build_record.in_checkout(checkout))
        second = outcome(builder, record, checkout / STANDIN_WORKDIR.relative_to(ROOT))
        exported = layerdiff.export_differing(builder, first, record, workdir / "layers")
    return second, layerdiff.explainer(builder, exported)
