"""Instants from Swedish wall-clock values, and where the suite's clock stands."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from shared.core import clock
from tests.factories import SUITE_NOW


def test_at_reads_a_swedish_wall_clock_in_winter_and_in_summer():
    assert clock.at("2026-01-15 12:00") == datetime(2026, 1, 15, 11, 0, tzinfo=UTC)
    assert clock.at("2026-03-31 12:00") == datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    assert clock.at("2026-03-31T23:30:15").astimezone(UTC).isoformat() == (
        "2026-03-31T21:30:15+00:00"
    )
    assert clock.at("2026-03-31 12:00").tzinfo is clock.STOCKHOLM


@pytest.mark.parametrize("value", ["2026-03-31", "2026-03-31 12:00+00:00", "31/3 2026", ""])
def test_at_wants_a_date_and_a_time_without_a_zone(value):
    with pytest.raises(ValueError):
        clock.at(value)


def test_on_is_noon_of_the_swedish_day_unless_told():
    assert clock.on(date(2026, 3, 31)) == clock.at("2026-03-31 12:00")
    assert clock.on(date(2026, 12, 1), time(0, 30)) == datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    with clock.frozen(clock.on(date(2026, 3, 31), time(0, 15))):
        assert clock.today() == date(2026, 3, 31)


def test_the_suite_stands_where_utc_and_sweden_are_on_different_days():
    """The autouse fixture freezes the business clock at ``SUITE_NOW``: a test that takes
    the UTC date for the Swedish one is a day (and a month) wrong on every run."""
    assert clock.now() == SUITE_NOW
    assert clock.today() == date(2026, 12, 1)
    assert clock.now().astimezone(UTC).date() == date(2026, 11, 30)


def test_replacing_the_date_of_now_is_not_a_swedish_day():
    """Defect 12 as it was written: replacing the date of ``now()`` keeps its UTC hour,
    which at the suite's instant (23:30 UTC) is already the next day in Sweden."""
    utc = SUITE_NOW.astimezone(UTC)
    as_written = datetime(2026, 3, 31, utc.hour, utc.minute, tzinfo=UTC)
    assert as_written.astimezone(clock.STOCKHOLM).date() == date(2026, 4, 1)
    with clock.frozen(clock.at("2026-03-31 12:00")):
        assert clock.today() == date(2026, 3, 31)


@pytest.mark.live_clock
def test_a_live_clock_test_sees_the_running_clock():
    assert clock.now() != SUITE_NOW
    assert abs(clock.now() - clock.wall_now()).total_seconds() < 60
