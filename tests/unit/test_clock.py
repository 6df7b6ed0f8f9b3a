"""Property tests for the pure time logic in moscow_time.clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from moscow_time.clock import ZONE_NAME, _load_zone, format_utc_offset, moscow_time

# Strategies
EARLIEST = datetime(1900, 1, 1)
LATEST = datetime(2100, 12, 31, 23, 59, 59, 999999)
#: Moscow has kept +03:00 since this instant (02:00 MSK, 26 October 2014) ...
MSK_PLUS_3_SINCE = datetime(2014, 10, 25, 22, 0, tzinfo=UTC)
#: ... and kept +04:00 all year from this one (03:00 MSK, 27 March 2011).
MSK_PLUS_4_SINCE = datetime(2011, 3, 26, 23, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def utc_instants(
    min_value: datetime = EARLIEST, max_value: datetime = LATEST
) -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=min_value.replace(tzinfo=None),
        max_value=max_value.replace(tzinfo=None),
        timezones=st.just(UTC),
    )


#: Aware instants in every zone the machine knows, 1900 to 2100.
AWARE_INSTANTS = st.datetimes(min_value=EARLIEST, max_value=LATEST, timezones=st.timezones())


@given(instant=AWARE_INSTANTS)
def test_wall_time_minus_utc_is_the_offset_the_tz_database_gives(instant: datetime) -> None:
    t = moscow_time(instant)
    wall = t.local.replace(tzinfo=None)
    utc = instant.astimezone(UTC).replace(tzinfo=None)
    # An independent lookup: the stdlib's own ZoneInfo, not the app's loader.
    assert wall - utc == ZoneInfo(ZONE_NAME).utcoffset(instant.astimezone(ZoneInfo(ZONE_NAME)))
    assert wall - utc == t.offset


@given(instant=utc_instants(min_value=MSK_PLUS_3_SINCE))
@example(instant=MSK_PLUS_3_SINCE)
@example(instant=MSK_PLUS_3_SINCE + SECOND)
def test_offset_is_plus_three_hours_from_october_2014_on(instant: datetime) -> None:
    t = moscow_time(instant)
    assert t.utc_offset == "+03:00"
    assert t.abbreviation == "MSK"


@given(instant=utc_instants(min_value=MSK_PLUS_4_SINCE, max_value=MSK_PLUS_3_SINCE - SECOND))
@example(instant=MSK_PLUS_4_SINCE)
@example(instant=MSK_PLUS_4_SINCE + SECOND)
@example(instant=MSK_PLUS_3_SINCE - SECOND)
def test_offset_was_plus_four_hours_from_march_2011_until_october_2014(instant: datetime) -> None:
    assert moscow_time(instant).utc_offset == "+04:00"


@pytest.mark.parametrize(
    ("instant", "wall_clock", "utc_offset"),
    [
        (MSK_PLUS_4_SINCE - SECOND, "01:59:59", "+03:00"),  # last second of winter time
        (MSK_PLUS_4_SINCE, "03:00:00", "+04:00"),  # clocks sprang forward for good
        (MSK_PLUS_3_SINCE - SECOND, "01:59:59", "+04:00"),  # last second of +04:00
        (MSK_PLUS_3_SINCE, "01:00:00", "+03:00"),  # clocks fell back to +03:00
    ],
)
def test_clocks_change_exactly_at_the_transitions(
    instant: datetime, wall_clock: str, utc_offset: str
) -> None:
    t = moscow_time(instant)
    assert (t.time_text, t.utc_offset) == (wall_clock, utc_offset)


@given(instant=AWARE_INSTANTS)
@example(instant=datetime(1900, 1, 1, tzinfo=UTC))  # +02:30:17, Moscow Mean Time
@example(instant=datetime(1919, 1, 1, tzinfo=UTC))  # +03:31:19, Moscow Summer Time
def test_iso_string_round_trips_to_the_same_instant(instant: datetime) -> None:
    t = moscow_time(instant)
    parsed = datetime.fromisoformat(t.iso)
    # Compare in UTC: by PEP 495, a time in a zone's repeated (ambiguous) hour
    # never equals a time in another zone, even for the same instant.
    assert parsed == instant.astimezone(UTC)
    assert parsed.utcoffset() == t.offset


@given(instant=AWARE_INSTANTS)
def test_epoch_round_trips_to_the_same_instant(instant: datetime) -> None:
    assert datetime.fromtimestamp(moscow_time(instant).epoch, UTC) == instant.astimezone(UTC)


@given(instant=AWARE_INSTANTS)
@example(instant=datetime(1900, 1, 1, tzinfo=UTC))
@example(instant=datetime(1919, 1, 1, tzinfo=UTC))
def test_human_readable_text_agrees_with_the_iso_fields(instant: datetime) -> None:
    t = moscow_time(instant)
    iso = datetime.fromisoformat(t.iso)
    assert t.time_text == f"{iso.hour:02d}:{iso.minute:02d}:{iso.second:02d}"
    assert datetime.strptime(t.date_text, "%A, %d %B %Y").date() == iso.date()
    assert t.iso.endswith(t.utc_offset)
    assert t.label == f"Moscow ({t.abbreviation}, UTC{t.utc_offset})"


@pytest.mark.parametrize(
    ("instant", "utc_offset", "abbreviation"),
    [
        (datetime(1900, 1, 1, tzinfo=UTC), "+02:30:17", "MMT"),  # Moscow Mean Time
        (datetime(1919, 1, 1, tzinfo=UTC), "+03:31:19", "MST"),  # Moscow Summer Time
        (datetime(1919, 6, 1, tzinfo=UTC), "+04:31:19", "MDST"),  # and its double summer time
        (datetime(1991, 7, 1, tzinfo=UTC), "+03:00", "EEST"),  # between the USSR and Russia
    ],
)
def test_historical_offsets_keep_their_seconds(
    instant: datetime, utc_offset: str, abbreviation: str
) -> None:
    t = moscow_time(instant)
    assert (t.utc_offset, t.abbreviation) == (utc_offset, abbreviation)
    assert t.label == f"Moscow ({abbreviation}, UTC{utc_offset})"


@given(
    offset=st.timedeltas(
        min_value=timedelta(hours=-23, minutes=-59, seconds=-59),
        max_value=timedelta(hours=23, minutes=59, seconds=59),
    )
)
def test_formatted_offset_parses_back_to_the_same_offset(offset: timedelta) -> None:
    offset = timedelta(seconds=int(offset.total_seconds()))  # UTC offsets are whole seconds
    parsed = datetime.strptime(format_utc_offset(offset), "%z").utcoffset()
    assert parsed == offset


@given(instant=AWARE_INSTANTS)
def test_result_does_not_depend_on_the_zone_the_instant_came_in(instant: datetime) -> None:
    assert moscow_time(instant) == moscow_time(instant.astimezone(UTC))


@given(naive=st.datetimes(min_value=EARLIEST, max_value=LATEST))
def test_naive_datetimes_are_rejected_with_a_clear_error(naive: datetime) -> None:
    with pytest.raises(ValueError, match="needs an aware datetime"):
        moscow_time(naive)


def test_the_zone_is_read_from_the_pinned_tzdata_package() -> None:
    zone = _load_zone(ZONE_NAME)
    assert zone.key == ZONE_NAME
    assert datetime(2026, 1, 1, tzinfo=zone).utcoffset() == timedelta(hours=3)


def test_a_zero_offset_is_written_with_a_plus() -> None:
    assert format_utc_offset(timedelta(0)) == "+00:00"
