"""Static checks of the Dockerfiles and the build context."""

from __future__ import annotations

import json
import re

import pytest

from tools.paths import ROOT

DOCKERFILES = ["Dockerfile", "Dockerfile.distroless"]
STAGES = ["runtime-python", "builder", "app", "stdlib-modules", "stdlib-bytecode", "runtime"]


def instructions(name: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / name).read_text())
    pairs = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


def stage(name: str, stage_name: str) -> list[tuple[str, str]]:
    """The instructions of one build stage, FROM line excluded."""
    pairs = instructions(name)
    starts = [i for i, (keyword, _) in enumerate(pairs) if keyword == "FROM"]
    for begin, end in zip(starts, [*starts[1:], len(pairs)], strict=True):
        if pairs[begin][1].endswith(f" AS {stage_name}"):
            return pairs[begin + 1 : end]
    raise AssertionError(f"{name} has no {stage_name} stage")


def test_the_two_dockerfiles_are_siblings() -> None:
    for name in DOCKERFILES:
        froms = [rest for keyword, rest in instructions(name) if keyword == "FROM"]
        assert [f.split(" AS ")[1] for f in froms] == STAGES
    for shared in STAGES[:-1]:
        assert stage(DOCKERFILES[0], shared) == stage(DOCKERFILES[1], shared)


@pytest.mark.parametrize("name", DOCKERFILES)
def test_an_app_change_rebuilds_one_app_stage_and_one_runtime_layer(name: str) -> None:
    """The app stage knows no variant and no platform, so every image reuses one build
    of it; in the runtime stage the app is the last step, with nothing after it that a
    build changes (the labels naming a build are set on the finished image)."""
    app = stage(name, "app")
    assert [k for k, _ in app] == ["ARG", "ARG", "COPY", "RUN"]
    assert all("WHEEL" not in rest and "PLATFORM" not in rest for _, rest in app)
    froms = [rest for keyword, rest in instructions(name) if keyword == "FROM"]
    assert froms[2] == "--platform=${BUILDER_PLATFORM} ${BUILDER_IMAGE} AS app"
    runtime = stage(name, "runtime")
    assert runtime[-1] == ("COPY", "--from=app /opt/moscow-time/app/ /opt/moscow-time/app/")
    assert not any(keyword in {"ARG", "LABEL"} for keyword, _ in runtime[-3:])


@pytest.mark.parametrize("name", DOCKERFILES)
def test_entrypoint_and_healthcheck_are_exec_form(name: str) -> None:
    found = dict(instructions(name))
    entrypoint = json.loads(found["ENTRYPOINT"])
    assert entrypoint[1:] == ["-m", "moscow_time"]
    healthcheck = json.loads(found["HEALTHCHECK"].split(" CMD ", 1)[1])
    assert healthcheck[1:] == ["-m", "moscow_time.healthcheck"]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dependencies_are_installed_before_the_source_is_copied(name: str) -> None:
    lines = [rest for _, rest in instructions(name)]
    install = next(i for i, rest in enumerate(lines) if "install_locked.sh" in rest)
    source = next(i for i, rest in enumerate(lines) if rest.startswith("moscow_time/"))
    assert install < source


@pytest.mark.parametrize("name", DOCKERFILES)
def test_both_stages_check_the_python_version(name: str) -> None:
    checks = [
        json.loads(rest)
        for keyword, rest in instructions(name)
        if keyword == "RUN" and "check_python.py" in rest
    ]
    assert [check[-1] for check in checks] == ["runtime", "builder"]


@pytest.mark.parametrize("name", DOCKERFILES)
def test_only_the_runtime_python_stage_runs_the_images_python(name: str) -> None:
    """Under emulation every step on the image's platform is slow: the runtime stage
    runs no Python, and the bytecode of the base's library is compiled by the builder."""
    runtime = stage(name, "runtime")
    runs_python = re.compile(r'(^\["|^|\s)python3?(\.\d+)?["\s]')
    assert [
        rest for keyword, rest in runtime if keyword == "RUN" and runs_python.search(rest)
    ] == []
    assert ("COPY", "--from=stdlib-bytecode /opt/moscow-time/stdlib-bytecode/ /") in runtime
    froms = [rest for keyword, rest in instructions(name) if keyword == "FROM"]
    assert froms[0].startswith("--platform=${IMAGE_PLATFORM} ")
    assert froms[1].startswith("--platform=${BUILDER_PLATFORM} ")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_no_step_is_a_long_one_line_program(name: str) -> None:
    programs = [rest for keyword, rest in instructions(name) if '"-c"' in rest]
    assert programs == [], "a script in image/ is easier to read and to test"


@pytest.mark.parametrize(
    ("name", "uid"), [("Dockerfile", "10001"), ("Dockerfile.distroless", "65532")]
)
def test_the_apps_uid_is_a_build_arg(name: str, uid: str) -> None:
    found = instructions(name)
    assert ("ARG", f"APP_UID={uid}") in found
    assert ("USER", "${APP_UID}:${APP_UID}") in found


def test_the_install_script_takes_only_hash_checked_wheels_from_the_wheelhouse() -> None:
    script = (ROOT / "image" / "install_locked.sh").read_text()
    for option in ("--no-index", "--require-hashes", "--no-deps", "--only-binary :all:"):
        assert option in script


def test_build_context_holds_only_what_the_images_need() -> None:
    patterns = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    included = {p.removeprefix("!") for p in patterns if p.startswith("!")}
    assert included == {
        "moscow_time/",
        "image/",
        "requirements.txt",
        "requirements-build.txt",
        "build/wheelhouse/",
    }
