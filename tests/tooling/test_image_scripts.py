"""The scripts the image builds run (image/), run here against this interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tools.project import ROOT

CHECK_PYTHON = ROOT / "image" / "check_python.py"
THIS_PYTHON = "%d.%d" % sys.version_info[:2]  # noqa: UP031 -- the version's own format


def check_python(stage: str, wanted: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK_PYTHON), stage],
        env={**os.environ, "PYTHON_VERSION": wanted},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_python_check_passes_for_the_python_it_runs() -> None:
    result = check_python("builder", THIS_PYTHON)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("stage", ["builder", "runtime"])
def test_the_python_check_stops_a_wrong_base_and_names_the_stage(stage: str) -> None:
    result = check_python(stage, "2.7")
    assert result.returncode == 1
    assert result.stderr.strip() == f"{stage} runs Python {THIS_PYTHON}, the wheels are for 2.7"
