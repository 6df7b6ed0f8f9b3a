"""tools.images.identity and the reuse it allows: an image is defined by its inputs."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from tools.builders import BuildRequest
from tools.builders.libpod import Buildah
from tools.images import appimages, identity
from tools.images.context import Build
from tools.images.plan import BuildPlan, base_references
from tools.images.record import BuildRecord, Built
from tools.inputs import wheelhouse
from tools.model import PLATFORMS, VARIANTS, host_platform
from tools.paths import ROOT
from tools.process import Runner

HOST = host_platform()
PLAN = BuildPlan(
    builder="buildah",
    platforms=(HOST.name,),
    bases=base_references([HOST], offline=True, upstream={}),
    revision="4cfa9e21bda4ddd376a97241492187aa4f09e3e3",
    epoch=identity.IMAGE_EPOCH,
    offline=True,
)


def write(path: Path, text: str, *, executable: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755 if executable else 0o644)
    return path


def test_a_files_digest_moves_with_content_path_and_executable_bit(tmp_path: Path) -> None:
    app = write(tmp_path / "moscow_time" / "app.py", "print(1)\n")
    before = identity.files_digest([app], tmp_path)
    assert identity.files_digest([app], tmp_path) == before
    write(app, "print(2)\n")
    assert identity.files_digest([app], tmp_path) != before
    write(app, "print(1)\n", executable=True)
    assert identity.files_digest([app], tmp_path) != before
    write(app, "print(1)\n")
    moved = write(tmp_path / "moscow_time" / "clock.py", "print(1)\n")
    app.unlink()
    assert identity.files_digest([moved], tmp_path) != before


def test_the_inputs_of_a_request_leave_out_its_tags_and_the_cache() -> None:
    request = appimages.build_request(PLAN, VARIANTS["slim"], HOST)
    other = BuildRequest(
        containerfile=request.containerfile,
        context=request.context,
        tags=["elsewhere:latest"],
        timestamp=request.timestamp,
        build_args=request.build_args,
        labels=request.labels,
        no_cache=True,
        platform=request.platform,
    )
    assert identity.request_inputs(other) == identity.request_inputs(request)
    moved = BuildRequest(**{**other.__dict__, "labels": {"revision": "another commit"}})
    assert identity.request_inputs(moved) != identity.request_inputs(request)


def test_every_path_the_build_context_admits_is_an_image_input() -> None:
    admitted = [
        line.removeprefix("!").rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.startswith("!")
    ]
    assert admitted
    downloaded = "build/wheelhouse"  # not in the checkout: inputs_digest hashes it apart
    for path in admitted:
        assert path == downloaded or any(
            path == each or path.startswith(each + "/") for each in identity.IMAGE_INPUTS
        ), path


def test_every_copy_source_in_the_containerfiles_is_an_image_input() -> None:
    for name in ("Dockerfile", "Dockerfile.distroless"):
        text = (ROOT / name).read_text()
        for sources in re.findall(r"^COPY (?!--from)(.+) \S+$", text, flags=re.MULTILINE):
            for each in sources.split():
                if each.startswith("${"):
                    continue  # the wheelhouse, hashed apart
                top = each.rstrip("/").split("/")[0]
                assert any(top == i.split("/")[0] for i in identity.IMAGE_INPUTS), each


def test_docs_and_tests_are_no_image_input() -> None:
    files = identity.input_files(identity.IMAGE_INPUTS)
    assert ROOT / "moscow_time" / "app.py" in files
    assert ROOT / "Dockerfile" in files
    assert not [f for f in files if f.relative_to(ROOT).parts[0] in {"docs", "tests"}]
    assert ROOT / "README.md" not in files


class Counting(Buildah):
    """buildah, as far as the build's reuse asks: a store that holds one image."""

    def __init__(self, held: str) -> None:
        self.held = held
        self.built: list[BuildRequest] = []
        self.tagged: list[tuple[str, Sequence[str]]] = []

    def version(self) -> str:
        return "buildah version 1.28.2"

    def image_id(self, image: str) -> str | None:
        return self.held if image == self.held else None

    def build(self, run: Runner, request: BuildRequest) -> str:
        self.built.append(request)
        return "sha256:" + "b" * 64

    def tag(self, run: Runner, image_id: str, names: Sequence[str]) -> None:
        self.tagged.append((image_id, names))


def record_of(*built: Built) -> BuildRecord:
    return BuildRecord(PLAN, "buildah version 1.28.2", True, True, HOST.machine, tuple(built))


@pytest.fixture
def wheels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The host's wheelhouse, in a checkout of its own (the real one is left alone)."""
    directory = tmp_path / "build" / "wheelhouse" / HOST.debian
    write(directory / "flask-3.1.3-py3-none-any.whl", "a wheel")
    monkeypatch.setattr(appimages, "ROOT", tmp_path)
    monkeypatch.setattr(type(HOST), "wheelhouse", property(lambda self: directory))
    return directory


def test_an_image_made_from_the_same_inputs_is_reused_not_built(wheels: Path) -> None:
    held = "sha256:" + "a" * 64
    builder = Counting(held)
    build = Build(PLAN, builder, run=lambda *args, **kwargs: None, say=lambda line: None)
    bases = {ref: f"sha256:{ref}" for refs in PLAN.bases.values() for ref in refs.values()}
    first = appimages.build_variant(build, VARIANTS["slim"], HOST, bases, load=False)
    assert len(builder.built) == 1
    assert first.inputs.startswith("sha256:")

    earlier = Built(first.variant, first.platform, first.tags, first.base, held, first.inputs)
    again = appimages.build_variant(
        build, VARIANTS["slim"], HOST, bases, load=False, previous=record_of(earlier)
    )
    assert again.image_id == held
    assert len(builder.built) == 1
    assert builder.tagged == [(held, first.tags)]

    # Another base, another wheel: built again.
    other = {**bases, PLAN.base(HOST, "slim"): "sha256:another"}
    appimages.build_variant(
        build, VARIANTS["slim"], HOST, other, load=False, previous=record_of(earlier)
    )
    write(wheels / "flask-3.1.3-py3-none-any.whl", "another wheel")
    appimages.build_variant(
        build, VARIANTS["slim"], HOST, bases, load=False, previous=record_of(earlier)
    )
    assert len(builder.built) == 3


def test_an_image_the_store_lost_is_built_again(wheels: Path) -> None:
    builder = Counting(held="sha256:" + "0" * 64)
    build = Build(PLAN, builder, run=lambda *args, **kwargs: None, say=lambda line: None)
    first = appimages.build_variant(build, VARIANTS["slim"], HOST, {}, load=False)
    appimages.build_variant(
        build, VARIANTS["slim"], HOST, {}, load=False, previous=record_of(first)
    )
    assert len(builder.built) == 2


def test_a_wheelhouse_holds_the_locks_only_with_one_fitting_file_per_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def sha(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    allowed = {sha("flask"): "flask", sha("markupsafe"): "markupsafe", sha("pip"): "pip"}
    monkeypatch.setattr(wheelhouse, "locked_wheels", lambda *locks: allowed)
    directory = tmp_path / "amd64"
    write(directory / "flask-3.1.3-py3-none-any.whl", "flask")
    write(directory / "pip-26.3-py3-none-any.whl", "pip")
    assert not wheelhouse.holds_the_locks(directory, "x86_64")  # markupsafe missing
    write(directory / "markupsafe-3.0.4-cp313-cp313-manylinux_2_17_x86_64.whl", "markupsafe")
    assert wheelhouse.holds_the_locks(directory, "x86_64")
    assert not wheelhouse.holds_the_locks(directory, "aarch64")  # an x86_64 wheel
    write(directory / "stray.whl", "not locked")
    assert not wheelhouse.holds_the_locks(directory, "x86_64")
    os.remove(directory / "stray.whl")
    write(directory / "pip-26.3-py3-none-any.whl", "tampered")
    assert not wheelhouse.holds_the_locks(directory, "x86_64")
    assert not wheelhouse.holds_the_locks(tmp_path / "absent", "x86_64")


def test_the_locks_allow_each_hash_of_each_pin() -> None:
    allowed = wheelhouse.locked_wheels(ROOT / "requirements.txt", ROOT / "requirements-build.txt")
    assert {"flask", "markupsafe", "pip", "waitress"} <= set(allowed.values())
    assert all(re.fullmatch(r"[0-9a-f]{64}", digest) for digest in allowed)
    assert PLATFORMS  # every platform's wheelhouse is checked against the same locks


def test_uncommitted_inputs_are_named_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    # `git status --porcelain` output, stripped, once cost the first path its first letter.
    answers = {"diff": "moscow_time/app.py\nDockerfile", "ls-files": "image/new.py"}
    monkeypatch.setattr(identity, "git", lambda *args, **_: answers[args[0]])
    assert identity.inputs_changed_since_commit() == [
        "Dockerfile",
        "image/new.py",
        "moscow_time/app.py",
    ]
