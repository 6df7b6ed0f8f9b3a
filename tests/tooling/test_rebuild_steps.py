"""tools.rebuild.rebuild, around the build: the targets a release names, the commit's
checkout, the image a rebuild made for each target, and the verification summary it signs.
git is real (a repository made here); cosign is stood in, recording what it was asked."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tooling.samples import IMAGE, OTHER, REPOSITORY, a_predicate, a_target
from tools.images.record import BuildRecord, Built
from tools.process import BuildError, run_shown
from tools.rebuild import findings, rebuild
from tools.rebuild.comparison import Comparison
from tools.release import vsa
from tools.release.consumer import Verified
from tools.release.provenance import BuildInputs
from tools.release.references import Pinned


def verified(image: Pinned, provenance: dict[str, Any]) -> Verified:
    return Verified(image, "linux/arm64", 1, {}, provenance, [])


# ---- the targets ------------------------------------------------------------------------


def test_each_image_a_reference_names_is_a_target_with_its_provenances_inputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index, alone = f"{REPOSITORY}@sha256:{'ee' * 32}", str(OTHER)
    provenance = a_predicate()
    served = {index: [IMAGE, OTHER], alone: [OTHER]}
    asked: list[tuple[object, Pinned, Path]] = []

    def verify(cosign: object, image: Pinned, key: Path) -> list[Verified]:
        asked.append((cosign, image, key))
        return [verified(child, provenance) for child in served[str(image)]]

    monkeypatch.setattr(rebuild, "verify", verify)
    cosign: Any = object()
    found = rebuild.targets(cosign, [index, alone], Path("cosign.pub"))
    assert asked == [
        (cosign, Pinned.parse(index), Path("cosign.pub")),
        (cosign, Pinned.parse(alone), Path("cosign.pub")),
    ]
    assert [(t.image, t.given) for t in found] == [(IMAGE, index), (OTHER, index), (OTHER, alone)]
    assert all(t.inputs == BuildInputs.from_predicate(provenance) for t in found)
    assert all(t.provenance is provenance for t in found)


# ---- the checkout -----------------------------------------------------------------------


def git(directory: Path, *args: str) -> str:
    identity = ["-c", "user.name=moscow-time", "-c", "user.email=test@invalid"]
    done = subprocess.run(
        ["git", "-C", str(directory), *identity, *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def released_repository(tmp_path: Path) -> tuple[Path, str]:
    """A repository with the released commit, and a later one on top: (its path, the
    released commit)."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git(origin, "init", "--quiet")
    (origin / "noxfile.py").write_text("# as released\n")
    git(origin, "add", "noxfile.py")
    git(origin, "commit", "--quiet", "-m", "released")
    released = git(origin, "rev-parse", "HEAD")
    (origin / "noxfile.py").write_text("# later\n")
    git(origin, "commit", "--quiet", "-am", "later")
    return origin, released


def test_a_commit_from_git_url_is_checked_out_detached_in_a_fresh_worktree(
    tmp_path: Path, released_repository: tuple[Path, str]
) -> None:
    origin, released = released_repository
    worktree = tmp_path / "rebuild" / released[:12]
    worktree.mkdir(parents=True)
    (worktree / "left-over").write_text("from an earlier rebuild")
    ran: list[tuple[str, ...]] = []

    def recording(*args: str, **options: Any) -> None:
        ran.append(args)
        run_shown(*args, **options)

    rebuild.checkout(recording, released, worktree, str(origin))
    assert ran == [
        ("git", "clone", "--quiet", "--no-checkout", str(origin), str(worktree)),
        ("git", "-C", str(worktree), "checkout", "--quiet", "--detach", released),
    ]
    assert (worktree / "noxfile.py").read_text() == "# as released\n"
    assert git(worktree, "rev-parse", "HEAD") == released
    assert (
        subprocess.run(
            ["git", "-C", str(worktree), "symbolic-ref", "-q", "HEAD"], check=False
        ).returncode
        != 0
    ), "detached: no branch moves"
    assert not (worktree / "left-over").exists()
    first_time = tmp_path / "first" / released[:12]
    rebuild.checkout(run_shown, released, first_time, str(origin))
    assert git(first_time, "rev-parse", "HEAD") == released


def test_a_commit_this_clone_has_is_a_worktree_of_it_and_one_it_lacks_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    worktrees: list[tuple[object, str, Path]] = []
    monkeypatch.setattr(rebuild, "checkout_worktree", lambda *args: worktrees.append(args))
    monkeypatch.setattr(rebuild, "has_commit", lambda commit: commit == "a" * 40)
    rebuild.checkout(print, "a" * 40, tmp_path / "w", None)
    assert worktrees == [(print, "a" * 40, tmp_path / "w")]
    with pytest.raises(BuildError) as lacking:
        rebuild.checkout(print, "b" * 40, tmp_path / "w", None)
    assert str(lacking.value) == (
        f"commit {'b' * 12} is not in this clone: `git fetch origin {'b' * 40}` (or unshallow "
        "the clone), or pass --git URL of the repository it was released from"
    )
    assert len(worktrees) == 1


# ---- the image a rebuild made for a target ----------------------------------------------


def a_record(*images: Built) -> BuildRecord:
    plan = BuildInputs.from_predicate(a_predicate()).plan
    return BuildRecord(plan, "buildah version 1.28.2", True, True, "x86_64", images)


def test_each_target_takes_the_image_of_its_variant_and_platform() -> None:
    built = [
        Built(variant, platform, [f"moscow-time:{variant}"], "base", f"sha256:{variant}-{arch}")
        for variant in ("slim", "distroless")
        for platform, arch in (("linux/amd64", "amd64"), ("linux/arm64", "arm64"))
    ]
    record = a_record(*built)
    assert a_target().variant == "slim"
    assert rebuild.rebuilt_image(record, a_target()).image_id == "sha256:slim-arm64"
    distroless = a_target(dockerfile="Dockerfile.distroless", platform="linux/amd64")
    assert rebuild.rebuilt_image(record, distroless).image_id == "sha256:distroless-amd64"
    with pytest.raises(BuildError) as missing:
        rebuild.rebuilt_image(a_record(*built[:1]), a_target())
    commit = a_target().inputs.commit[:12]
    assert str(missing.value) == f"the rebuild of {commit} made no slim for linux/arm64"


# ---- the signed verdict -----------------------------------------------------------------


class Cosign:
    def __init__(self) -> None:
        self.attested: list[tuple[Pinned, Path, dict[str, Any], str]] = []

    def attest(self, image: Pinned, key: Path, predicate: Path, kind: str) -> None:
        self.attested.append((image, key, json.loads(predicate.read_text()), kind))


@pytest.mark.parametrize("passed", [True, False], ids=["passed", "failed"])
def test_the_verdict_is_signed_onto_the_released_digest_as_a_summary(
    tmp_path: Path, *, passed: bool
) -> None:
    chosen = a_target()
    comparison = Comparison()
    comparison.compare("image ID (config)", "sha256:r", "sha256:r" if passed else "sha256:x")
    finding = findings.Finding(chosen, "sha256:r", "sha256:r", comparison, 1.0, 0.1)
    cosign: Any = Cosign()
    now = "2026-12-04T10:00:00Z"
    path = rebuild.sign(
        cosign, finding, tmp_path / "k.key", verifier="rebuilder-1", workdir=tmp_path, now=now
    )
    assert path == tmp_path / f"vsa.{'ab' * 8}.json"
    expected = vsa.summary(
        verifier="rebuilder-1", image=IMAGE, passed=passed,
        inputs=vsa.inputs_used(IMAGE, chosen.provenance, chosen.inputs), time_verified=now,
    )  # fmt: skip
    assert cosign.attested == [(IMAGE, tmp_path / "k.key", expected, vsa.PREDICATE_TYPE)]
    assert path.read_text() == json.dumps(expected, indent=2) + "\n"
    assert expected["verificationResult"] == (vsa.PASSED if passed else vsa.FAILED)
