"""`nox -s rebuild`: a released image, rebuilt from its signed provenance alone, and compared.

For each REF@DIGEST (an index: each platform's manifest in it), the release's
signature and provenance are verified with the releaser's public key; the
provenance alone then says what to rebuild: the commit, its build plan (builder,
platforms, bases, epoch), the digests of the locks and the bases. That commit
is checked out in a worktree (from this clone, or from `--git URL`), its locks
must hash to what the provenance records, and the commit's own noxfile builds
it in an empty store of its own (`SeparateStore`: the bases copied in by the
IDs the provenance names), with no layer cache and a fresh wheelhouse. Each
platform's rebuilt image is then compared with what the registry serves
(`findings`). `--sign KEY` attaches the verdict as a signed verification
summary (`vsa`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from tools import builders
from tools.builders import Builder
from tools.builders.store import SeparateStore
from tools.images import contents
from tools.images import record as build_record
from tools.images.record import BuildRecord, Built
from tools.model import PLATFORMS, host_platform
from tools.paths import CONTENT_RECORDS, ROOT
from tools.process import BuildError, Runner, checkout_worktree, has_commit, sha256_file
from tools.rebuild import vary
from tools.rebuild.comparison import Comparison
from tools.rebuild.findings import Finding, Target, compare
from tools.release import vsa
from tools.release.consumer import verify
from tools.release.provenance import BuildInputs
from tools.release.references import Pinned
from tools.release.signing import Cosign
from tools.settings import BUILDER_ENV, OFFLINE_ENV, PLATFORMS_ENV, UPSTREAM_ENV


def targets(cosign: Cosign, references: Sequence[str], public_key: Path) -> list[Target]:
    """Each platform's image the references name, its signature and provenance verified."""
    found = []
    for given in references:
        for verified in verify(cosign, Pinned.parse(given), public_key):
            inputs = BuildInputs.from_predicate(verified.provenance)
            found.append(Target(verified.image, given, inputs, verified.provenance))
    return found


def checkout(run: Runner, commit: str, worktree: Path, git_url: str | None) -> None:
    """The commit in a fresh worktree: from this clone, or cloned from `git_url`."""
    if git_url:
        shutil.rmtree(worktree, ignore_errors=True)
        run("git", "clone", "--quiet", "--no-checkout", git_url, str(worktree))
        run("git", "-C", str(worktree), "checkout", "--quiet", "--detach", commit)
        return
    if not has_commit(commit):
        raise BuildError(
            f"commit {commit[:12]} is not in this clone: `git fetch origin {commit}` (or "
            "unshallow the clone), or pass --git URL of the repository it was released from"
        )
    checkout_worktree(run, commit, worktree)


def check_locks(worktree: Path, locks: Mapping[str, str], commit: str) -> None:
    """Every lock the provenance names must hash, in the commit, to what it records."""
    for name, recorded in sorted(locks.items()):
        path = worktree / name
        if not path.is_file():
            raise BuildError(f"{commit[:12]} has no {name}, which the provenance names")
        if (actual := sha256_file(path)) != recorded:
            raise BuildError(
                f"{name} in {commit[:12]} hashes to {actual[:16]}…, the provenance says "
                f"{recorded[:16]}…: the provenance does not describe that commit; do not trust it"
            )


def build_arguments(inputs: BuildInputs, platforms: Sequence[str]) -> list[str]:
    """The commit's own `nox -s build`, clean, with the provenance's builder and bases."""
    options = ["--builder", inputs.builder, "--no-cache", "--platform", ",".join(platforms)]
    return ["--sessions", "build", "--", *options, *(["--offline"] if inputs.plan.offline else [])]


def build_environment(inputs: BuildInputs) -> dict[str, str]:
    """The build choices of this environment, replaced by the provenance's: its bases, on
    stand-ins or upstream, whatever this machine's `MOSCOW_TIME_*` say."""
    plan = inputs.plan
    env = {OFFLINE_ENV: "1" if plan.offline else "0", BUILDER_ENV: "", PLATFORMS_ENV: ""}
    upstream = {} if plan.offline else plan.bases[plan.platforms[0]]
    return env | {var: upstream.get(name, "") for name, var in UPSTREAM_ENV.items()}


def compare_bases(builder: Builder, target: Target, comparison: Comparison) -> None:
    """The bases the rebuild used must be the ones the provenance names, by ID: a row each,
    counted; for one that differs, the files that differ from the content record."""
    for arg, (reference, recorded) in sorted(target.inputs.bases.items()):
        here = builder.image_id(reference) or "(missing)"
        if comparison.compare(f"base {arg}", recorded, here) or here == "(missing)":
            continue
        comparison.differences += [
            f"base {arg} {reference}: {here} here, the provenance names {recorded}",
            *base_difference(builder, recorded, here),
        ]


def base_difference(builder: Builder, recorded: str, here: str) -> list[str]:
    """A base's files against the content record's, for the base the provenance names."""
    for arch in sorted(p.debian for p in PLATFORMS.values()):
        record = contents.read(arch)
        found = record and next((d for i, d in record.images.values() if i == recorded), None)
        if record and found:
            with tempfile.TemporaryDirectory() as scratch:
                layers = dict(contents.archive_layers(builder.archive(here, Path(scratch) / "b")))
            return contents.explain(record, found, layers)
    return [
        f"  {recorded} is not in {CONTENT_RECORDS.relative_to(ROOT)}/, so no file can be named: "
        "make the stand-ins from that commit's locks on a machine that publishes, or compare "
        "the two bases' layers by hand"
    ]


def rebuilt_image(record: BuildRecord, target: Target) -> Built:
    for built in record.images:
        if built.variant == target.variant and built.platform == target.inputs.platform:
            return built
    made = f"{target.variant} for {target.inputs.platform}"
    raise BuildError(f"the rebuild of {target.inputs.commit[:12]} made no {made}")


def rebuild_commit(
    run: Runner,
    commit: str,
    group: Sequence[Target],
    *,
    nox: Sequence[str],
    workdir: Path,
    git_url: str | None,
    say: Callable[[str], None],
    varied: bool,
) -> list[Finding]:
    """One commit's images, rebuilt in an empty store and compared."""
    first = group[0].inputs
    builder = builders.named_builder(first.builder)
    worktree = workdir / commit[:12]
    checkout(run, commit, worktree, git_url)
    for target in group:
        check_locks(worktree, target.inputs.locks, commit)
    with builder.separate_store(workdir / "store") as store:
        record, seconds = build_commit(
            run, builder, store, group, nox=nox, worktree=worktree, varied=varied
        )
        # The commit's own build says what built it: its toolchain, or the host's builder.
        if record.builder_version != first.builder_version:
            say(
                f"warning: released with {first.builder} {first.builder_version!r}, rebuilt "
                f"with {record.builder_version!r}: the IDs may differ for that alone"
            )
        findings = []
        for target in group:
            rebuilt_id = rebuilt_image(record, target).image_id
            finding = compare(builder, target, rebuilt_id, seconds)
            compare_bases(builder, target, finding.comparison)
            findings.append(finding)
    return findings


def build_commit(
    run: Runner,
    builder: Builder,
    store: SeparateStore,
    group: Sequence[Target],
    *,
    nox: Sequence[str],
    worktree: Path,
    varied: bool,
) -> tuple[BuildRecord, float]:
    """The commit's own clean build in the store entered; its record, and how long it took.

    The bases are copied in by the IDs the provenance names when this machine holds
    them; otherwise (and always when `varied`) the commit's build makes them from its
    Debian locks (stand-ins) or pulls them. `varied`: the build runs as `nox -s vary`'s
    second build does (environment, umask, host name, one CPU, the clock).
    """
    first = group[0].inputs
    if not varied:
        bases = {pair for target in group for pair in target.inputs.bases.values()}
        for reference, image_id in sorted(bases):
            if builder.holds(image_id):
                store.copy_in(image_id, reference)
    platforms = list(dict.fromkeys([host_platform().name, *(t.inputs.platform for t in group)]))
    command = [*nox, "--noxfile", str(worktree / "noxfile.py"), *build_arguments(first, platforms)]
    env = build_environment(first)
    if varied:
        (scratch := worktree.parent / "varied").mkdir(exist_ok=True)
        command, env = (
            vary.varied_command(command),
            vary.hostile_environment(os.environ, scratch) | env,
        )
    started = time.monotonic()
    run(*command, env=env)
    seconds = time.monotonic() - started
    record = build_record.require(build_record.in_checkout(worktree))
    if str(record.plan.epoch) != first.source_date_epoch:
        raise BuildError(
            f"{worktree.name} built with SOURCE_DATE_EPOCH={record.plan.epoch}, the "
            f"provenance says {first.source_date_epoch}: it does not describe that commit"
        )
    return record, seconds


def rebuild(
    run: Runner,
    chosen: Sequence[Target],
    *,
    nox: Sequence[str],
    workdir: Path,
    git_url: str | None = None,
    say: Callable[[str], None] = print,
    varied: bool = False,
) -> list[Finding]:
    """Rebuild each commit the targets name, once, clean; compare each target with it."""
    findings: list[Finding] = []
    by_commit: dict[str, list[Target]] = {}
    for target in chosen:
        by_commit.setdefault(target.inputs.commit, []).append(target)
    for commit, group in by_commit.items():
        findings += rebuild_commit(
            run, commit, group, nox=nox, workdir=workdir, git_url=git_url, say=say, varied=varied
        )
    return findings


def sign(
    cosign: Cosign, finding: Finding, key: Path, *, verifier: str, workdir: Path, now: str
) -> Path:
    """Attach the finding to the released manifest as a signed verification summary."""
    target = finding.target
    predicate = vsa.summary(
        verifier=verifier,
        image=target.image,
        passed=finding.passed,
        inputs=vsa.inputs_used(target.image, target.provenance, target.inputs),
        time_verified=now,
    )
    path = workdir / f"vsa.{target.image.digest.removeprefix('sha256:')[:16]}.json"
    path.write_text(json.dumps(predicate, indent=2) + "\n")
    cosign.attest(target.image, key, path, vsa.PREDICATE_TYPE)
    return path
