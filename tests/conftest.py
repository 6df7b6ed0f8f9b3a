"""What the whole test suite shares: Hypothesis profiles, and a clean project environment."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tools.settings import PREFIX

# "dev" explores quickly; "ci" looks harder and never varies between runs, so
# a red CI run can be reproduced locally with HYPOTHESIS_PROFILE=ci.
settings.register_profile("dev", max_examples=100)
settings.register_profile(
    "ci",
    max_examples=1000,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _project_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MOSCOW_TIME_* variable reaches a test (CI sets two for the builds): a test that
    needs one sets it itself, as Flask's own conftest resets its environment."""
    for name in list(os.environ):
        if name.startswith(PREFIX):
            monkeypatch.delenv(name)
