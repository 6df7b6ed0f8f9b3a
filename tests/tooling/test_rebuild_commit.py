"""tools.rebuild.rebuild, one commit at a time: the targets grouped by commit, each commit
checked out, its locks checked, built once in a store of its own with the provenance's
choices, and every image compared (the bases: test_rebuild_bases.py). The builder, its
store and the commit's own nox are stood in, each recording what it was asked and with what."""

from __future__ import annotations

import contextlib
import dataclasses
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tooling.samples import IMAGE, OTHER, a_target
from tools import builders
from tools.images import record as build_record
from tools.images.record import BuildRecord, Built
from tools.model import host_platform
from tools.process import BuildError, git_revision
from tools.rebuild import findings, rebuild
from tools.rebuild.comparison import Comparison
from tools.release.references import Pinned
from tools.settings import BUILDER_ENV, OFFLINE_ENV, PLATFORMS_ENV, UPSTREAM_ENV


def runner(*args: str, **options: Any) -> None:
    """The Runner handed down: the stand-ins check that it is this one."""
    raise AssertionError("nothing here runs a command through it")


def a_record(*images: Built, epoch: int = 1796000000) -> BuildRecord:
    plan = dataclasses.replace(a_target().inputs.plan, epoch=epoch)
    return BuildRecord(plan, "buildah version 1.28.2", True, True, "x86_64", images)


# ---- the commits ------------------------------------------------------------------------


def test_each_commit_is_rebuilt_once_for_all_its_images_with_every_choice_passed_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[str, list[Pinned], dict[str, Any]]] = []

    def rebuild_commit(run: object, commit: str, group: list[Any], **options: Any) -> list[str]:
        assert run is runner
        calls.append((commit, [t.image for t in group], options))
        return [f"finding of {t.image.digest[7:9]}" for t in group]

    monkeypatch.setattr(rebuild, "rebuild_commit", rebuild_commit)
    other = a_target(OTHER, commit="b" * 40)
    found = rebuild.rebuild(
        runner, [a_target(), other, a_target(OTHER)], nox=["nox"], workdir=Path("/w"),
        git_url="git://x", say=print,
    )  # fmt: skip
    options = {"nox": ["nox"], "workdir": Path("/w"), "git_url": "git://x", "say": print,
               "varied": False}  # fmt: skip
    assert calls == [
        (git_revision(), [IMAGE, OTHER], options),
        ("b" * 40, [OTHER], options),
    ]
    assert found == ["finding of ab", "finding of cd", "finding of cd"]  # type: ignore[comparison-overlap]
    rebuild.rebuild(runner, [other], nox=["nox"], workdir=Path("/w"), varied=True)
    assert calls[-1][2] == options | {"git_url": None, "varied": True}


class Builder:
    """A builder whose version, stored images and separate store are the test's."""

    def __init__(
        self, version: str = "buildah version 1.28.2", held: tuple[str, ...] = ()
    ) -> None:
        self.named, self.held = version, held
        self.stores: list[Path] = []
        self.asked: list[str] = []

    def version(self) -> str:
        return self.named

    def holds(self, image_id: str) -> bool:
        self.asked.append(image_id)
        return image_id in self.held

    @contextlib.contextmanager
    def separate_store(self, root: Path) -> Iterator[str]:
        self.stores.append(root)
        yield "the store"


@pytest.mark.parametrize("version", ["buildah version 1.28.2", "buildah version 1.39.3"])
def test_a_commit_is_checked_out_its_locks_checked_built_once_and_each_image_compared(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, version: str
) -> None:
    """`version`: what the commit's own build records as its builder's."""
    builder = Builder("this checkout's builder, which does not build the commit")
    steps: list[tuple[str, ...]] = []
    arm64 = a_target()
    amd64 = a_target(OTHER, platform="linux/amd64", builder_version="another version")
    images = (
        Built("slim", "linux/arm64", ["a"], "b", "sha256:rebuilt-arm64"),
        Built("slim", "linux/amd64", ["a"], "b", "sha256:rebuilt-amd64"),
    )
    compared: list[findings.Finding] = []

    def named_builder(name: str) -> Builder:
        assert name == "buildah"
        return builder

    def checkout(run: object, commit: str, worktree: Path, git_url: str | None) -> None:
        assert run is runner
        steps.append(("checkout", commit, str(worktree), str(git_url)))

    def check_locks(worktree: Path, locks: dict[str, str], commit: str) -> None:
        steps.append(("locks", str(worktree), str(sorted(locks)), commit))

    def build_commit(run: object, used: object, store: str, group: list[Any], **kw: Any) -> Any:
        assert (run, used, group, kw["nox"]) == (runner, builder, [arm64, amd64], ["nox"])
        steps.append(("build", store, str(kw["worktree"]), str(kw["varied"])))
        return dataclasses.replace(a_record(*images), builder_version=version), 42.0

    def compare(used: object, chosen: findings.Target, rebuilt: str, seconds: float) -> Any:
        assert used is builder
        steps.append(("compare", str(chosen.image), rebuilt, str(seconds)))
        compared.append(findings.Finding(chosen, "sha256:r", rebuilt, Comparison(), seconds, 0))
        return compared[-1]

    def compare_bases(used: object, chosen: findings.Target, comparison: Comparison) -> None:
        assert used is builder
        assert comparison is compared[-1].comparison, "the bases' rows join the image's"
        steps.append(("bases", str(chosen.image)))

    monkeypatch.setattr(builders, "named_builder", named_builder)
    for name, stand_in in [("checkout", checkout), ("check_locks", check_locks),
                           ("build_commit", build_commit), ("compare", compare),
                           ("compare_bases", compare_bases)]:  # fmt: skip
        monkeypatch.setattr(rebuild, name, stand_in)
    said: list[str] = []
    commit = arm64.inputs.commit
    found = rebuild.rebuild_commit(
        runner, commit, [arm64, amd64], nox=["nox"], workdir=tmp_path, git_url="git://x",
        say=said.append, varied=True,
    )  # fmt: skip
    worktree = str(tmp_path / commit[:12])
    locks = str(sorted(arm64.inputs.locks))
    assert steps == [
        ("checkout", commit, worktree, "git://x"),
        ("locks", worktree, locks, commit),
        ("locks", worktree, locks, commit),
        ("build", "the store", worktree, "True"),
        ("compare", str(IMAGE), "sha256:rebuilt-arm64", "42.0"),
        ("bases", str(IMAGE)),
        ("compare", str(OTHER), "sha256:rebuilt-amd64", "42.0"),
        ("bases", str(OTHER)),
    ]
    assert builder.stores == [tmp_path / "store"]
    assert found == compared
    if version == arm64.inputs.builder_version:
        assert said == [], "the first image's builder is the commit's"
    else:
        assert said == [
            "warning: released with buildah 'buildah version 1.28.2', rebuilt with "
            "'buildah version 1.39.3': the IDs may differ for that alone"
        ]


# ---- the commit's own build -------------------------------------------------------------


class Store:
    def __init__(self) -> None:
        self.copied: list[tuple[str, str]] = []

    def copy_in(self, image_id: str, reference: str) -> None:
        self.copied.append((image_id, reference))


@pytest.mark.parametrize("varied", [False, True], ids=["as released", "varied"])
def test_the_commits_own_nox_builds_it_clean_with_the_provenances_choices(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, varied: bool
) -> None:
    held = "sha256:" + "1" * 64
    bases = {"PYTHON_IMAGE": ("localhost/base", held), "OTHER": ("localhost/gone", "sha256:2")}
    chosen = a_target(bases=bases)
    ran: list[tuple[tuple[str, ...], dict[str, str]]] = []
    read: list[Path] = []

    def require(path: Path) -> BuildRecord:
        read.append(path)
        return a_record()

    monkeypatch.setattr(build_record, "require", require)
    ticks = iter([10.0, 17.5])
    clock = types.SimpleNamespace(monotonic=lambda: next(ticks))  # this module's clock alone
    monkeypatch.setattr("tools.rebuild.rebuild.time", clock)
    builder, store = Builder(held=(held,)), Store()
    worktree = tmp_path / "abc"
    (tmp_path / "varied").mkdir()  # an earlier varied rebuild's
    record, seconds = rebuild.build_commit(
        lambda *args, env: ran.append((args, env)), builder, store, [chosen],  # type: ignore[arg-type]
        nox=["nox", "-v"], worktree=worktree, varied=varied,
    )  # fmt: skip
    assert (record, seconds) == (a_record(), 7.5)
    assert read == [build_record.in_checkout(worktree)]
    [(command, env)] = ran
    platforms = list(dict.fromkeys([host_platform().name, "linux/arm64"]))
    expected = ["nox", "-v", "--noxfile", str(worktree / "noxfile.py"),
                *rebuild.build_arguments(chosen.inputs, platforms)]  # fmt: skip
    assert {k: env[k] for k in (OFFLINE_ENV, BUILDER_ENV, PLATFORMS_ENV)} == {
        OFFLINE_ENV: "1",
        BUILDER_ENV: "",
        PLATFORMS_ENV: "",
    }
    if varied:
        assert store.copied == [], "the bases are made, not copied"
        assert builder.asked == []
        assert command[:2] == ("unshare", "--uts")
        assert list(command[-len(expected) :]) == expected
        assert env["HOME"] == str(tmp_path / "varied" / "home")
    else:
        assert sorted(builder.asked) == sorted(["sha256:2", held])
        assert store.copied == [(held, "localhost/base")], "only what this machine holds"
        assert list(command) == expected


def test_a_build_with_another_epoch_than_the_provenances_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(build_record, "require", lambda path: a_record(epoch=1))
    with pytest.raises(BuildError) as refused:
        rebuild.build_commit(
            lambda *args, env: None, Builder(), Store(), [a_target()],  # type: ignore[arg-type]
            nox=["nox"], worktree=tmp_path / "abc", varied=False,
        )  # fmt: skip
    assert str(refused.value) == (
        "abc built with SOURCE_DATE_EPOCH=1, the provenance says 1796000000: it does not "
        "describe that commit"
    )


def test_the_build_takes_the_provenances_builder_platforms_and_bases_not_this_machines() -> None:
    found = a_target().inputs
    assert rebuild.build_arguments(found, ["linux/amd64", "linux/arm64"]) == [
        "--sessions", "build", "--", "--builder", "buildah", "--no-cache",
        "--platform", "linux/amd64,linux/arm64", "--offline",
    ]  # fmt: skip
    amd64 = {"slim": "python:3.13-slim-trixie@sha256:" + "ef" * 32}
    arm64 = {"slim": "python:3.13-slim-trixie@sha256:" + "0f" * 32}
    online = dataclasses.replace(
        found.plan, offline=False, bases={"linux/amd64": amd64, "linux/arm64": arm64}
    )
    env = rebuild.build_environment(dataclasses.replace(found, plan=online))
    assert env == {
        OFFLINE_ENV: "0", BUILDER_ENV: "", PLATFORMS_ENV: "",
        UPSTREAM_ENV["slim"]: amd64["slim"], UPSTREAM_ENV["distroless"]: "",
    }  # fmt: skip
