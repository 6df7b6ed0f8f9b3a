"""tools.images.plan and tools.images.record: one plan from options and settings; one record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import builders
from tools.builders.docker import DockerClassic
from tools.builders.libpod import Buildah
from tools.images import plan as planning
from tools.images import platforms, record
from tools.images.options import Options
from tools.images.plan import BuildPlan
from tools.images.record import SCHEMA, BuildRecord, Built
from tools.inputs.baselock import BaseLock, LockedBase
from tools.model import BASES, PLATFORMS, host_platform
from tools.process import BuildError
from tools.settings import Settings

HOST = host_platform()
OTHER = next(each for each in PLATFORMS.values() if each != HOST)


class StorelessBuildah(Buildah):
    """buildah on a machine whose store is empty and that reaches no registry: a tooling
    test reads neither the machine's store nor the network."""

    def image_id(self, image: str) -> str | None:
        return None

    def pull(self, run: object, image: str) -> bool:
        return False


@pytest.fixture
def buildah(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """make_plan's builder is buildah, whatever is installed; the names it was asked for."""
    asked: list[str | None] = []

    def pick(name: str | None, *, reproducible: bool = False) -> Buildah:
        asked.append(name)
        return StorelessBuildah()

    monkeypatch.setattr(builders, "pick_builder", pick)
    monkeypatch.setattr(platforms, "missing_emulation", lambda chosen: None)
    return asked


def test_the_option_wins_over_the_environment_and_the_environment_fills_the_rest(
    buildah: list[str | None],
) -> None:
    settings = Settings.read({"MOSCOW_TIME_BUILDER": "podman", "MOSCOW_TIME_PLATFORMS": "all"})
    plan, _ = planning.make_plan(Options(builder="buildah", platform=HOST.name), settings)
    assert buildah == ["buildah"]
    assert plan.platforms == (HOST.name,)
    plan, _ = planning.make_plan(Options(), settings)
    assert buildah[-1] == "podman"
    assert plan.platforms == (HOST.name, OTHER.name)


def a_lock(tmp_path: Path, *names: str) -> Path:
    """A bases lock holding these bases' upstream tags, at made-up digests."""
    lock = BaseLock()
    for number, name in enumerate(names, start=1):
        entry = LockedBase(BASES[name].upstream, f"sha256:{number}", {}, "2026-11-01T00:00:00Z")
        lock = lock.with_entry(name, entry)
    path = tmp_path / "bases.lock.json"
    lock.write(path)
    return path


def test_offline_plans_name_each_platforms_stand_ins_and_online_ones_the_locked_upstreams(
    buildah: list[str | None], tmp_path: Path
) -> None:
    offline, _ = planning.make_plan(Options(platform="all"), Settings(offline=True))
    assert offline.base(OTHER, "slim") == BASES["slim"].standin_for(OTHER)
    pinned = "docker.io/library/python:3.13-slim-trixie@sha256:" + "1" * 64
    settings = Settings(
        offline=False, upstream={"slim": pinned}, bases_lock=a_lock(tmp_path, "distroless")
    )
    online, _ = planning.make_plan(Options(), settings)
    assert online.base(HOST, "slim") == pinned
    assert online.base(HOST, "distroless") == BASES["distroless"].upstream + "@sha256:1"
    frozen = Settings(offline=False, frozen=True, bases_lock=tmp_path / "none.json")
    with pytest.raises(BuildError, match=r"locks no digest for docker\.io/library/python"):
        planning.make_plan(Options(), frozen)


def test_a_builder_that_builds_one_platform_cannot_plan_two(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(builders, "pick_builder", lambda name, **_: DockerClassic("no BuildKit"))
    with pytest.raises(BuildError, match="builds this machine's platform only"):
        planning.make_plan(Options(platform="all"), Settings())


def test_missing_emulation_stops_the_plan_with_what_to_run(
    buildah: list[str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platforms, "missing_emulation", lambda chosen: "register qemu")
    with pytest.raises(BuildError, match="register qemu"):
        planning.make_plan(Options(platform="all"), Settings())


def a_plan() -> BuildPlan:
    return BuildPlan(
        builder="buildah",
        platforms=(HOST.name, OTHER.name),
        bases=planning.base_references([HOST, OTHER], offline=True, upstream={}),
        revision="4cfa9e21bda4ddd376a97241492187aa4f09e3e3",
        epoch=1795758711,
        offline=True,
    )


def test_a_plan_reads_back_as_written() -> None:
    plan = a_plan()
    assert BuildPlan.from_json(json.loads(json.dumps(plan.to_json()))) == plan


def a_record() -> BuildRecord:
    host = Built("slim", HOST.name, ["moscow-time:slim"], "base", "sha256:1")
    other = Built("slim", OTHER.name, [f"moscow-time:{OTHER.debian}-slim"], "b", "sha256:2")
    return BuildRecord(a_plan(), "buildah 1.28.2", True, True, HOST.machine, (host, other))


def test_a_record_reads_back_as_written_and_knows_the_hosts_images(tmp_path: Path) -> None:
    written = a_record()
    record.write(written, tmp_path / "images.json")
    found = record.read(tmp_path / "images.json")
    assert found == written
    assert [b.tag for b in found.host_images] == ["moscow-time:slim"]
    assert found.image("slim", OTHER.name).image_id == "sha256:2"


def schema_1(arch: str) -> dict[str, object]:
    """A record as commits before the plan wrote it: images with no platform."""
    built = {"variant": "slim", "tags": ["moscow-time:slim"], "base": "b", "image_id": "sha256:1"}
    other = built | {"platform": "linux/arm64", "image_id": "sha256:2"}
    return {"builder": "buildah", "builder_version": "buildah version 1.28.2",
            "reproducible": True, "source_date_epoch": 1795758711, "revision": "4cfa9e2",
            "tree_clean": True, "offline": True, "arch": arch, "images": [built],
            "other_platforms": [other]}  # fmt: skip


def test_a_schema_1_record_reads_every_field_and_takes_the_machines_platform() -> None:
    found = BuildRecord.from_json(schema_1("x86_64"))
    assert found.schema == 1
    plan = found.plan
    assert (plan.builder, plan.revision, plan.epoch, plan.offline) == (
        "buildah", "4cfa9e2", 1795758711, True
    )  # fmt: skip
    assert plan.platforms == ("linux/amd64", "linux/arm64")
    assert plan.bases == {"linux/amd64": {}, "linux/arm64": {}}
    assert (found.builder_version, found.reproducible, found.tree_clean, found.arch) == (
        "buildah version 1.28.2", True, True, "x86_64"
    )  # fmt: skip
    assert [(b.platform, b.image_id) for b in found.images] == [
        ("linux/amd64", "sha256:1"), ("linux/arm64", "sha256:2")
    ]  # fmt: skip
    unknown = BuildRecord.from_json(schema_1("riscv64") | {"other_platforms": []})
    assert [b.platform for b in unknown.images] == ["linux/riscv64"]


def test_a_record_is_written_where_no_directory_is_yet(tmp_path: Path) -> None:
    path = tmp_path / "new" / "build" / "images.json"
    record.write(a_record(), path)
    assert record.require(path) == a_record()


def test_an_image_the_last_build_did_not_make_is_named() -> None:
    with pytest.raises(BuildError, match="made no distroless image for linux/s390x: build it"):
        a_record().image("distroless", "linux/s390x")


def test_a_record_of_another_schema_says_to_build_again(tmp_path: Path) -> None:
    data = a_record().to_json() | {"schema": SCHEMA + 1}
    (tmp_path / "images.json").write_text(json.dumps(data))
    with pytest.raises(BuildError, match="run `nox -s build` again"):
        record.read(tmp_path / "images.json")


def test_no_record_says_to_build_first(tmp_path: Path) -> None:
    assert record.read(tmp_path / "none.json") is None
    with pytest.raises(BuildError, match=r"^nothing built yet: run `nox -s build` first$"):
        record.require(tmp_path / "none.json")


@pytest.mark.parametrize(("pullable", "offline"), [(True, False), (False, True)])
def test_with_nothing_said_the_plan_takes_the_stand_ins_when_no_registry_answers(
    buildah: list[str | None],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    *,
    pullable: bool,
    offline: bool,
) -> None:
    monkeypatch.setattr(StorelessBuildah, "image_id", lambda self, image: None)
    asked: list[str] = []

    def pull(self: Buildah, run: object, image: str) -> bool:
        asked.append(image)
        return pullable

    monkeypatch.setattr(StorelessBuildah, "pull", pull)
    locked = a_lock(tmp_path, "slim", "distroless")
    plan, _ = planning.make_plan(Options(), Settings(bases_lock=locked))
    assert asked[0].endswith(("@sha256:1", "@sha256:2")), "the probe pulls the locked digest"
    assert plan.offline is offline
    said = capsys.readouterr().err
    assert ("no registry answers" in said) is offline
    if offline:
        assert said.count("\n") == 1, "one line"
        assert "MOSCOW_TIME_OFFLINE=0" in said


def test_offline_in_the_environment_is_one_zero_or_unset() -> None:
    assert Settings.read({"MOSCOW_TIME_OFFLINE": "1"}).offline is True
    assert Settings.read({"MOSCOW_TIME_OFFLINE": "0"}).offline is False
    assert Settings.read({}).offline is None


def test_only_the_record_module_opens_the_build_record() -> None:
    """Every reader goes through BuildRecord: no other module names the file."""
    root = Path(__file__).resolve().parents[2]
    owners = {root / "tools" / "images" / "record.py", root / "tools" / "paths.py"}
    readers = [
        path.relative_to(root)
        for path in [*root.glob("tools/**/*.py"), *root.glob("tests/**/*.py"), root / "noxfile.py"]
        if path not in owners
        and path != Path(__file__).resolve()
        and ("BUILD_RECORD" in path.read_text() or 'images.json")' in path.read_text())
    ]
    assert readers == []


def test_a_record_from_before_arm64_names_the_build_machines_platform() -> None:
    """As ab94275 wrote it, which `nox -s rebuild-published` reads back."""
    image = {"variant": "slim", "tags": ["moscow-time:slim"], "base": "b", "image_id": "sha256:1"}
    old = {
        "builder": "buildah",
        "builder_version": "buildah version 1.28.2",
        "reproducible": True,
        "source_date_epoch": 1795792390,
        "revision": "ab9427534b64e5580b72e1be39e63aa7ed7d9db7",
        "tree_clean": True,
        "offline": True,
        "arch": "x86_64",
        "images": [image],
    }
    found = BuildRecord.from_json(old)
    assert found.schema == 1
    assert [(b.platform, b.tag) for b in found.host_images] == [
        ("linux/amd64", "moscow-time:slim")
    ]
