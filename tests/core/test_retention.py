"""What housekeeping removes, decided from names, last uses and sizes alone."""

from __future__ import annotations

from bot.core.retention import DAY_S, Entry, expired, over_budget

NOW = 1_700_000_000.0


def test_entries_past_the_age_expire_unless_kept() -> None:
    entries = [
        Entry("old", NOW - 15 * DAY_S),
        Entry("live", NOW - 30 * DAY_S),
        Entry("recent", NOW - 13 * DAY_S),
        Entry("edge", NOW - 14 * DAY_S),
    ]
    assert expired(entries, NOW, 14 * DAY_S) == ["live", "old"]
    assert expired(entries, NOW, 14 * DAY_S, keep={"live"}) == ["old"]
    assert expired([], NOW, 14 * DAY_S) == []


def test_least_recently_used_go_first_until_the_rest_fits() -> None:
    entries = [
        Entry("b", NOW - 50, 400),
        Entry("a", NOW - 100, 300),
        Entry("c", NOW - 10, 500),
    ]
    assert over_budget(entries, 1200) == []
    assert over_budget(entries, 1199) == ["a"]
    assert over_budget(entries, 900) == ["a"]
    assert over_budget(entries, 899) == ["a", "b"]
    assert over_budget(entries, 0) == ["a", "b", "c"]


def test_entries_in_use_count_but_stay() -> None:
    entries = [
        Entry("a", NOW - 100, 300),
        Entry("b", NOW - 50, 400),
        Entry("c", NOW - 10, 500),
    ]
    # `a` is in use: the next least recently used goes in its place.
    assert over_budget(entries, 900, keep={"a"}) == ["b"]
    # What is in use alone exceeds the budget: everything else goes, the rest stays.
    assert over_budget(entries, 100, keep={"c"}) == ["a", "b"]


def test_equal_last_uses_are_ordered_by_name() -> None:
    entries = [Entry("y", NOW, 10), Entry("x", NOW, 10)]
    assert over_budget(entries, 10) == ["x"]
