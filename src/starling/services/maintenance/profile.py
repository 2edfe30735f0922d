"""The hour-of-week activity profile and the ranking of maintenance windows (pure; no I/O).

Time is UTC throughout. A slot is one hour of the week (Monday 00:00 is slot 0, Sunday 23:00 slot
167). Only hours from the first recorded activity on count as observed: a server two weeks old is
averaged over two weeks, not four, and a slot never observed has no value rather than zero.

A window that covers only part of an hour is taken to reach the people of that hour in proportion:
an account active in hours ``h`` with coverage ``f_h`` is affected with probability
``1 - Π(1 - f_h)``. The expected number of affected accounts of one week is that probability summed
over the week's accounts (over the sample, scaled to the estimate, when there are many); the windows
are ranked by its mean over the observed weeks.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from starling.services.maintenance import sketch

HOURS_PER_WEEK = 168
MINUTES_PER_WEEK = HOURS_PER_WEEK * 60
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Person:
    """What is known of an active account: its locale and, when given, its time zone."""

    locale: str | None = None
    time_zone: str | None = None


@dataclass
class HourActivity:
    hour_start: datetime
    requests: int = 0
    posts: int = 0
    sample: list[int] = field(default_factory=list)  # sorted account hashes (requesters and posters)

    @property
    def active(self) -> float:
        return sketch.estimate(self.sample)


@dataclass
class Slot:
    """Means over the observed weeks of one hour of the week."""

    weeks: int
    active: float
    requests: float
    posts: float
    by_locale: dict[str, float]


@dataclass
class Window:
    start_minute: int  # minutes after Monday 00:00 UTC
    duration: int  # minutes
    weeks: int  # observed weeks it was averaged over
    affected: float
    requests: float
    posts: float
    by_locale: dict[str, float]
    by_time_zone: dict[str, float]

    @property
    def end_minute(self) -> int:
        return (self.start_minute + self.duration) % MINUTES_PER_WEEK


@dataclass
class Profile:
    start: datetime
    end: datetime
    observed_from: datetime | None
    slots: list[Slot | None]
    hours: dict[datetime, HourActivity]
    people: dict[int, Person]
    requests_total: int = 0
    posts_total: int = 0

    @property
    def empty(self) -> bool:
        return self.observed_from is None

    @property
    def observed_slots(self) -> int:
        return sum(1 for s in self.slots if s is not None)


def slot_of(at: datetime) -> int:
    return at.weekday() * 24 + at.hour


def week_start(at: datetime) -> datetime:
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def minute_label(minute: int) -> str:
    minute %= MINUTES_PER_WEEK
    day, rest = divmod(minute, 24 * 60)
    return f"{DAY_NAMES[day]} {rest // 60:02d}:{rest % 60:02d}"


def _locale(people: dict[int, Person], h: int) -> str:
    person = people.get(h)
    return person.locale if person and person.locale else UNKNOWN


def _time_zone(people: dict[int, Person], h: int) -> str:
    person = people.get(h)
    return person.time_zone if person and person.time_zone else UNKNOWN


def _split(sample: list[int], total: float, label: dict[int, str]) -> dict[str, float]:
    """``total`` shared out by the labels of the sampled accounts."""
    if not sample:
        return {}
    counts = Counter(label[h] for h in sample)
    return {k: total * n / len(sample) for k, n in counts.items()}


def build_profile(
    hours: list[HourActivity], *, end: datetime, weeks: int, people: dict[int, Person]
) -> Profile:
    """``hours``: recorded activity (any order, any range); ``end``: the first hour not to use."""
    end = floor_hour(end)
    start = end - timedelta(weeks=weeks)
    by_hour = {floor_hour(h.hour_start): h for h in hours if start <= floor_hour(h.hour_start) < end}
    busy = [at for at, h in by_hour.items() if h.requests or h.posts or h.sample]
    observed_from = min(busy) if busy else None
    profile = Profile(start=start, end=end, observed_from=observed_from, slots=[None] * HOURS_PER_WEEK,
                      hours=by_hour, people=people)
    if observed_from is None:
        return profile
    locale_of = {h: _locale(people, h) for a in by_hour.values() for h in a.sample}
    sums: list[list[float]] = [[0.0, 0.0, 0.0] for _ in range(HOURS_PER_WEEK)]
    locales: list[defaultdict[str, float]] = [defaultdict(float) for _ in range(HOURS_PER_WEEK)]
    weeks_seen = [0] * HOURS_PER_WEEK
    at = observed_from
    while at < end:
        slot = slot_of(at)
        weeks_seen[slot] += 1
        activity = by_hour.get(at)
        if activity is not None:
            active = activity.active
            sums[slot][0] += active
            sums[slot][1] += activity.requests
            sums[slot][2] += activity.posts
            for name, value in _split(activity.sample, active, locale_of).items():
                locales[slot][name] += value
            profile.requests_total += activity.requests
            profile.posts_total += activity.posts
        at += timedelta(hours=1)
    for slot in range(HOURS_PER_WEEK):
        n = weeks_seen[slot]
        if n:
            active, requests, posts = (v / n for v in sums[slot])
            profile.slots[slot] = Slot(weeks=n, active=active, requests=requests, posts=posts,
                                       by_locale={k: v / n for k, v in locales[slot].items()})
    return profile


def active_total(profile: Profile) -> float:
    """Distinct active accounts of the whole observed period."""
    return sketch.estimate(sketch.merge(*(h.sample for h in profile.hours.values())))


def group_totals(profile: Profile, by: str = "locale") -> dict[str, float]:
    """Distinct active accounts of the whole observed period, by ``locale`` or ``time_zone``."""
    union = sketch.merge(*(h.sample for h in profile.hours.values()))
    label = _locale if by == "locale" else _time_zone
    labels = {h: label(profile.people, h) for h in union}
    return _split(union, sketch.estimate(union), labels)


@dataclass
class _Reach:
    affected: float
    requests: float
    posts: float
    by_locale: dict[str, float]
    by_time_zone: dict[str, float]


def _reach(profile: Profile, begin: datetime, minutes: int, members: dict[datetime, frozenset[int]]) -> _Reach:
    """Who and what one concrete window [begin, begin + minutes) disturbs."""
    stop = begin + timedelta(minutes=minutes)
    coverage: list[tuple[HourActivity, float]] = []
    at = floor_hour(begin)
    while at < stop:
        overlap = (min(stop, at + timedelta(hours=1)) - max(begin, at)).total_seconds() / 3600
        activity = profile.hours.get(at)
        if activity is not None and overlap > 0:
            coverage.append((activity, overlap))
        at += timedelta(hours=1)
    requests = sum(a.requests * f for a, f in coverage)
    posts = sum(a.posts * f for a, f in coverage)
    samples = [a.sample for a, _ in coverage if a.sample]
    if not samples:
        return _Reach(0.0, requests, posts, {}, {})
    if all(sketch.is_complete(s) for s in samples):
        union = sorted(set().union(*samples))
        total = float(len(union))
    else:
        union = sketch.merge(*samples)
        total = sketch.estimate(union)
    scale = total / len(union)
    affected = 0.0
    by_locale: defaultdict[str, float] = defaultdict(float)
    by_time_zone: defaultdict[str, float] = defaultdict(float)
    for h in union:
        missed = 1.0
        for activity, f in coverage:
            if h in members[activity.hour_start]:
                missed *= 1.0 - f
        p = (1.0 - missed) * scale
        affected += p
        by_locale[_locale(profile.people, h)] += p
        by_time_zone[_time_zone(profile.people, h)] += p
    return _Reach(affected, requests, posts, dict(by_locale), dict(by_time_zone))


def evaluate_window(profile: Profile, start_minute: int, duration: int,
                    members: dict[datetime, frozenset[int]] | None = None) -> Window | None:
    """The window starting ``start_minute`` after Monday 00:00 UTC, averaged over every observed week
    that holds it whole; None when no observed week does."""
    if profile.observed_from is None:
        return None
    if members is None:
        members = {at: frozenset(a.sample) for at, a in profile.hours.items()}
    reaches: list[_Reach] = []
    begin = week_start(profile.observed_from) + timedelta(minutes=start_minute % MINUTES_PER_WEEK)
    while begin + timedelta(minutes=duration) <= profile.end:
        if begin >= profile.observed_from:
            reaches.append(_reach(profile, begin, duration, members))
        begin += timedelta(weeks=1)
    if not reaches:
        return None
    n = len(reaches)

    def mean(values: list[dict[str, float]]) -> dict[str, float]:
        total: defaultdict[str, float] = defaultdict(float)
        for v in values:
            for k, x in v.items():
                total[k] += x
        return {k: v / n for k, v in total.items()}

    return Window(
        start_minute=start_minute % MINUTES_PER_WEEK, duration=duration, weeks=n,
        affected=sum(r.affected for r in reaches) / n,
        requests=sum(r.requests for r in reaches) / n,
        posts=sum(r.posts for r in reaches) / n,
        by_locale=mean([r.by_locale for r in reaches]),
        by_time_zone=mean([r.by_time_zone for r in reaches]),
    )


def _overlap(a: Window, b: Window) -> bool:
    return ((b.start_minute - a.start_minute) % MINUTES_PER_WEEK < a.duration
            or (a.start_minute - b.start_minute) % MINUTES_PER_WEEK < b.duration)


def rank_windows(profile: Profile, *, duration: int, step: int = 30, top: int = 5) -> list[Window]:
    """The ``top`` windows that disturb the fewest people, none overlapping a better one.

    Ties go to fewer requests, then fewer posts, then the earlier start in the week."""
    if duration <= 0 or step <= 0 or top <= 0:
        raise ValueError("duration, step and top must be positive")
    members = {at: frozenset(a.sample) for at, a in profile.hours.items()}
    candidates = [
        w for m in range(0, MINUTES_PER_WEEK, step)
        if (w := evaluate_window(profile, m, duration, members)) is not None
    ]
    candidates.sort(key=lambda w: (round(w.affected, 6), round(w.requests, 6), round(w.posts, 6), w.start_minute))
    chosen: list[Window] = []
    for window in candidates:
        if len(chosen) == top:
            break
        if not any(_overlap(window, c) for c in chosen):
            chosen.append(window)
    return chosen


def next_start(after: datetime, start_minute: int) -> datetime:
    """The first time at or after ``after`` that is ``start_minute`` into a week (UTC)."""
    candidate = week_start(after) + timedelta(minutes=start_minute)
    while candidate < after:
        candidate += timedelta(weeks=1)
    return candidate
