"""tools.rebuild.published: what may be published, and how a rebuild compares with it."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from tools.builders.libpod import Buildah
from tools.images.record import BuildRecord
from tools.inputs import debs
from tools.model import VARIANTS
from tools.paths import PUBLISHED_IDS
from tools.process import BuildError, capture
from tools.rebuild import published as publication

STANDIN_PACKAGES = "# header\n\n[slim] rootfs.tar sha256:aa\nlibc6 2.41-12\npython3.13 3.13.5-2\n"


def image(variant: str, image_id: str) -> dict[str, object]:
    tag = f"moscow-time:{variant}"
    return {
        "variant": variant,
        "platform": "linux/amd64",
        "tags": [tag],
        "base": "b",
        "image_id": image_id,
    }


def images_json(**changes: object) -> BuildRecord:
    """A record as commits before the plan wrote it (schema 1), which must still be read."""
    built = {
        "builder": "buildah",
        "builder_version": "buildah version 1.28.2",
        "reproducible": True,
        "source_date_epoch": 1795758711,
        "revision": "4cfa9e21bda4ddd376a97241492187aa4f09e3e3",
        "tree_clean": True,
        "offline": True,
        "arch": "x86_64",
        "images": [image("slim", "sha256:51"), image("distroless", "sha256:d1")],
    }
    return BuildRecord.from_json(built | changes)


def test_a_publication_names_the_commit_and_each_image_by_its_first_tag() -> None:
    published = publication.publication(images_json(), STANDIN_PACKAGES)
    assert published.commit == "4cfa9e21bda4ddd376a97241492187aa4f09e3e3"
    assert published.images == {
        "moscow-time:slim": "sha256:51",
        "moscow-time:distroless": "sha256:d1",
    }
    assert "libc6 2.41-12" in published.standin_packages


def test_a_rebuild_with_the_same_ids_is_the_same() -> None:
    published = publication.publication(images_json(), STANDIN_PACKAGES)
    comparison = publication.compare_publication(published, dataclasses.replace(published))
    assert comparison.status == "same"
    assert any("sha256:51" in line and "same" in line for line in comparison.lines())


def test_other_ids_from_the_same_builder_and_packages_differ() -> None:
    published = publication.publication(images_json(), STANDIN_PACKAGES)
    rebuilt = dataclasses.replace(
        published, images=published.images | {"moscow-time:slim": "sha256:52"}
    )
    comparison = publication.compare_publication(published, rebuilt)
    assert comparison.status == "differs"
    assert any("sha256:52" in line and "DIFFERS" in line for line in comparison.lines())


def test_other_ids_after_the_mirror_moved_are_incomparable_and_name_the_packages() -> None:
    published = publication.publication(images_json(), STANDIN_PACKAGES)
    moved = STANDIN_PACKAGES.replace("libc6 2.41-12", "libc6 2.41-12+deb13u1")
    rebuilt = publication.publication(images_json(images=[image("slim", "sha256:52")]), moved)
    comparison = publication.compare_publication(published, rebuilt)
    assert comparison.status == "incomparable"
    assert "mirror moved" in comparison.incomparable
    assert "-libc6 2.41-12" in comparison.lines()
    assert "+libc6 2.41-12+deb13u1" in comparison.lines()


def test_other_ids_with_the_same_packages_differ_whatever_the_tarballs_digest() -> None:
    published = publication.publication(images_json(), STANDIN_PACKAGES)
    retarred = STANDIN_PACKAGES.replace("rootfs.tar sha256:aa", "rootfs.tar sha256:bb")
    rebuilt = publication.publication(images_json(images=[image("slim", "sha256:52")]), retarred)
    assert publication.compare_publication(published, rebuilt).status == "differs"


@pytest.mark.parametrize(
    ("key", "value"), [("builder_version", "buildah version 1.39.3"), ("arch", "aarch64")]
)
def test_another_builder_version_or_cpu_is_incomparable(key: str, value: str) -> None:
    published = publication.publication(images_json(), STANDIN_PACKAGES)
    rebuilt = publication.publication(images_json(**{key: value}), STANDIN_PACKAGES)
    comparison = publication.compare_publication(published, rebuilt)
    assert comparison.status == "incomparable"
    assert value in comparison.incomparable


def test_the_published_ids_are_of_a_commit_in_this_history() -> None:
    published = publication.read(PUBLISHED_IDS)
    if capture("git", "rev-parse", "--is-shallow-repository") == "true":
        pytest.skip("a shallow clone does not hold the published commit")
    ancestor = subprocess.run(
        ["git", "merge-base", "--is-ancestor", published.commit, "HEAD"], check=False
    )
    assert ancestor.returncode == 0, f"{published.commit} is not an ancestor of HEAD"
    assert set(published.images) == {v.tag() for v in VARIANTS.values()}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"revision": "0" * 40}, "not of HEAD's inputs"),
        ({"tree_clean": False}, "uncommitted changes"),
        ({"reproducible": False}, "did not build them reproducibly"),
        ({"offline": False}, "upstream bases"),
    ],
)
def test_publishing_refuses_images_another_machine_could_not_rebuild(
    changes: dict[str, object], problem: str
) -> None:
    built = images_json(**changes)
    problems = publication.publish_problems(built, "4cfa9e21bda4ddd376a97241492187aa4f09e3e3")
    assert len(problems) == 1
    assert problem in problems[0]


def test_a_clean_reproducible_offline_build_of_head_may_be_published() -> None:
    head = "4cfa9e21bda4ddd376a97241492187aa4f09e3e3"
    assert publication.publish_problems(images_json(), head) == []


def test_a_rebuild_of_an_offline_publication_makes_the_stand_ins_too() -> None:
    published = publication.publication(images_json(), STANDIN_PACKAGES)
    args = publication.rebuild_sessions(published, "buildah")
    assert args[: args.index("--")] == ["--sessions", "standins", "build"]
    assert args[args.index("--") :] == ["--", "--builder", "buildah", "--no-cache", "--offline"]


def test_a_publication_made_before_the_stand_ins_session_was_renamed_names_the_old_one() -> None:
    older = publication.publication(images_json(), STANDIN_PACKAGES).to_json()
    del older["standins_session"]
    rebuilt = publication.rebuild_sessions(publication.Publication.from_json(older), "buildah")
    assert rebuilt[:3] == ["--sessions", "bases", "build"]


def test_a_publication_reads_back_as_written(tmp_path: Path) -> None:
    published = publication.publication(images_json(), STANDIN_PACKAGES)
    publication.write(published, tmp_path / "ids.json")
    assert publication.read(tmp_path / "ids.json") == published


def test_another_host_builder_version_or_a_missing_commit_is_said_before_rebuilding() -> None:
    published = publication.publication(images_json(), STANDIN_PACKAGES)
    version = published.builder_version
    assert publication.why_incomparable(published, lambda: version, lambda _: True) is None
    other = publication.why_incomparable(
        published, lambda: "buildah version 1.39.3", lambda _: True
    )
    assert other == (
        "published with 'buildah version 1.28.2', this machine has 'buildah version 1.39.3': "
        "IDs are only comparable for the same builder version"
    )
    shallow = publication.why_incomparable(published, lambda: version, lambda _: False)
    assert shallow is not None
    assert "shallow" in shallow


def test_a_commit_built_with_the_toolchain_is_comparable_whatever_the_host_has() -> None:
    published = dataclasses.replace(
        publication.publication(images_json(), STANDIN_PACKAGES),
        builder_version="toolchain sha256:" + "ab" * 32 + " (buildah 1.39.3+ds1-1+b7)",
    )

    def host_version() -> str:
        raise AssertionError("the host's builder is not asked: the commit brings its own")

    assert publication.why_incomparable(published, host_version, lambda _: True) is None
    shallow = publication.why_incomparable(published, host_version, lambda _: False)
    assert shallow == f"commit {published.commit[:12]} is not in this clone (a shallow clone?)"


def test_a_published_commit_whose_debs_are_gone_everywhere_fails_not_skips(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(publication, "pick_builder", lambda name, **_: Buildah())
    monkeypatch.setattr(publication, "why_incomparable", lambda *args: None)
    monkeypatch.setattr(publication, "checkout_worktree", lambda *args: None)

    def gone(worktree: Path) -> None:
        raise debs.DebGoneError("passwd 1:4.17 is no longer on the mirror (set …SNAPSHOT=URL)")

    monkeypatch.setattr(debs, "fetch_locked", gone)
    with pytest.raises(BuildError, match=r"cannot rebuild .*: passwd 1:4\.17 is no longer"):
        publication.rebuild_published(["nox"], tmp_path / "worktree")


def test_the_published_commit_is_rebuilt_by_the_nox_given_with_its_own_noxfile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The README runs `.venv/bin/nox`, with no nox on PATH: the running one must be used."""
    ran: list[tuple[str, ...]] = []
    monkeypatch.setattr(publication, "read", lambda: publication.publication(images_json(), ""))
    monkeypatch.setattr(publication, "pick_builder", lambda name, **_: Buildah())
    monkeypatch.setattr(publication, "why_incomparable", lambda *args: None)
    monkeypatch.setattr(publication, "checkout_worktree", lambda *args: None)
    monkeypatch.setattr(debs, "fetch_locked", lambda worktree: None)
    monkeypatch.setattr(publication, "run_shown", lambda *args: ran.append(args))
    monkeypatch.setattr(publication, "rebuilt", lambda published, worktree: published)
    worktree = tmp_path / "worktree"
    comparison = publication.rebuild_published(["/venv/python", "-m", "nox"], worktree)
    assert ran == [
        ("/venv/python", "-m", "nox", "--noxfile", str(worktree / "noxfile.py"),
         *publication.rebuild_sessions(publication.publication(images_json(), ""), "buildah"))
    ]  # fmt: skip
    assert comparison.passed
