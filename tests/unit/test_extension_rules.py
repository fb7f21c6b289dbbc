"""延期申请 rules and the state machine's reschedule: pure, with the instants passed in."""

from datetime import datetime, timedelta, timezone

import pytest

from duban.domain.extension_rules import Ask, ExtensionStatus, check_decision, check_request, policy
from duban.domain.state import EventKind, Progress, Schedule, State, advance, reschedule
from duban.errors import RequestError
from duban.spec.models import Extensions

UTC = timezone.utc
DUE = datetime(2024, 6, 10, 15, 59, 59, tzinfo=UTC)  # 6/10 24:00 in Shanghai
OPEN = datetime(2024, 5, 25, 0, 30, tzinfo=UTC)
TZ = "Asia/Shanghai"
FIVE = Extensions.model_validate({"max": "5 working days"})


def _ask(**changes):
    values = dict(
        state=State.open,
        due_at=DUE,
        at=DUE - timedelta(days=4),
        until=DUE + timedelta(days=3),
        limit=DUE + timedelta(days=7),
        waiting=False,
    )
    return Ask(**{**values, **changes})


def test_a_request_before_the_due_within_the_limit_is_taken():
    check_request(_ask(), FIVE, TZ)
    check_request(_ask(until=DUE + timedelta(days=7)), FIVE, TZ)  # the limit itself


@pytest.mark.parametrize(
    ("changes", "words", "cn"),
    [
        ({"at": DUE + timedelta(minutes=1)}, "has passed", "延期申请须在截止前提出"),
        ({"until": DUE + timedelta(days=8)}, "beyond the campaign's limit", "超过本次工作允许的最长延期（5个工作日"),
        ({"waiting": True}, "already waits", "已有一份延期申请正在审批"),
        ({"until": DUE}, "not later than the due", "须晚于现在的截止时间"),
        ({"state": State.submitted}, "nothing to extend", "本事项已报送"),
    ],
)
def test_a_request_the_notice_does_not_allow_is_refused_with_the_reason(changes, words, cn):
    with pytest.raises(RequestError, match=words) as refused:
        check_request(_ask(**changes), FIVE, TZ)
    assert cn in refused.value.cn


def test_without_extensions_in_the_spec_no_request_is_taken():
    with pytest.raises(RequestError, match="allows no extension") as refused:
        check_request(_ask(), None, TZ)
    assert "本通知未规定可申请延期" in refused.value.cn


def test_an_item_can_refuse_what_the_campaign_allows():
    from duban.spec.load import load_spec
    from tests.conftest import JINZHONG

    campaign = load_spec(JINZHONG).campaign
    item = next(i for _s, i in campaign.items() if i.id == "county_inspection")
    assert policy(campaign, item).max is not None and str(policy(campaign, item).max) == "5个工作日"
    closed = item.model_copy(update={"extensions": Extensions.model_validate(False)})
    assert policy(campaign, closed) is None
    assert policy(campaign.model_copy(update={"extensions": None}), item) is None


def test_a_limit_must_move_the_due_later():
    with pytest.raises(ValueError, match="moves a due later"):
        Extensions.model_validate({"max": "0 days"})


def test_decisions_once_not_later_than_asked_and_past_the_due():
    asked = DUE + timedelta(days=3)
    check_decision(ExtensionStatus.pending, due_at=DUE, asked=asked, granted=asked - timedelta(days=1), tz=TZ)
    check_decision(ExtensionStatus.pending, due_at=DUE, asked=asked, granted=None, tz=TZ)  # a denial
    with pytest.raises(RequestError, match="later than the unit asked"):
        check_decision(ExtensionStatus.pending, due_at=DUE, asked=asked, granted=asked + timedelta(hours=1), tz=TZ)
    with pytest.raises(RequestError, match="not later than the due"):
        check_decision(ExtensionStatus.pending, due_at=DUE, asked=asked, granted=DUE, tz=TZ)
    with pytest.raises(RequestError, match="approved already"):
        check_decision(ExtensionStatus.approved, due_at=DUE, asked=asked, granted=asked, tz=TZ)


OLD = Schedule(OPEN, DUE, reminders=(DUE - timedelta(days=1),), escalations=(DUE + timedelta(days=2),))
NEW = Schedule(
    OPEN, DUE + timedelta(days=3), reminders=(DUE + timedelta(days=2),), escalations=(DUE + timedelta(days=5),)
)


def test_reschedule_reopens_an_overdue_item_and_its_reminders_and_escalations_follow_the_new_due():
    _changes, overdue = advance(OLD, Progress(), DUE + timedelta(hours=1))
    assert overdue.state is State.overdue
    change, moved = reschedule(NEW, overdue, DUE + timedelta(hours=1), submitted_at=None)
    assert (change.event, change.from_state, change.to_state) == (EventKind.extended, State.overdue, State.open)
    seen, _done = advance(NEW, moved, NEW.escalations[0])
    assert [c.event for c in seen] == [EventKind.reminder, EventKind.overdue, EventKind.escalation]


def test_reschedule_counts_a_late_submission_within_the_new_due_as_on_time_and_leaves_done_ones():
    late = Progress(State.late, 1, 0)
    _c, moved = reschedule(NEW, late, DUE + timedelta(days=1), submitted_at=DUE + timedelta(hours=5))
    assert moved.state is State.submitted
    _c, still = reschedule(NEW, late, DUE + timedelta(days=4), submitted_at=DUE + timedelta(days=4))
    assert still.state is State.late
    for done in (State.submitted, State.excused):
        change, same = reschedule(NEW, Progress(done), DUE, submitted_at=None)
        assert same.state is done and change.to_state is done
