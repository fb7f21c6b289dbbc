"""The end of a day has one notation wherever duban shows it — 24:00, as notices write it — and what duban shows
can be typed back: `--as-of "2024-07-02 24:00"` is the instant a summary calls 2024-07-02 周二 24:00."""

from __future__ import annotations

from datetime import time

import pytest

from duban.instants import fmt, fmt_arg, fmt_cn, fmt_due_cn, parse_clock, parse_instant

TZ = "Asia/Shanghai"


def test_the_end_of_a_day_reads_24_00_in_plans_status_artifacts_and_messages():
    end = parse_instant("2024-07-01", TZ, end_of_day=True)
    assert (end.hour, end.minute, end.second, end.microsecond) == (23, 59, 59, 999999)
    assert fmt(end, TZ) == "2024-07-01 周一 24:00"
    assert fmt_cn(end, TZ) == fmt_due_cn(end, TZ) == "7月1日 周一 24:00"
    minute_before = parse_instant("2024-07-01 23:59", TZ)  # a real 23:59 stays 23:59
    assert fmt(minute_before, TZ) == "2024-07-01 周一 23:59"
    assert fmt(parse_instant("2024-07-02", TZ), TZ) == "2024-07-02 周二 00:00"


def test_what_duban_shows_can_be_typed_back():
    end = parse_instant("2024-07-02 24:00", TZ)
    assert end == parse_instant("2024-07-02", TZ, end_of_day=True)
    assert fmt_arg(end, TZ) == "2024-07-02 24:00" and parse_instant(fmt_arg(end, TZ), TZ) == end
    assert parse_instant("2024-07-02T24:00", TZ) == end
    assert parse_clock("24:00") == parse_clock("23:59") == time(23, 59)  # a spec's due_time: the end of the day
    with pytest.raises(ValueError, match="24:00 for the end of the day"):
        parse_clock("24:30")


def test_the_time_left_to_a_24_00_due_is_whole_hours_not_an_hour_short():
    """A reminder sent 9月29日 09:00 for a due of 9月30日 24:00 said 还有1天14小时 (the due is kept as
    23:59:59.999999); the clerk counts 1天15小时."""
    from duban.instants import span_words

    due = parse_instant("2026-09-30 24:00", TZ)
    sent = parse_instant("2026-09-29 09:00", TZ)
    assert span_words((due - sent).total_seconds()) == "1天15小时"
    assert span_words((due - parse_instant("2026-09-30 21:30", TZ)).total_seconds()) == "2小时30分钟"
    assert span_words(3 * 3600 + 59 * 60 + 59.4) == "3小时59分钟"  # otherwise still cut down, never rounded up


def test_a_hand_in_at_the_next_days_midnight_is_late_by_less_than_a_minute_not_by_one():
    """Handed in at 10月1日 00:00 for a due of 9月30日 24:00 (kept as 23:59:59.999999): it read 逾期1分钟."""
    from duban.instants import span_words

    due = parse_instant("2026-09-30 24:00", TZ)
    assert span_words((parse_instant("2026-10-01 00:00", TZ) - due).total_seconds()) == "不足1分钟"
    assert span_words(59.4) == "不足1分钟" and span_words(60) == "1分钟" and span_words(-75) == "1分钟"


def test_a_hand_in_shows_its_seconds_only_where_they_make_it_late():
    """12-04 24:00 按时 and 12-05 00:00:01 逾期 read the same minute on paper (t1 #29)."""
    from duban.instants import fmt, fmt_cn, parse_instant

    tz = "Asia/Shanghai"
    due = parse_instant("2026-12-04 24:00", tz)
    assert fmt(parse_instant("2026-12-04 24:00", tz), tz, due=due) == "2026-12-04 周五 24:00"
    assert fmt(parse_instant("2026-12-05 00:00:01", tz), tz, due=due) == "2026-12-05 周六 00:00:01"
    assert fmt_cn(parse_instant("2026-12-05 00:00:59", tz), tz, due=due) == "12月5日 周六 00:00:59"
    assert fmt(parse_instant("2026-12-05 00:01:30", tz), tz, due=due) == "2026-12-05 周六 00:01"
    five = parse_instant("2026-12-04 17:00", tz)
    assert fmt(parse_instant("2026-12-04 17:00:30", tz), tz, due=five) == "2026-12-04 周五 17:00:30"
    assert fmt(parse_instant("2026-12-04 16:59:30", tz), tz, due=five) == "2026-12-04 周五 16:59"
