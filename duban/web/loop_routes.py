"""The 督办 loop on the portal: a unit's 签收 and 延期申请 from its page, a parent's review (审核/退回) of its own
children's versions, and the operators' queue of versions to review and requests to decide (/ops).

Each goes through the same domain path as the CLI (duban.services.acknowledgements, duban.services.extension,
duban.services.review), is audited under the unit or operator, and answers a refusal with its Chinese reason at
the place it concerns.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from duban.errors import RequestError, SubmissionError
from duban.instants import OutOfYears, parse_instant
from duban.services import audit
from duban.services.acknowledgements import record_acknowledgement
from duban.services.compose import compose_messages
from duban.services.extension import Decision, decide_extension, request_extension
from duban.services.review import ReviewResult, record_review
from duban.services.submit import DatabaseError
from duban.services.written import bounded
from duban.views.campaigns import load_campaign
from duban.views.duties import DutyKey, assignment_duty, submission
from duban.views.extensions import get_request, requests_of
from duban.views.reviews import review_queue
from duban.web.context import Portal, client_of, example_day, portal
from duban.web.head import seen
from duban.web.ops_routes import campaign_or_404, operator, page, unit_detail_page
from duban.web.refusals import back_with, message_shown, refused
from duban.web.security import check_csrf
from duban.web.unit_routes import NOT_YOURS, file_response, fits, load_page, render_unit, unit_link

router = APIRouter(include_in_schema=False)
log = logging.getLogger("duban.web")


def _queue_corrections(p: Portal, campaign_id: str, result: ReviewResult | Decision, now: datetime) -> None:
    """The 更正 an acceptance or an approved 延期 wrote (to those told 逾期 of an item now on time) queued at once, as
    the CLI does, not at the next tick; should the database refuse now, the intents are kept and the tick composes."""
    if not result.corrected:
        return
    try:
        compose_messages(p.engine, campaign_id, now, quiet=p.settings.quiet(), recipients=list(result.corrected))
    except DatabaseError:
        log.exception("corrections of %s not composed now; the next tick will", campaign_id)


def _due(text: str, tz: str, what: str, example: str) -> datetime:
    """A date (the end of that day) or a date and time typed into a form; a typo is a refusal, not an error page,
    that shows `example` (a date of the campaign's time, example_day)."""
    _not_too_long(text, what, example)
    try:
        return parse_instant(text, tz, end_of_day=True)
    except ValueError as exc:
        typed = text.strip()
        wrong = OutOfYears.cn if isinstance(exc, OutOfYears) else "不是日期"
        said = f"“{typed}”{wrong}，" if typed else ""  # 2024-02-30, 六月十二日: said as typed, not as if left empty
        raise RequestError(f"{text!r} is not a date", cn=f"{said}请填写{what}（如 {example}）") from None


DATE_CHARS = 40
"""The longest date a form takes (2024-06-14 18:00 is 16): a longer one is refused, never cut and then read (a
date followed by 后再延长三天 was read as that date: an outside tester's finding)."""


def _not_too_long(text: str, what: str, example: str) -> None:
    if len(text.strip()) > DATE_CHARS:
        raise RequestError(
            f"{len(text.strip()):,} characters is no date (at most {DATE_CHARS})",
            cn=f"{what}过长（{len(text.strip())} 个字符），请只填写日期，如 {example}",
        )


def _new_due(text: str, tz: str, accept: bool, example: str) -> datetime | None:
    """The new due a return carries (as `duban review --return --until`): a date (the end of that day) or a date and
    time; blank for the spec's `review.within`. Refused by the field's name when it is not a date or goes with 通过."""
    if not text.strip():
        return None
    if accept:
        raise RequestError("due goes with a return", cn="新的截止时间：只在退回时填写，审核通过请留空")
    _not_too_long(text, "新的截止时间", example)
    try:
        return parse_instant(text.strip(), tz, end_of_day=True)
    except ValueError as exc:
        wrong = OutOfYears.cn if isinstance(exc, OutOfYears) else "不是日期"
        raise RequestError(
            f"{text!r} is not a date",
            cn=f"新的截止时间：“{text.strip()}”{wrong}，请填写如 {example}，或留空按通知规定的期限",
        ) from None


def _unit_page_saying(request: Request, p: Portal, token: str, link):
    """A refusal's answer on a unit's page: the page again, the message at its top (400)."""
    return lambda error: render_unit(request, p, token, load_page(p, link), error=error, status=400)


async def _form(request: Request, p: Portal, scope: str) -> FormData:
    p.writable()  # a preview changes nothing
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, p, scope, form.get("csrf"))
    return form


@router.post("/u/{token}/ack")
async def unit_ack(request: Request, token: str, p: Portal = Depends(portal)):
    """签收: one tap on the unit's page acknowledges every notice asked of it so far."""
    link = unit_link(request, p, token)
    await _form(request, p, f"unit:{link.campaign_id}:{link.unit_code}")
    p.in_step(link.campaign_id, "签收")
    now = p.now()
    try:
        record_acknowledgement(p.engine, link.campaign_id, link.unit_code, now, actor=f"unit:{link.unit_code}")
    except RequestError as exc:
        return refused(
            request,
            p,
            exc.cn,
            _unit_page_saying(request, p, token, link),
            actor=f"unit:{link.unit_code}",
            campaign_id=link.campaign_id,
            unit_code=link.unit_code,
            target="签收",
            at=now,
        )
    audit.record(
        p.engine,
        now,
        "acknowledge",
        actor=f"unit:{link.unit_code}",
        campaign_id=link.campaign_id,
        unit_code=link.unit_code,
        target="签收",
        client=client_of(request),
    )
    return RedirectResponse(f"/u/{token}?acked=1", status_code=303)


@router.post("/u/{token}/items/{item_id}/extension")
async def unit_extension(request: Request, token: str, item_id: str, p: Portal = Depends(portal)):
    """延期申请 from the unit's page: the date asked for and the reason; refusals say why at the item."""
    link = unit_link(request, p, token)
    form = await _form(request, p, f"unit:{link.campaign_id}:{link.unit_code}")
    p.in_step(link.campaign_id, "申请延期")
    page_ = load_page(p, link)
    instance = str(form.get("instance") or "")
    entry = page_.entry(item_id, instance)
    if entry is None:
        raise HTTPException(404, "本单位没有这一报送事项。")
    now = p.now()
    reason = str(form.get("reason") or "")
    typed = {"_extension": "1", "_until": str(form.get("until") or ""), "_reason": reason}
    try:
        example = example_day(max(now, entry.duty.due_at), page_.campaign.tz)
        until = _due(str(form.get("until") or ""), page_.campaign.tz, "申请延期到的日期", example)
        asked = request_extension(
            p.engine,
            link.campaign_id,
            link.unit_code,
            item_id,
            until,
            now,
            reason=reason,
            instance=instance,
            actor=f"unit:{link.unit_code}",
        )
    except RequestError as exc:
        return refused(
            request,
            p,
            exc.cn,
            lambda error: render_unit(
                request, p, token, page_, error=error, error_at=(item_id, instance), values=typed, status=400
            ),
            actor=f"unit:{link.unit_code}",
            campaign_id=link.campaign_id,
            unit_code=link.unit_code,
            target=f"{item_id} 延期申请",
            at=now,
        )
    audit.record(
        p.engine,
        now,
        "extension",
        actor=f"unit:{link.unit_code}",
        campaign_id=link.campaign_id,
        unit_code=link.unit_code,
        target=f"{item_id} 延期申请#{asked.id}",
        detail=asked.reason[:200],
        client=client_of(request),
    )
    anchor = item_id + (f"-{instance}" if instance else "")
    return RedirectResponse(f"/u/{token}#{anchor}", status_code=303)


_WHOLE = re.compile(r"^[+-]?[0-9]{1,12}$")  # a version number as a form may hold it, ASCII digits only


def _version_seen(form) -> int:  # noqa: ANN001
    """The version a review form showed (its hidden `version`): a decision is about that file, not a newer one.

    A form without it, or with no whole number in it (a hand-made or cut-off post), is refused: it was taken as
    "whatever version is current", and accepted a 第6版 handed in after the reviewer's page showed 第5版 (an outside
    tester's finding). A whole number the unit has no version of (999, 0, -1) is refused by record_review, naming
    the versions there are."""
    text = str(form.get("version") or "").strip()
    if not text:
        raise RequestError(
            "version: the form lacks the version it showed", cn="版本号：表单缺少所审核的版本号，请刷新页面后再审核"
        )
    if not _WHOLE.match(text):
        raise RequestError(
            f"version: {text[:20]!r} is not a version number (a whole number: 1, 2 …)",
            cn=f"版本号：表单中的「{text[:20]}」不是版本号（应为整数，如 1、2），请刷新页面后再审核",
        )
    return int(text)


REVIEW_DECISIONS = {"accept": "审核通过", "return": "退回重报"}
EXTENSION_DECISIONS = {"approve": "批准", "deny": "不批准"}


def _decision(form, choices: dict[str, str]) -> str:  # noqa: ANN001
    """The button a form was sent with: one of `choices`, or a RequestError. Any other value was taken as the
    negative decision (a 退回 or 不批准 sent to the unit for decision=bogus: an outside tester's finding)."""
    decision = str(form.get("decision") or "")
    if decision not in choices:
        raise RequestError(
            f"decision must be one of {', '.join(choices)}", cn=f"请点击“{'”或“'.join(choices.values())}”提交"
        )
    return decision


def _child_row(p: Portal, campaign_id: str, assignment_id: int) -> DutyKey:
    """The duty a review names: one of the campaign's assignments, or a 404 page."""
    row = assignment_duty(p.engine, campaign_id, assignment_id) if fits(assignment_id) else None
    if row is None:
        raise HTTPException(404, NOT_YOURS)
    return row


@router.post("/u/{token}/reviews/{assignment_id}")
async def parent_review(request: Request, token: str, assignment_id: int, p: Portal = Depends(portal)):
    """A parent unit accepts or returns a child's version from its own page (only its own children's)."""
    link = unit_link(request, p, token)
    form = await _form(request, p, f"unit:{link.campaign_id}:{link.unit_code}")
    p.in_step(link.campaign_id, "审核")
    row = _child_row(p, link.campaign_id, assignment_id)
    now, accept = p.now(), form.get("decision") == "accept"
    typed = {"reason": str(form.get("reason") or ""), "due": str(form.get("due") or "")}
    try:
        _decision(form, REVIEW_DECISIONS)
        version_seen = _version_seen(form)
        tz = campaign_or_404(p, link.campaign_id).tz
        result = record_review(
            p.engine,
            link.campaign_id,
            row.unit_code,
            row.item_id,
            now,
            accept_it=accept,
            reason=typed["reason"],
            until=_new_due(typed["due"], tz, accept, example_day(max(now, row.due_at), tz)),
            reviewer=f"unit:{link.unit_code}",
            reviewer_unit=link.unit_code,
            instance=row.instance,
            version_seen=version_seen,
            quiet=p.settings.quiet(),
        )
    except RequestError as exc:
        return refused(
            request,
            p,
            exc.cn,
            lambda error: render_unit(
                request,
                p,
                token,
                load_page(p, link),
                error=error,
                error_at=("#review", str(assignment_id)),
                values=typed,  # the county's words and date come back in the form (escaped by the template)
                status=400,
            ),
            actor=f"unit:{link.unit_code}",
            campaign_id=link.campaign_id,
            unit_code=row.unit_code,
            target=f"{row.item_id} 审核",
            at=now,
        )
    _queue_corrections(p, link.campaign_id, result, now)
    audit.record(
        p.engine,
        now,
        "review",
        actor=f"unit:{link.unit_code}",
        campaign_id=link.campaign_id,
        unit_code=row.unit_code,
        target=f"{row.item_id} 第{result.version}版 {'通过' if accept else '退回'}",
        detail=result.reason,
        client=client_of(request),
    )
    return RedirectResponse(f"/u/{token}#to-review", status_code=303)


@router.get("/u/{token}/children/{submission_id}/{index}")
def parent_file(request: Request, token: str, submission_id: int, index: int, p: Portal = Depends(portal)):
    """A child's file waiting for this unit's review."""
    link = unit_link(request, p, token)
    found = submission(p.engine, submission_id) if fits(submission_id) else None
    page_ = load_page(p, link)
    if found is None or not any(r.submission_id == submission_id for r in page_.to_review):
        raise HTTPException(404, NOT_YOURS)
    response = file_response(p, found[3].files, index)
    seen(
        request,
        p,
        "download",
        actor=f"unit:{link.unit_code}",
        campaign_id=link.campaign_id,
        unit_code=found[1],
        target=found[3].files[index]["name"],
    )
    return response


@router.get("/ops/c/{campaign_id}/loop")
def ops_loop(request: Request, campaign_id: str, p: Portal = Depends(portal), who: str = Depends(operator)):
    """待审核 versions (the longest waiting first) and 延期申请 waiting for a decision."""
    campaign_or_404(p, campaign_id)
    seen(
        request,
        p,
        "view",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        target="审核与延期申请",
    )
    return _loop_page(request, p, campaign_id, who, error=message_shown(request, p))


def _loop_page(
    request: Request,
    p: Portal,
    campaign_id: str,
    who: str,
    *,
    error: str | None,
    error_at: tuple[str, str] | None = None,
    values: dict | None = None,
    status: int = 200,
):
    """The queue (审核与延期申请), with a refusal shown at the form it concerns and what was typed there."""
    campaign = campaign_or_404(p, campaign_id)
    queue = review_queue(p.engine, campaign_id)
    waiting = requests_of(p.engine, campaign_id, status="pending")
    named = load_campaign(p.engine, campaign_id, units={*(r.unit_code for r in queue), *(r.unit_code for r in waiting)})
    return page(
        request,
        p,
        "ops_loop.html.j2",
        {
            "campaign": campaign,
            "queue": queue,
            "waiting": waiting,
            "who": who,
            "tz": campaign.tz,
            "display": named.display,
            "items": {i.id: i for _s, i in campaign.spec.items()},
            "error": error,
            "error_at": error_at,
            "values": values or {},
        },
        scope=f"ops:{who}",
        status=status,
    )


@router.post("/ops/c/{campaign_id}/reviews/{assignment_id}")
async def ops_review(
    request: Request, campaign_id: str, assignment_id: int, p: Portal = Depends(portal), who: str = Depends(operator)
):
    form = await _form(request, p, f"ops:{who}")
    campaign_or_404(p, campaign_id)
    p.in_step(campaign_id, "审核")
    row = _child_row(p, campaign_id, assignment_id)
    accept, now = form.get("decision") == "accept", p.now()
    reason = str(form.get("reason") or "")
    try:
        _decision(form, REVIEW_DECISIONS)
        version_seen = _version_seen(form)
        result = record_review(
            p.engine,
            campaign_id,
            row.unit_code,
            row.item_id,
            now,
            accept_it=accept,
            reason=reason,
            reviewer=f"operator:{who}",
            instance=row.instance,
            version_seen=version_seen,
            quiet=p.settings.quiet(),
        )
    except RequestError as exc:
        return refused(
            request,
            p,
            exc.cn,
            lambda error: _loop_page(  # the queue again, the operator's words kept in the form (a redirect lost them)
                request,
                p,
                campaign_id,
                who,
                error=error,
                error_at=("#review", str(assignment_id)),
                values={"reason": reason},
                status=400,
            ),
            actor=f"operator:{who}",
            campaign_id=campaign_id,
            unit_code=row.unit_code,
            target=f"{row.item_id} {'通过' if accept else '退回'}",
            at=now,
        )
    _queue_corrections(p, campaign_id, result, now)
    audit.record(
        p.engine,
        now,
        "review",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        unit_code=row.unit_code,
        target=f"{row.item_id} 第{result.version}版 {'通过' if accept else '退回'}",
        detail=result.reason,  # a 退回's reason, shown where the log and the unit's 最近记录 list it
        client=client_of(request),
    )
    return RedirectResponse(f"/ops/c/{quote(campaign_id)}/loop#reviews", status_code=303)


@router.post("/ops/c/{campaign_id}/extensions/{request_id}")
async def ops_extension(
    request: Request, campaign_id: str, request_id: int, p: Portal = Depends(portal), who: str = Depends(operator)
):
    form = await _form(request, p, f"ops:{who}")
    campaign = campaign_or_404(p, campaign_id)
    p.in_step(campaign_id, "审批延期申请")
    try:
        asked = get_request(p.engine, request_id) if fits(request_id) else None
    except RequestError:  # no such request (a stale tab after `duban reset`, a typo): as any unknown id, not a 500
        asked = None
    if asked is None or asked.campaign_id != campaign_id:
        raise HTTPException(404, "没有这份延期申请。")
    approve, now = form.get("decision") == "approve", p.now()
    typed = {"until": str(form.get("until") or ""), "note": str(form.get("note") or "")}
    try:
        _decision(form, EXTENSION_DECISIONS)
        if not approve and typed["until"].strip():  # a date typed, then the wrong button: refused, as the CLI does
            raise RequestError("until goes with approve", cn="批准延至：只在批准时填写，不批准请留空")
        example = example_day(max(now, asked.until), campaign.tz)
        given = approve and form.get("until")
        until = _due(str(form.get("until")), campaign.tz, "批准延期到的日期", example) if given else None
        decision = decide_extension(
            p.engine,
            request_id,
            now,
            approve=approve,
            until=until,
            note=typed["note"],
            actor=f"operator:{who}",
            quiet=p.settings.quiet(),
        )
    except RequestError as exc:
        return refused(
            request,
            p,
            exc.cn,
            lambda error: _loop_page(  # the queue again, the date and 审批意见 as typed
                request,
                p,
                campaign_id,
                who,
                error=error,
                error_at=("#extension", str(request_id)),
                values=typed,
                status=400,
            ),
            actor=f"operator:{who}",
            campaign_id=campaign_id,
            unit_code=asked.unit_code,  # so the refusal shows in the unit's own history too
            target=f"延期申请#{request_id} {'批准' if approve else '不批准'}",
            at=now,
        )
    _queue_corrections(p, campaign_id, decision, now)
    audit.record(
        p.engine,
        now,
        "extension",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        unit_code=asked.unit_code,
        target=f"延期申请#{request_id} {'批准' if approve else '不批准'}",
        client=client_of(request),
    )
    return RedirectResponse(f"/ops/c/{quote(campaign_id)}/loop#extensions", status_code=303)


@router.post("/ops/c/{campaign_id}/u/{unit_code}/extension")
async def ops_file_extension(
    request: Request, campaign_id: str, unit_code: str, p: Portal = Depends(portal), who: str = Depends(operator)
):
    """延期申请 filed by an operator for a unit (it asked by phone or on paper), from the unit's ops page.

    Recorded as requested by the operator under the notice's rules (before the due, within `max`); decided at once
    (`decide=approve`, checked on the form: the operator files what the bureau has agreed to) or left in the queue
    of /ops → 审核与延期申请 (`decide=later`); a post with neither is refused, never taken as an approval. A refusal
    names the field and says why, on the unit's page.
    """
    form = await _form(request, p, f"ops:{who}")
    campaign_or_404(p, campaign_id)
    p.in_step(campaign_id, "登记延期申请")
    campaign = load_campaign(p.engine, campaign_id, units={unit_code[:64]})
    if unit_code not in campaign.units:
        raise HTTPException(404, "这项工作中没有这个单位。")
    back = f"/ops/c/{quote(campaign_id)}/u/{quote(unit_code)}"
    item_id, _, instance = str(form.get("item") or "").partition("|")
    decide = str(form.get("decide") or "")  # no default: a post without the choice was approved (a tester's find)
    typed = {name: str(form.get(name) or "") for name in ("item", "reason", "note", "decide")}
    typed["until"] = str(form.get("until") or "")[:40]
    now = p.now()
    kept = False  # the request recorded and its approval refused
    try:
        if not item_id or item_id not in {i.id for _s, i in campaign.spec.items()}:
            raise RequestError("item: choose the item to extend", cn="事项：请选择要延期的报送事项")
        if decide not in ("approve", "later"):
            raise RequestError("decide: approve or later", cn="审批：请选择“同时批准”或“仅登记，稍后审批”")
        if not str(form.get("until") or "").strip():
            raise RequestError(
                "until: give the date", cn=f"延期到：请填写延期到的日期（如 {example_day(now, campaign.tz)}）"
            )
        until = _due(str(form.get("until") or ""), campaign.tz, "延期到的日期", example_day(now, campaign.tz))
        if not str(form.get("reason") or "").strip():
            raise RequestError("reason: give the reason", cn="理由：请填写申请延期的理由")
        bounded(str(form.get("reason")), option="reason", field="理由")  # refused before anything is recorded
        note = bounded(str(form.get("note") or ""), option="note", field="审批意见")
        asked = request_extension(
            p.engine,
            campaign_id,
            unit_code,
            item_id,
            until,
            now,
            reason=str(form.get("reason")),
            instance=instance or None,
            actor=f"operator:{who}",
        )
        if decide == "approve":
            try:
                decision = decide_extension(
                    p.engine,
                    asked.id,
                    now,
                    approve=True,
                    note=note or "督办人员代为登记并批准",
                    actor=f"operator:{who}",
                    quiet=p.settings.quiet(),
                )
                _queue_corrections(p, campaign_id, decision, now)
            except RequestError as exc:  # the request is kept: say so, not as if nothing was recorded
                kept = True
                raise RequestError(
                    str(exc), cn=f"{exc.cn}（申请已登记为申请#{asked.id}，在“审核与延期申请”中待审批）"
                ) from None
    except (RequestError, SubmissionError) as exc:

        def answer(error: str) -> Response:
            if kept:  # the page says the request waits in the queue; its form is not filled to be sent twice
                return RedirectResponse(back_with(p, back, error, "#extension"), status_code=303)
            # nothing recorded: the unit's page again, the date, reason and 审批意见 as typed (a redirect lost them)
            return unit_detail_page(request, p, campaign_id, unit_code, who, error=error, typed=typed, status=400)

        return refused(
            request,
            p,
            exc.cn,
            answer,
            actor=f"operator:{who}",
            campaign_id=campaign_id,
            unit_code=unit_code,
            target=f"{item_id[:80]} 延期申请（代单位登记）",
            at=now,
        )
    audit.record(
        p.engine,
        now,
        "extension",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        unit_code=unit_code,
        target=f"{item_id} 延期申请#{asked.id}（代单位登记{'，已批准' if decide == 'approve' else '，待审批'}）",
        detail=asked.reason[:200],
        client=client_of(request),
    )
    return RedirectResponse(f"{back}?extension={asked.id}#extension", status_code=303)
