"""tools.buildenv: no variable of the caller's shell, nor its umask, reaches a tool that
writes image bits.

The hostile environment sets what a user's shell may: Python's switches, a
locale, a time zone, a temporary directory, a home, an epoch of its own, and
Docker's and buildah's variables other than the two an engine needs. Each
image-writing entry point (stand-ins, build, reproduce) is run as far as its
first command, which prints its environment and umask as a child process.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tools import buildenv
from tools.builders.libpod import Buildah
from tools.images import pipeline, standins
from tools.images.context import Build
from tools.images.plan import BuildPlan, base_references
from tools.model import host_platform
from tools.paths import ROOT
from tools.process import capture, run_shown
from tools.rebuild import reproduce

HOSTILE = {
    "PYTHONDONTWRITEBYTECODE": "",
    "PYTHONOPTIMIZE": "2",
    "PYTHONHASHSEED": "7",
    "PYTHONPATH": "/nonexistent",
    "LANG": "fr_FR.UTF-8",
    "LC_ALL": "fr_FR.UTF-8",
    "LC_CTYPE": "tr_TR.UTF-8",
    "TZ": "Pacific/Kiritimati",
    "TMPDIR": "/nonexistent-tmp",
    "HOME": "/nonexistent-home",
    "SOURCE_DATE_EPOCH": "1234567890",
    "DOCKER_BUILDKIT": "0",
    "DOCKER_DEFAULT_PLATFORM": "linux/s390x",
    "BUILDAH_FORMAT": "docker",
    "BUILDAH_LAYERS": "false",
    "BUILDAH_ISOLATION": "chroot",
    "PATH": f"/nonexistent-bin:{os.environ['PATH']}",
}
#: What the caller may pass: where to reach things, and the project's own settings.
PASSED = {"https_proxy": "http://127.0.0.1:3128", "MOSCOW_TIME_OFFLINE": "1"}


class SeenError(Exception):
    """Raised by the first command's stand-in once it has looked."""


def child_view() -> dict[str, str]:
    """The environment and umask a child process sees, through the tooling's runners."""
    shown = capture("sh", "-c", "env; echo UMASK=$(umask)")
    return dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in (HOSTILE | PASSED).items():
        monkeypatch.setenv(name, value)
    mask = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(mask)


def a_build() -> Build:
    plan = BuildPlan(
        builder="buildah",
        platforms=(host_platform().name,),
        bases=base_references([host_platform()], offline=True, upstream={}),
        revision="0" * 40,
        epoch=0,
        offline=True,
    )
    return Build(plan, Buildah(), run=run_shown, say=lambda line: None)


def first_command(seen: list[dict[str, str]]) -> Callable[..., None]:
    def look(*args: object, **kwargs: object) -> None:
        seen.append(child_view())
        raise SeenError

    return look


#: Each entry point: the module and name of its first command, and how to call it.
ENTRY_POINTS: dict[str, tuple[ModuleType, str, Callable[[], object]]] = {
    "standins": (
        standins,
        "make_bases",
        lambda: pipeline.make_standins(a_build(), [host_platform()]),
    ),
    "build": (pipeline, "download_wheelhouse", lambda: pipeline.build_images(a_build())),
    "reproduce": (reproduce, "standins_twice", lambda: reproduce.reproduce(a_build())),
}


@pytest.mark.usefixtures("hostile")
@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_a_hostile_caller_environment_reaches_no_image_writing_command(
    entry: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    module, target, call = ENTRY_POINTS[entry]
    seen: list[dict[str, str]] = []
    monkeypatch.setattr(module, target, first_command(seen))
    monkeypatch.setattr(standins, "STANDIN_WORKDIR", tmp_path)
    with pytest.raises(SeenError):
        call()
    [child] = seen
    leaked = {name: child[name] for name in HOSTILE if child.get(name) == HOSTILE[name]}
    assert leaked == {}
    assert child["UMASK"] == "0022"
    assert child["PYTHONDONTWRITEBYTECODE"] == "1"
    assert child["LC_ALL"] == "C.UTF-8"
    assert child["TZ"] == "UTC"
    assert "SOURCE_DATE_EPOCH" not in child
    assert "TMPDIR" not in child
    assert child["HOME"] == buildenv.home()
    assert {name: child.get(name) for name in PASSED} == PASSED
    # ...and the caller gets its own back.
    assert os.environ["LANG"] == HOSTILE["LANG"]
    assert os.umask(0o077) == 0o077


@pytest.mark.usefixtures("hostile")
def test_both_runners_pass_the_declared_environment_whole(tmp_path: Path) -> None:
    with buildenv.entered() as declared:
        by_capture = child_view()
        run_shown("sh", "-c", f"env > {tmp_path / 'env'}", env={"SOURCE_DATE_EPOCH": "0"})
    by_runner = dict(line.split("=", 1) for line in (tmp_path / "env").read_text().splitlines())
    assert by_capture.pop("UMASK") == "0022"
    shell = {"PWD", "SHLVL", "_"}  # what sh itself sets
    assert {k: v for k, v in by_capture.items() if k not in shell} == declared
    assert {k: v for k, v in by_runner.items() if k not in shell} == declared | {
        "SOURCE_DATE_EPOCH": "0"
    }


IMAGE_WRITING = [
    *sorted((ROOT / "tools" / "images").glob("*.py")),
    *sorted((ROOT / "tools" / "builders").glob("*.py")),
    *sorted((ROOT / "tools" / "inputs").glob("*.py")),
    ROOT / "tools" / "process.py",
]


@pytest.mark.parametrize("path", IMAGE_WRITING, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_child_is_started_with_the_c_level_environment(path: Path) -> None:
    """`subprocess.run(...)` without `env=` inherits the C-level environment, which a library
    may have changed beside `os.environ` (pytest's run sets LINES and COLUMNS so)."""
    started = [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "subprocess"
        and not any(keyword.arg == "env" for keyword in node.keywords)
    ]
    assert started == []


def test_a_leaked_variable_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The allowlist is what stops a leak: pass one more name and the check above fails."""
    monkeypatch.setattr(buildenv, "PASSED", (*buildenv.PASSED, "PYTHONDONTWRITEBYTECODE"))
    monkeypatch.setattr(
        buildenv,
        "FIXED",
        {k: v for k, v in buildenv.FIXED.items() if k != "PYTHONDONTWRITEBYTECODE"},
    )
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "")
    with buildenv.entered():
        assert child_view()["PYTHONDONTWRITEBYTECODE"] == ""


def test_the_declared_environment_does_not_depend_on_the_caller() -> None:
    quiet = buildenv.declared({"PATH": "/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert buildenv.declared(HOSTILE) == quiet
    assert buildenv.declared({}) == quiet
