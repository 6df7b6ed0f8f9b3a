"""Hypothesis profiles, shared by the whole test suite."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

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
