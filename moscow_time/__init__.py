"""moscow-time: the current time in Moscow, served by Waitress."""

from moscow_time.app import create_app

__all__ = ["create_app"]
