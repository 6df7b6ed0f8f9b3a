"""The Flask tutorial's fixtures: an app whose clock is pinned, and its test client."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from moscow_time import create_app


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
