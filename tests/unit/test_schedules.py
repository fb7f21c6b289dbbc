"""The exact tick instants of a campaign (巡检时刻), derived from its plan for Prefect's RRule schedules."""

from dataclasses import replace

from duban.domain.schedules import tick_instants
from duban.instants import fmt, parse_instant

TZ = "Asia/Shanghai"


def test_the_instants_are_the_plans_distinct_openings_reminders_dues_and_escalations(jinzhong):
    _spec, plan = jinzhong
    instants = tick_instants(plan)
    shown = [fmt(t, TZ) for t in instants.instants]
    assert len(shown) == len(set(shown)) == 19 and instants.left_out == 0
    assert shown[0] == "2024-05-10 周五 08:30"  # 自评 opens
    assert "2024-05-22 周三 09:00" in shown  # three working days before the 25 May due: a reminder
    assert "2024-05-26 周日 00:00" in shown  # the due 2024-05-25 23:59:59.999999, ticked at the whole second
    assert shown == sorted(shown)


def test_only_instants_ahead_count_and_their_number_is_bounded(jinzhong):
    _spec, plan = jinzhong
    ahead = tick_instants(plan, after=parse_instant("2024-06-30 09:00", TZ))
    assert [fmt(t, TZ) for t in ahead.instants] == [
        "2024-07-01 周一 00:00",
        "2024-07-02 周二 00:00",
        "2024-07-02 周二 09:00",
        "2024-07-03 周三 09:00",
    ]
    bounded = tick_instants(plan, limit=5)
    assert len(bounded.instants) == 5 and bounded.left_out == 14
    assert tick_instants(plan, after=parse_instant("2024-08-01 00:00", TZ)).rrule is None


def test_the_rrule_lists_local_wall_times_of_the_campaigns_zone(jinzhong):
    _spec, plan = jinzhong
    rule = tick_instants(plan, limit=2).rrule
    assert rule == "RDATE:20240510T083000,20240522T090000"
    urumqi = replace(plan, campaign=plan.campaign.model_copy(update={"timezone": "Asia/Urumqi"}))
    assert tick_instants(urumqi, limit=1).rrule == "RDATE:20240510T063000"  # the same instant, two hours west
