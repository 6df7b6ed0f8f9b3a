"""The README is a front door: two commands that work, and links that lead somewhere."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.paths import ROOT

README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))


def readme_commands() -> list[str]:
    """The commands of the README's first code block."""
    block = re.search(r"```sh\n(.*?)```", README.read_text(), re.DOTALL)
    assert block, "README has no sh code block"
    return [line for line in block[1].splitlines() if line and not line.startswith("#")]


def sessions() -> set[str]:
    """Every session `nox -l` lists, default or not."""
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "--list", "--noxfile", str(ROOT / "noxfile.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(re.findall(r"^[*-] ([a-z-]+)", listed.stdout, re.MULTILINE))


def test_the_readme_opens_with_two_commands_within_its_first_15_lines() -> None:
    lines = README.read_text().splitlines()
    serve, test = readme_commands()
    assert lines.index(serve) < 15
    assert len(lines) <= 110, "about 100 lines: the rest belongs in docs/"
    assert serve.startswith("bin/setup --for serve && .venv/bin/nox -s ")
    assert test.startswith("bin/setup && ")
    assert test.endswith(".venv/bin/nox")


def test_the_sessions_the_readme_names_exist() -> None:
    named = set(re.findall(r"nox -s ([a-z-]+)", README.read_text()))
    assert named, "the README names its serving session"
    assert named <= sessions()


def test_bin_setup_takes_the_options_the_readme_gives_it() -> None:
    shown = subprocess.run(
        [str(ROOT / "bin" / "setup"), "--help"], capture_output=True, text=True, check=True
    )
    for option in re.findall(r"bin/setup (--for \w+)", README.read_text()):
        assert option in shown.stdout


def test_ci_runs_the_readmes_test_command() -> None:
    _, test = readme_commands()
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


@pytest.mark.parametrize("page", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_leads_to_a_file(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
