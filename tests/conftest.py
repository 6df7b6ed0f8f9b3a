"""Fixtures and Hypothesis profiles shared by the whole test suite."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings

from moscow_time import create_app

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


@pytest.fixture
def instant() -> datetime:
    """The instant the app's clock is pinned to: 14:05:09.25 in Moscow."""
    return datetime(2026, 11, 27, 11, 5, 9, 250000, tzinfo=UTC)


@pytest.fixture
def app(instant: datetime) -> Flask:
    """An app whose clock always reads ``instant``."""
    return create_app({"TESTING": True, "CLOCK": lambda: instant})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()
