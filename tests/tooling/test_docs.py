"""The README's promises about its own commands hold."""

from __future__ import annotations

import re

from tools.paths import ROOT


def readme_commands() -> list[str]:
    """The commands of the README's first code block."""
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert block, "README has no sh code block"
    return [line for line in block[1].splitlines() if line and not line.startswith("#")]


def test_readme_opens_with_prerequisites_and_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    assert text.index("Prerequisites:") < text.index("```sh")
    assert "Python ≥ 3.11" in text
    assert "Docker or Podman" in text
    run, test = readme_commands()
    assert "nox -s build" in run
    assert "docker run" in run
    assert test.endswith("nox")


def test_ci_runs_the_readmes_test_command() -> None:
    _, test = readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test in ci
