"""A unit's pages behind its link: what is due, the upload form per item, the receipt (回执), its own files.

Every request checks the link (signature, expiry, revocation) and is written to the audit log, refused
ones too (folded: the same refusal from one address is one entry per ten minutes with its count). A submission
goes through the same domain path as `duban submit`: record_submission (checks, content-addressed files, a new
version, late marked, a receipt intent in one transaction) and then compose_messages for the unit, which queues
its receipt message.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse
from starlette.background import BackgroundTask

from duban.domain.message_keys import receipt_number
from duban.domain.state import Color, State
from duban.errors import LinkError, StoreError, SubmissionError
from duban.services import audit
from duban.services.compose import compose_messages
from duban.services.links import UnitLink, check, read
from duban.services.submit import DatabaseError, record_submission
from duban.views.duties import submission
from duban.views.unit_page import UnitPage, unit_page
from duban.web.context import Portal, client_of, portal
from duban.web.head import seen
from duban.web.refusals import refused
from duban.web.security import check_csrf, csrf_for, masked_path, set_csrf_cookie
from duban.web.uploads import MAX_FILES, saved_uploads

router = APIRouter(include_in_schema=False)
log = logging.getLogger("duban.web")
NOT_YOURS = "没有找到这份材料：它可能不属于本单位，或链接不完整。"
LARGEST_ID = 2**63 - 1  # the largest id a database row can have (SQLite and PostgreSQL BIGINT)


def fits(row_id: int) -> bool:
    """Whether a number from a path can name a row at all (a larger one makes the database driver overflow)."""
    return 0 < row_id <= LARGEST_ID


def unit_link(request: Request, p: Portal, token: str) -> UnitLink:
    """The checked link; a refused one is audited and raised (the app shows its Chinese message)."""
    try:
        return check(p.engine, p.key, token, p.now())
    except LinkError as exc:
        seen: UnitLink | None
        try:
            seen = read(p.key, token)
        except LinkError:
            seen = None
        audit.record_refusal(
            p.engine,
            p.now(),
            "link_refused",
            actor="anonymous",
            campaign_id=seen.campaign_id if seen else None,
            unit_code=seen.unit_code if seen else None,
            target=masked_path(request.url.path),
            detail=exc.reason,
            client=client_of(request),
        )
        raise


def load_page(p: Portal, link: UnitLink) -> UnitPage:
    try:
        return unit_page(p.engine, link.campaign_id, link.unit_code, p.as_of(), history=p.frozen)
    except StoreError:
        raise HTTPException(404, "本单位在这项工作中没有报送事项，或这项工作已被撤销。") from None


def _actor(link: UnitLink) -> str:
    return f"unit:{link.unit_code}"


@router.get("/u/{token}")
def unit_home(request: Request, token: str, p: Portal = Depends(portal)):
    """The unit's page. A chat client's link preview or a link checker asks with HEAD: it gets the GET's status and
    headers, its Content-Length too (duban.web.head), and no 查看 in the audit log (nobody has looked at it)."""
    link = unit_link(request, p, token)
    page = load_page(p, link)
    seen(
        request,
        p,
        "view",
        actor=_actor(link),
        campaign_id=link.campaign_id,
        unit_code=link.unit_code,
        target="报送页面",
    )
    return render_unit(request, p, token, page)


def render_unit(
    request: Request,
    p: Portal,
    token: str,
    page: UnitPage,
    *,
    error: str | None = None,
    error_at: tuple[str, str] | None = None,
    values: dict | None = None,
    status: int = 200,
):
    """The unit page, with a refusal shown at the item it concerns."""
    scope = f"unit:{page.campaign.id}:{page.unit.code}"
    csrf, nonce = csrf_for(request, p, scope)
    counts = {
        "done": sum(e.duty.shown.finished for e in page.entries),  # a 配合 item its lead handed in too
        "overdue": sum(e.duty.shown is State.overdue for e in page.entries),
        "open": sum(e.duty.shown in (State.open, State.due_soon) for e in page.entries),
        "pending": sum(e.duty.shown is State.pending for e in page.entries),  # not open yet: the parts add up
    }
    response = p.templates.TemplateResponse(
        request,
        "unit.html.j2",
        {
            "page": page,
            "token": token,
            "csrf": csrf,
            "tz": page.campaign.tz,
            "error": error,
            "error_at": error_at,
            "values": values or {},
            "counts": counts,
            "now": p.as_of(),
            "frozen": p.frozen,
            "Color": Color,
            "max_mb": p.settings.upload_max_mb,
            "max_files": MAX_FILES,
            "spec": page.campaign.spec,
            "receivers": page.receivers,
            "spec_items": {i.id: i for _s, i in page.campaign.spec.items()},
        },
        status_code=status,
    )
    set_csrf_cookie(request, response, nonce)
    return response


@router.post("/u/{token}/items/{item_id}")
async def unit_submit(request: Request, token: str, item_id: str, p: Portal = Depends(portal)):
    """The form is read here; checking, storing and answering run on a worker thread (database and disk block)."""
    link = await run_in_threadpool(unit_link, request, p, token)
    p.writable()  # a preview hands nothing in (before a byte of the upload is read)
    form = await request.form(max_files=MAX_FILES + 1, max_fields=60)
    try:
        return await run_in_threadpool(_submit, request, p, token, link, item_id, form)
    finally:
        await form.close()


def _submit(request: Request, p: Portal, token: str, link: UnitLink, item_id: str, form):
    check_csrf(request, p, f"unit:{link.campaign_id}:{link.unit_code}", form.get("csrf"))
    p.in_step(link.campaign_id, "报送")
    page = load_page(p, link)
    instance = str(form.get("instance") or "")
    entry = page.entry(item_id, instance)
    if entry is None:
        raise HTTPException(404, "本单位没有这一报送事项。")
    twice = [m for m in entry.item.metrics if len(form.getlist(f"m_{m.name}")) > 1]  # only a forged form
    values = {
        m.name: str(form.get(f"m_{m.name}")).strip()
        for m in entry.item.metrics
        if m not in twice and str(form.get(f"m_{m.name}") or "").strip()
    }
    now = p.now()
    try:
        if not entry.can_submit:
            raise SubmissionError("not open yet", cn="该事项尚未开始，暂不能报送。")
        if twice:
            raise SubmissionError(
                f"metric {twice[0].name} sent twice", cn=f"「{twice[0].label}」填写了两个值：请只填一个后重新提交。"
            )
        uploads = form.getlist("files")
        with saved_uploads(
            uploads, p.settings.home / "tmp", p.settings.upload_max_bytes, fallback=entry.item.name
        ) as paths:
            receipt = record_submission(
                p.engine,
                link.campaign_id,
                link.unit_code,
                item_id,
                now,
                files=paths,
                metrics=values,
                instance=instance,
                actor="portal",
                files_dir=p.settings.files_dir,
                max_bytes=p.settings.upload_max_bytes,
            )
    except SubmissionError as exc:
        return refused(
            request,
            p,
            exc.cn,
            lambda error: render_unit(
                request, p, token, page, error=error, error_at=(item_id, instance), values=values, status=400
            ),
            actor=_actor(link),
            campaign_id=link.campaign_id,
            unit_code=link.unit_code,
            target=item_id,
            at=now,
        )

    def audited(target: str, detail: str | None) -> None:
        audit.record(
            p.engine,
            now,
            "upload",
            actor=_actor(link),
            campaign_id=link.campaign_id,
            unit_code=link.unit_code,
            target=target,
            detail=detail,
            client=client_of(request),
        )

    if receipt.unchanged:  # posted again (a double tap, a reload): the unit is shown the version it handed in
        audited(f"{item_id} 与第{receipt.version}版相同，未另存", "、".join(x.name for x in paths) or None)
        return RedirectResponse(f"/u/{token}/receipts/{receipt.submission_id}?same=1", status_code=303)
    try:
        compose_messages(p.engine, link.campaign_id, now, quiet=p.settings.quiet(), recipients=[link.unit_code])
    except DatabaseError:  # the submission and its receipt intent are kept: the next tick composes the message
        log.exception("receipt message for %s not composed now; the next tick will", link.unit_code)
    audited(f"{item_id} 第{receipt.version}版", _kept_words(receipt.files) or None)
    announce = BackgroundTask(_announce, p.engine, link.campaign_id, link.unit_code, item_id, receipt)
    return RedirectResponse(f"/u/{token}/receipts/{receipt.submission_id}", status_code=303, background=announce)


def _kept_words(files) -> str:  # noqa: ANN001
    """The names a version keeps, as its record does: 甲.xlsx、乙.xlsx（丙.xlsx 与 甲.xlsx 内容相同，只保存一份）."""
    notes = "；".join(f.same_words() for f in files if f.also)
    return "、".join(f.name for f in files) + (f"（{notes}）" if notes else "")


def _announce(engine, campaign_id: str, unit_code: str, item_id: str, receipt) -> None:  # noqa: ANN001
    """duban.submission.received for operators' Prefect automations, after the unit has its answer."""
    from tasks.events import submission_received  # Prefect is loaded only when a submission comes in

    submission_received(engine, campaign_id, unit_code, item_id, receipt, via="portal")


def _own(p: Portal, link: UnitLink, submission_id: int):
    found = submission(p.engine, submission_id) if fits(submission_id) else None
    if found is None or found[0] != link.campaign_id or found[1] != link.unit_code:
        raise HTTPException(404, NOT_YOURS)
    if p.frozen and found[3].submitted_at > p.as_of():  # not handed in yet at the instant a preview shows
        raise HTTPException(404, NOT_YOURS)
    return found


@router.get("/u/{token}/receipts/{submission_id}")
def unit_receipt(request: Request, token: str, submission_id: int, p: Portal = Depends(portal)):
    link = unit_link(request, p, token)
    _campaign, _unit, item_id, version = _own(p, link, submission_id)
    page = load_page(p, link)
    entry = next((e for e in page.entries if any(v.id == submission_id for v in e.duty.versions)), None)
    if entry is None:
        raise HTTPException(404, NOT_YOURS)
    seen(
        request,
        p,
        "view",
        actor=_actor(link),
        campaign_id=link.campaign_id,
        unit_code=link.unit_code,
        target=f"回执 {submission_id}",
    )
    return p.templates.TemplateResponse(
        request,
        "receipt.html.j2",
        {
            "page": page,
            "entry": entry,
            "version": version,
            "receipt_no": receipt_number(version.id),
            "token": token,
            "tz": page.campaign.tz,
            "spec": page.campaign.spec,
            "frozen": p.frozen,
            "now": p.as_of(),
            "late_by": (version.submitted_at - entry.duty.due_at).total_seconds() if version.late else 0,
            "corrects": entry.corrects(version),
            "same": request.query_params.get("same") == "1",
        },
    )


@router.get("/u/{token}/files/{submission_id}/{index}")
def unit_file(request: Request, token: str, submission_id: int, index: int, p: Portal = Depends(portal)):
    link = unit_link(request, p, token)
    version = _own(p, link, submission_id)[3]
    response = file_response(p, version.files, index)
    seen(
        request,
        p,
        "download",
        actor=_actor(link),
        campaign_id=link.campaign_id,
        unit_code=link.unit_code,
        target=version.files[index]["name"],
    )
    return response


MEDIA = {"pdf": "application/pdf", "jpg": "image/jpeg", "png": "image/png", "mp4": "video/mp4"}


def file_response(p: Portal, files: list[dict], index: int) -> FileResponse:
    """A stored file as an attachment under the name it was handed in with."""
    if not 0 <= index < len(files):
        raise HTTPException(404, NOT_YOURS)
    meta = files[index]
    path = p.settings.files_dir / meta["sha256"][:2] / meta["sha256"]
    if not path.is_file():
        raise HTTPException(404, "文件已不在存储中，请联系督办工作人员。")
    return FileResponse(
        path, filename=meta["name"], media_type=MEDIA.get(meta.get("format") or "", "application/octet-stream")
    )
