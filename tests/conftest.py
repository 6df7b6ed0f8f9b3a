"""What the whole test suite shares: Hypothesis profiles, and a clean project environment."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

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


@pytest.fixture
def local_time_not_utc() -> Iterator[None]:
    """The machine's local time is Moscow's, not UTC: a stamp or an age that should be UTC
    and is local shows. tzset() is undone after, so the zone leaks into no other test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "Europe/Moscow")
        time.tzset()
        try:
            yield
        finally:
            patch.undo()
            time.tzset()
