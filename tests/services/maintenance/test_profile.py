"""The hour-of-week profile and window ranking on synthetic activity (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from starling.services.maintenance import sketch
from starling.services.maintenance.profile import (
    HourActivity,
    Person,
    build_profile,
    evaluate_window,
    minute_label,
    next_start,
    rank_windows,
    slot_of,
)

# A Monday at midnight UTC; the profile ends here and covers the two weeks before.
END = datetime(2026, 11, 30, tzinfo=UTC)
PEOPLE = {sketch.account_hash(i): Person(locale="de" if i < 30 else "en", time_zone="Europe/Berlin" if i < 10 else None)
          for i in range(60)}


def hours(
    pattern: dict[int, tuple[int, int]], weeks: int = 2, default: tuple[int, int] = (40, 100)
) -> list[HourActivity]:
    """Activity for every hour of ``weeks`` weeks before END: (active accounts, requests) per slot."""
    out = []
    at = END - timedelta(weeks=weeks)
    while at < END:
        active, requests = pattern.get(slot_of(at), default)
        sample = sketch.merge(sketch.account_hash(i) for i in range(active))
        out.append(HourActivity(at, requests=requests, sample=sample))
        at += timedelta(hours=1)
    return out


# Tuesday 03:00 and 04:00 UTC are empty of people; 03:00 still has 5 requests, 04:00 one.
QUIET = {24 + 3: (0, 5), 24 + 4: (0, 1)}


def test_profile_means_per_hour_of_week() -> None:
    profile = build_profile(hours(QUIET), end=END, weeks=2, people=PEOPLE)
    assert profile.observed_slots == 168
    monday_noon = profile.slots[12]
    assert monday_noon is not None
    assert monday_noon.weeks == 2 and monday_noon.active == 40 and monday_noon.requests == 100
    assert monday_noon.by_locale == {"de": 30.0, "en": 10.0}
    assert profile.slots[24 + 3].active == 0  # type: ignore[union-attr]
    assert profile.requests_total == 2 * (166 * 100 + 5 + 1)


def test_best_window_is_the_quiet_one_and_ties_go_to_fewer_requests() -> None:
    profile = build_profile(hours(QUIET), end=END, weeks=2, people=PEOPLE)
    windows = rank_windows(profile, duration=90, step=30, top=3)
    best = windows[0]
    # 03:00-04:30 and 03:30-05:00 both miss everyone; the second sees 0.5*5 + 1 = 3.5 requests, the first 5.5.
    assert minute_label(best.start_minute) == "Tue 03:30"
    assert minute_label(best.end_minute) == "Tue 05:00"
    assert best.affected == 0.0
    assert best.requests == pytest.approx(3.5)
    assert best.weeks == 2
    # The next windows do not overlap the best one and all reach somebody.
    for other in windows[1:]:
        assert other.affected > 0
        assert not (best.start_minute <= other.start_minute < best.start_minute + 90)


def test_partly_covered_hours_count_in_proportion() -> None:
    profile = build_profile(hours(QUIET), end=END, weeks=2, people=PEOPLE)
    # Tue 02:30-04:00 covers half of 02:00 (40 people) and the empty 03:00.
    window = evaluate_window(profile, (24 + 2) * 60 + 30, 90)
    assert window is not None
    assert window.affected == pytest.approx(20.0)
    assert window.requests == pytest.approx(50 + 5)
    assert window.by_locale == pytest.approx({"de": 15.0, "en": 5.0})
    assert window.by_time_zone == pytest.approx({"Europe/Berlin": 5.0, "unknown": 15.0})


def test_the_same_people_in_two_hours_count_once() -> None:
    profile = build_profile(hours({}), end=END, weeks=2, people=PEOPLE)
    two_hours = evaluate_window(profile, 10 * 60, 120)
    assert two_hours is not None
    assert two_hours.affected == pytest.approx(40.0)
    assert two_hours.requests == pytest.approx(200.0)


def test_windows_may_cross_the_end_of_the_week() -> None:
    pattern = {167: (0, 0), 0: (0, 0)}
    profile = build_profile(hours(pattern, weeks=3), end=END + timedelta(hours=2), weeks=3, people=PEOPLE)
    best = rank_windows(profile, duration=120, step=60, top=1)[0]
    assert minute_label(best.start_minute) == "Sun 23:00"
    assert minute_label(best.end_minute) == "Mon 01:00"
    assert best.affected == 0.0


def test_only_observed_time_is_used() -> None:
    # Three days of data: a server that is new. Slots never observed have no value and no windows.
    recent = [h for h in hours({}) if h.hour_start >= END - timedelta(days=3)]
    profile = build_profile(recent, end=END, weeks=4, people=PEOPLE)
    assert profile.observed_from == END - timedelta(days=3)
    assert profile.observed_slots == 72
    assert profile.slots[0] is None  # Monday: not yet seen
    assert profile.slots[4 * 24] is not None and profile.slots[4 * 24].weeks == 1  # type: ignore[union-attr]
    windows = rank_windows(profile, duration=60, step=60, top=200)
    assert windows and all(4 * 24 * 60 <= w.start_minute for w in windows)


def test_no_data_gives_an_empty_profile() -> None:
    profile = build_profile([], end=END, weeks=4, people={})
    assert profile.empty
    assert rank_windows(profile, duration=90) == []


def test_next_start_finds_the_coming_occurrence() -> None:
    wednesday = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert next_start(wednesday, (24 + 3) * 60 + 30) == datetime(2026, 12, 8, 3, 30, tzinfo=UTC)
    assert next_start(wednesday, 2 * 24 * 60 + 12 * 60) == wednesday
