"""Moscow wall-clock time for a given instant.

Pure functions only: the caller supplies the instant, so everything here can be
tested against any moment in history without touching the real clock.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import tzdata

ZONE_NAME = "Europe/Moscow"

#: Version of the IANA database the zone rules come from.
TZDB_VERSION: str = tzdata.IANA_VERSION


def _load_zone(name: str) -> ZoneInfo:
    # Read the rules from the hash-pinned tzdata wheel rather than the OS's
    # /usr/share/zoneinfo, so every image and every laptop agree on them.
    with resources.files("tzdata.zoneinfo").joinpath(*name.split("/")).open("rb") as f:
        return ZoneInfo.from_file(f, key=name)


MOSCOW = _load_zone(ZONE_NAME)


def format_utc_offset(offset: timedelta) -> str:
    """Format an offset as ``+HH:MM``, or ``+HH:MM:SS`` when it has seconds.

    Moscow's offsets before 1930 were not whole minutes (``+02:30:17``).
    """
    sign = "-" if offset < timedelta(0) else "+"
    seconds = abs(int(offset.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{sign}{hours:02d}:{minutes:02d}"
    return f"{text}:{seconds:02d}" if seconds else text


@dataclasses.dataclass(frozen=True, slots=True)
class MoscowTime:
    """One instant, seen on a Moscow wall clock."""

    local: datetime
    offset: timedelta

    @property
    def iso(self) -> str:
        """ISO 8601 with the offset; parses back to the same instant."""
        return self.local.isoformat()

    @property
    def epoch(self) -> float:
        """Seconds since the Unix epoch."""
        return self.local.timestamp()

    @property
    def offset_seconds(self) -> int:
        return int(self.offset.total_seconds())

    @property
    def utc_offset(self) -> str:
        return format_utc_offset(self.offset)

    @property
    def abbreviation(self) -> str:
        return self.local.tzname() or ""

    @property
    def time_text(self) -> str:
        """Wall-clock time such as ``14:05:09``."""
        return f"{self.local:%H:%M:%S}"

    @property
    def date_text(self) -> str:
        """Date such as ``Friday, 27 November 2026``."""
        # strftime's %A and %B follow the C locale here, because nothing in
        # the app calls setlocale(); that keeps the names English everywhere.
        return f"{self.local:%A}, {self.local.day} {self.local:%B} {self.local.year}"

    @property
    def label(self) -> str:
        """Zone label such as ``Moscow (MSK, UTC+03:00)``."""
        return f"Moscow ({self.abbreviation}, UTC{self.utc_offset})"

    def as_dict(self) -> dict[str, str | float | int]:
        """The JSON shape served at ``/api/time``."""
        return {
            "zone": ZONE_NAME,
            "iso": self.iso,
            "epoch": self.epoch,
            "utc_offset": self.utc_offset,
            "offset_seconds": self.offset_seconds,
            "abbreviation": self.abbreviation,
            "tzdb_version": TZDB_VERSION,
        }


def moscow_time(instant: datetime) -> MoscowTime:
    """Return ``instant`` as Moscow wall-clock time.

    Raises ValueError for a naive datetime: without an offset it names no
    instant, and guessing one is how clocks end up hours wrong.
    """
    if instant.utcoffset() is None:
        raise ValueError(
            f"moscow_time() needs an aware datetime (with tzinfo), got naive {instant!r}"
        )
    local = instant.astimezone(MOSCOW)
    offset = local.utcoffset()
    if offset is None:  # pragma: no cover - a ZoneInfo always has an offset
        raise ValueError(f"{ZONE_NAME} has no UTC offset for {instant!r}")
    return MoscowTime(local, offset)
