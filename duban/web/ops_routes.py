"""The operators' pages (督办工作人员): login, the 红黄绿 matrix, a unit's files and link, the 汇总表, the audit log.

Every page needs a login; every view, download, export and revocation is audited under the operator's name.
Failed logins are audited; five for one name from one address lock that pair for 15 minutes, and many failures
everywhere slow every attempt down (duban.services.logins). Logging out ends the session in the database.
"""

from __future__ import annotations

from asyncio import sleep as login_pause  # the slow-down's wait; tests replace this name, never asyncio's
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from duban.domain.file_titles import titled_file_name
from duban.domain.scoring import sample_label
from duban.errors import RequestError, StoreError
from duban.instants import fmt
from duban.services import audit
from duban.services.links import issue, revoke
from duban.services.logins import login_gate, settle
from duban.services.operators import authenticate
from duban.views.campaigns import campaign_ids, load_campaign
from duban.views.duties import submission
from duban.views.matrix import COLOR_NAMES, LEVELS_CN, matrix
from duban.views.outcomes import outcomes_of_unit
from duban.views.scores import unit_scores
from duban.views.summary_table import summary_workbook
from duban.views.unit_lookup import unit_named, unit_names
from duban.views.unit_page import unit_page
from duban.web.context import Portal, client_of, portal
from duban.web.head import seen
from duban.web.refusals import message_shown, refused
from duban.web.security import check_csrf, csrf_for, end_session, operator_of, set_csrf_cookie, start_session
from duban.web.unit_routes import LARGEST_ID, file_response, fits

router = APIRouter(include_in_schema=False)
PAGE_ROWS = 200


class LoginRequired(HTTPException):
    def __init__(self) -> None:
        super().__init__(303, "请先登录", headers={"Location": "/ops/login"})


def operator(request: Request, p: Portal = Depends(portal)) -> str:
    """The logged-in operator (a dependency); others are sent to the login page."""
    name = operator_of(request, p)
    if name is None:
        raise LoginRequired()
    return name


def page(request: Request, p: Portal, template: str, context: dict, *, scope: str, status: int = 200):
    csrf, nonce = csrf_for(request, p, scope)
    response = p.templates.TemplateResponse(
        request, template, {**context, "csrf": csrf, "frozen": p.frozen, "now": p.as_of()}, status_code=status
    )
    set_csrf_cookie(request, response, nonce)
    return response


def campaign_or_404(p: Portal, campaign_id: str):
    """The campaign without its units (a page reads the units it names), or a 404 page."""
    try:
        return load_campaign(p.engine, campaign_id, units=False)
    except StoreError:
        raise HTTPException(404, "没有这项专项工作。") from None


@router.get("/")
def home(request: Request, p: Portal = Depends(portal)):
    return p.templates.TemplateResponse(request, "home.html.j2", {"frozen": p.frozen, "now": p.as_of()})


@router.get("/ops/login")
def login_form(request: Request, p: Portal = Depends(portal)):
    if operator_of(request, p):
        return RedirectResponse("/ops", status_code=303)
    return page(request, p, "login.html.j2", {"configured": bool(p.settings.operator_hashes())}, scope="login")


@router.post("/ops/login")
async def login(request: Request, p: Portal = Depends(portal)):
    form = await request.form(max_files=0, max_fields=10)
    check_csrf(request, p, "login", form.get("csrf"))
    name, password = str(form.get("name") or "").strip()[:40], str(form.get("password") or "")
    now, client = p.now(), client_of(request)
    gate = await run_in_threadpool(login_gate, p.engine, name, client, now)
    if gate.delay:
        await login_pause(gate.delay)  # many failures everywhere: everyone waits a little (no thread held)
    hashes = p.settings.operator_hashes()
    if gate.locked:  # the same words whether the name exists or not
        error = "该用户名从您的地址登录失败次数过多，请 15 分钟后再试。"
    elif await run_in_threadpool(authenticate, hashes, name, password):  # scrypt: off the event loop
        await run_in_threadpool(settle, p.engine, name, client, now, gate=gate, ok=True)
        audit.record(p.engine, now, "login", actor=f"operator:{name}", client=client)
        response = RedirectResponse("/ops", status_code=303)
        await run_in_threadpool(start_session, request, response, p, name, hashes[name])
        return response
    else:
        error = "用户名或密码不对。"
        await run_in_threadpool(settle, p.engine, name, client, now, gate=gate, ok=False)
    return refused(
        request,
        p,
        error,
        lambda message: page(
            request,
            p,
            "login.html.j2",
            {"configured": bool(hashes), "error": message, "name": name},
            scope="login",
            status=401,
        ),
        action="login",
        actor=f"operator:{name}" if name in hashes else f"login:{name}",  # a name no operator has is not staff
        at=now,
    )


@router.post("/ops/logout")
async def logout(request: Request, p: Portal = Depends(portal), who: str = Depends(operator)):
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, p, f"ops:{who}", form.get("csrf"))
    response = RedirectResponse("/ops/login", status_code=303)
    end_session(request, response, p)
    audit.record(p.engine, p.now(), "logout", actor=f"operator:{who}", client=client_of(request))
    return response


@router.get("/ops")
def campaigns(request: Request, p: Portal = Depends(portal), who: str = Depends(operator)):
    found = [load_campaign(p.engine, cid, units=False) for cid in campaign_ids(p.engine)]
    if len(found) == 1:
        return RedirectResponse(f"/ops/c/{quote(found[0].id)}", status_code=303)
    return page(request, p, "campaigns.html.j2", {"campaigns": found, "who": who}, scope=f"ops:{who}")


@router.get("/ops/c/{campaign_id}")
def dashboard(
    request: Request,
    campaign_id: str,
    level: str = "",
    parent: str = "",
    only: str = "",
    start: int = 0,
    p: Portal = Depends(portal),
    who: str = Depends(operator),
):
    campaign_or_404(p, campaign_id)
    level = level if level in dict(LEVELS_CN) else ""
    only = only if only in COLOR_NAMES else ""
    start = max(start, 0)
    grid = matrix(
        p.engine,
        campaign_id,
        p.as_of(),
        level=level or None,
        parent=parent or None,
        only=only or None,
        offset=start,
        limit=PAGE_ROWS,
        history=p.frozen,
    )
    seen(
        request,
        p,
        "view",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        target="红黄绿矩阵",
        detail=f"level={level} parent={parent} only={only}",
    )
    spec = grid.campaign.spec
    return page(
        request,
        p,
        "dashboard.html.j2",
        {
            "grid": grid,
            "who": who,
            "level": level,
            "parent": parent,
            "only": only,
            "start": start,
            "page_rows": PAGE_ROWS,
            "levels": LEVELS_CN,
            "tz": grid.campaign.tz,
            "scores": unit_scores(p.engine, campaign_id, [r.code for r in grid.rows]) if spec.score_sheets else None,
            "sample_labels": {s.id: sample_label(s.name) for s in spec.samples},
        },
        scope=f"ops:{who}",
    )


@router.get("/ops/c/{campaign_id}/u/{unit_code}")
def unit_detail(
    request: Request, campaign_id: str, unit_code: str, p: Portal = Depends(portal), who: str = Depends(operator)
):
    return unit_detail_page(request, p, campaign_id, unit_code, who, error=message_shown(request, p))


def unit_detail_page(
    request: Request,
    p: Portal,
    campaign_id: str,
    unit_code: str,
    who: str,
    *,
    error: str | None,
    typed: dict[str, str] | None = None,
    status: int = 200,
):
    """A unit's page for operators (单位详情), with a refusal of its 代单位登记延期申请 form shown at the form and
    what the operator `typed` there back in its fields (escaped by the template)."""
    campaign_or_404(p, campaign_id)
    try:
        view = unit_page(p.engine, campaign_id, unit_code, p.as_of(), history=p.frozen)
    except StoreError:
        raise HTTPException(404, "这项工作中没有这个单位。") from None
    link = None  # built from DUBAN_PORTAL_URL only: a request's Host header is the sender's to choose
    if p.settings.portal_url and not p.frozen:  # a preview hands out no link
        link = f"{p.settings.portal_url.rstrip('/')}/u/{issue(p.key, campaign_id, unit_code, p.now(), p.link_lifetime)}"
    seen(
        request,
        p,
        "view",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        unit_code=unit_code,
        target="单位详情（生成了新链接）" if link else "单位详情",
    )
    history = audit.recent(
        p.engine, campaign_id=campaign_id, unit_code=unit_code, limit=30, until=p.as_of() if p.frozen else None
    )
    spec = view.campaign.spec
    now = p.now()
    extendable = [  # the items an operator may file a 延期申请 for (the notice allows it, still owed, before the due)
        (f"{e.item.id}|{e.duty.instance}", e.item.name + (f"（{e.duty.instance}）" if e.duty.instance else ""))
        for e in view.entries
        if not p.frozen and e.can_ask_extension(spec, now)
    ]
    return page(
        request,
        p,
        "ops_unit.html.j2",
        {
            "page": view,
            "extendable": extendable,
            "error": error,
            "values": typed or {},
            "filed": request.query_params.get("extension"),
            "who": who,
            "link": link,
            "history": history,
            "tz": view.campaign.tz,
            "names": {**view.names, **{c.code: c.display for c in view.children}},
            "days": p.settings.link_days,
            "scores": unit_scores(p.engine, campaign_id, [unit_code]).get(unit_code, []),
            "sheets": {s.id: s for s in spec.score_sheets},
            "samples": {s.id: s for s in spec.samples},
            "outcomes": outcomes_of_unit(p.engine, view.campaign, unit_code, p.as_of()),
        },
        scope=f"ops:{who}",
        status=status,
    )


@router.post("/ops/c/{campaign_id}/u/{unit_code}/revoke")
async def revoke_links(
    request: Request, campaign_id: str, unit_code: str, p: Portal = Depends(portal), who: str = Depends(operator)
):
    p.writable()
    form = await request.form(max_files=0, max_fields=5)
    check_csrf(request, p, f"ops:{who}", form.get("csrf"))
    campaign_or_404(p, campaign_id)
    if unit_named(p.engine, campaign_id, unit_code) is None:
        raise HTTPException(404, "这项工作中没有这个单位。")
    reason = str(form.get("reason") or "")  # over 200 characters: refused by links.revoke, not cut
    try:
        revoke(p.engine, campaign_id, unit_code, p.now(), actor=f"operator:{who}", reason=reason)
    except RequestError as exc:  # a reason holding a character nobody sees: refused, nothing revoked
        raise HTTPException(400, exc.cn) from None
    audit.record(
        p.engine,
        p.now(),
        "revoke",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        unit_code=unit_code,
        target="此前发出的全部链接",
        detail=reason or None,
        client=client_of(request),
    )
    return RedirectResponse(f"/ops/c/{quote(campaign_id)}/u/{quote(unit_code)}?revoked=1", status_code=303)


@router.get("/ops/c/{campaign_id}/files/{submission_id}/{index}")
def ops_file(
    request: Request,
    campaign_id: str,
    submission_id: int,
    index: int,
    p: Portal = Depends(portal),
    who: str = Depends(operator),
):
    found = submission(p.engine, submission_id) if fits(submission_id) else None
    if found is None or found[0] != campaign_id:
        raise HTTPException(404, "没有这份材料。")
    response = file_response(p, found[3].files, index)
    seen(
        request,
        p,
        "download",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        unit_code=found[1],
        target=found[3].files[index]["name"],
    )
    return response


@router.get("/ops/c/{campaign_id}/summary.xlsx")
def export(request: Request, campaign_id: str, p: Portal = Depends(portal), who: str = Depends(operator)):
    campaign = campaign_or_404(p, campaign_id)
    now = p.as_of()
    data = summary_workbook(p.engine, campaign_id, now, history=p.frozen)
    seen(
        request,
        p,
        "export",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        target="汇总表.xlsx",
    )
    name = titled_file_name(f"{campaign.spec.title}-汇总表-{fmt(now, campaign.tz)[:10]}.xlsx")
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f"attachment; filename=\"summary.xlsx\"; filename*=UTF-8''{quote(name)}"},
    )


@router.get("/ops/c/{campaign_id}/audit")
def audit_log(
    request: Request,
    campaign_id: str,
    before: int | None = Query(None, ge=1, le=LARGEST_ID),
    action: str = "",
    p: Portal = Depends(portal),
    who: str = Depends(operator),
):
    campaign = campaign_or_404(p, campaign_id)
    entries = audit.recent(
        p.engine,
        campaign_id=campaign_id,
        action=action or None,
        before_id=before,
        limit=100,
        with_logins=True,
        until=p.as_of() if p.frozen else None,
    )
    seen(
        request,
        p,
        "view",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        target="审计日志",
    )
    acting = [e.actor.partition(":")[2] for e in entries if e.actor and e.actor.startswith("unit:")]
    # a parent unit's review reads as 昔阳县统计局, not 单位 140724 (an outside tester's finding)
    names = unit_names(p.engine, campaign_id, [*(e.unit_code for e in entries), *acting])
    return page(
        request,
        p,
        "audit.html.j2",
        {"campaign": campaign, "entries": entries, "who": who, "names": names, "action": action, "tz": campaign.tz},
        scope=f"ops:{who}",
    )
