"""Score sheets (评分表) on the operators' pages: each sample's units with a form per unit, the xlsx template to
download and a filled one to upload.

Everything is kept through `record_scores` (the path `duban scores import` takes): totals, 达标, a 整改
assignment for a failing unit, every version. Every entry, refusal, download and import is audited. Scoring is
for operators: a spec does not say which unit scores which sample, so a county's link does not score its
townships (it hands in its own score sheet as a file, as the notice asks).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response

from duban.domain.file_titles import titled_file_name
from duban.domain.scoring import sample_label
from duban.errors import SubmissionError
from duban.instants import fmt, in_zone
from duban.services import audit
from duban.services.score_import import export_template, import_workbook
from duban.services.scores import ScoreError, record_scores
from duban.views.samples import sample_members
from duban.views.scores import form_entry, sample_scores, score_sheets
from duban.views.unit_lookup import unit_named
from duban.web.context import Portal, client_of, portal
from duban.web.head import seen
from duban.web.ops_routes import campaign_or_404, operator, page
from duban.web.refusals import refused
from duban.web.security import check_csrf
from duban.web.uploads import saved_uploads

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _base(campaign_id: str) -> str:
    return f"/ops/c/{quote(campaign_id)}/scores"


@router.get("/ops/c/{campaign_id}/scores")
def overview(request: Request, campaign_id: str, p: Portal = Depends(portal), who: str = Depends(operator)):
    campaign = campaign_or_404(p, campaign_id)
    rows = score_sheets(p.engine, campaign_id, p.as_of())
    seen(
        request,
        p,
        "view",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        target="评分表",
    )
    return page(
        request,
        p,
        "scores.html.j2",
        {"campaign": campaign, "rows": rows, "who": who, "tz": campaign.tz},
        scope=f"ops:{who}",
    )


def _sample_page(
    request: Request,
    p: Portal,
    who: str,
    campaign_id: str,
    sheet_id: str,
    sample_id: str,
    *,
    under: str | None = None,
    status: int = 200,
    **extra,
):
    try:
        view = sample_scores(p.engine, campaign_id, sheet_id, sample_id, p.as_of(), under=under or None)
    except (SubmissionError, StopIteration):
        raise HTTPException(404, "这张评分表没有这个样本。") from None
    context = {
        "view": view,
        "who": who,
        "tz": view.campaign.tz,
        "today": in_zone(p.as_of(), view.campaign.tz).date(),
        "errors": {},
        "values": {},
        "error_unit": None,
        "import_problems": [],
        "saved": None,
        "max_mb": p.settings.upload_max_mb,
        **extra,
    }
    return page(request, p, "score_sample.html.j2", context, scope=f"ops:{who}", status=status)


@router.get("/ops/c/{campaign_id}/scores/{sheet_id}/{sample_id}")
def sample(
    request: Request,
    campaign_id: str,
    sheet_id: str,
    sample_id: str,
    under: str = "",
    saved: str = "",
    p: Portal = Depends(portal),
    who: str = Depends(operator),
):
    campaign_or_404(p, campaign_id)
    response = _sample_page(
        request,
        p,
        who,
        campaign_id,
        sheet_id,
        sample_id,
        under=under[:64],
        saved=saved[:64] or None,
        imported=request.query_params.get("imported"),
        failed=request.query_params.get("failed"),
    )
    seen(
        request,
        p,
        "view",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        target=f"评分表 {sample_id}" + (f" {under}" if under else ""),
    )
    return response


@router.post("/ops/c/{campaign_id}/scores/{sheet_id}/{sample_id}/u/{unit_code}")
async def score_unit(
    request: Request,
    campaign_id: str,
    sheet_id: str,
    sample_id: str,
    unit_code: str,
    p: Portal = Depends(portal),
    who: str = Depends(operator),
):
    p.writable()
    form = await request.form(max_files=0, max_fields=80)
    fields = {k: str(v) for k, v in form.items()}
    return await run_in_threadpool(_score_unit, request, p, who, campaign_id, sheet_id, sample_id, unit_code, fields)


def _score_unit(
    request: Request,
    p: Portal,
    who: str,
    campaign_id: str,
    sheet_id: str,
    sample_id: str,
    unit_code: str,
    fields: dict[str, str],
):
    check_csrf(request, p, f"ops:{who}", fields.get("csrf"))
    campaign = campaign_or_404(p, campaign_id)
    sheet = next((s for s in campaign.spec.score_sheets if s.id == sheet_id and sample_id in s.samples), None)
    if sheet is None:
        raise HTTPException(404, "这张评分表没有这个样本。")
    members = sample_members(p.engine, campaign_id, sample_id)
    unit = unit_named(p.engine, campaign_id, unit_code)
    if unit is None or unit_code not in members:
        raise HTTPException(404, "这个单位不在该样本中。")
    now, actor, under = p.now(), f"operator:{who}", fields.get("under", "")[:64]
    label = f"{sample_label(next(s.name for s in campaign.spec.samples if s.id == sample_id))} {unit.display}"
    entry, errors = form_entry(sheet, unit, fields, in_zone(now, campaign.tz).date(), members)
    if not errors:
        try:
            [outcome] = record_scores(
                p.engine,
                campaign_id,
                sample_id,
                [entry],
                at=now,
                sheet_id=sheet.id,
                actor=actor,
                source="portal",
                calendar_file=p.settings.calendar_file,
            )
        except ScoreError as exc:
            errors = {"unit": "；".join(d.short_cn for d in exc.details)}
    if errors:
        return refused(
            request,
            p,
            "；".join(errors.values()),
            lambda _message: _sample_page(
                request,
                p,
                who,
                campaign_id,
                sheet_id,
                sample_id,
                under=under,
                status=400,
                errors=errors,
                values=fields,
                error_unit=unit_code,
            ),
            action="score",
            actor=actor,
            campaign_id=campaign_id,
            unit_code=unit_code,
            target=label,
            at=now,
        )
    verdict = "达标" if outcome.passed else "未达标"
    follow = f"，整改截止 {fmt(outcome.follow_up_due, campaign.tz)}" if outcome.follow_up_due else ""
    follow += "，整改已免（复查达标）" if outcome.follow_up_excused else ""
    audit.record(
        p.engine,
        now,
        "score",
        actor=actor,
        campaign_id=campaign_id,
        unit_code=unit_code,
        target=f"{label} 第{outcome.version}版",
        detail=f"合计 {outcome.total:g} 分，{verdict}{follow}",
        client=client_of(request),
    )
    query = f"?saved={quote(unit_code)}" + (f"&under={quote(under)}" if under else "")
    return RedirectResponse(
        f"{_base(campaign_id)}/{quote(sheet_id)}/{quote(sample_id)}{query}#u-{quote(unit_code)}", status_code=303
    )


@router.get("/ops/c/{campaign_id}/scores/{sheet_id}/{sample_id}/template.xlsx")
def template(
    request: Request,
    campaign_id: str,
    sheet_id: str,
    sample_id: str,
    under: str = "",
    p: Portal = Depends(portal),
    who: str = Depends(operator),
):
    campaign = campaign_or_404(p, campaign_id)
    sheet = next((s for s in campaign.spec.score_sheets if s.id == sheet_id and sample_id in s.samples), None)
    if sheet is None:
        raise HTTPException(404, "这张评分表没有这个样本。")
    folder = p.settings.home / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix="template-", suffix=".xlsx", dir=folder)
    os.close(handle)
    path = Path(name)
    try:
        export_template(p.engine, campaign_id, [sample_id], path, sheet_id=sheet.id, under=under[:64] or None)
        data = path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
    name = f"{sheet.name}-{sample_label(next(s.name for s in campaign.spec.samples if s.id == sample_id))}"
    if under:
        found = unit_named(p.engine, campaign_id, under)
        name += f"-{found.display if found else under}"
    seen(
        request,
        p,
        "download",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        target=f"评分表模板 {sample_id}" + (f" {under}" if under else ""),
    )
    return Response(
        data,
        media_type=XLSX,
        headers={
            "Content-Disposition": 'attachment; filename="scores.xlsx"; '
            f"filename*=UTF-8''{quote(titled_file_name(name + '.xlsx'))}"
        },
    )


@router.post("/ops/c/{campaign_id}/scores/{sheet_id}/{sample_id}/import")
async def import_scores(
    request: Request,
    campaign_id: str,
    sheet_id: str,
    sample_id: str,
    p: Portal = Depends(portal),
    who: str = Depends(operator),
):
    p.writable()
    form = await request.form(max_files=2, max_fields=10)
    try:
        return await run_in_threadpool(_import, request, p, who, campaign_id, sheet_id, sample_id, form)
    finally:
        await form.close()


def _import(request: Request, p: Portal, who: str, campaign_id: str, sheet_id: str, sample_id: str, form):
    check_csrf(request, p, f"ops:{who}", form.get("csrf"))
    campaign_or_404(p, campaign_id)
    now, actor, under = p.now(), f"operator:{who}", str(form.get("under") or "")[:64]
    name = ""
    try:
        with saved_uploads(form.getlist("file"), p.settings.home / "tmp", p.settings.upload_max_bytes) as paths:
            if len(paths) != 1:
                raise SubmissionError("one xlsx file", cn="请选择一个填好的评分表（xlsx）。")
            name = paths[0].name
            result = import_workbook(
                p.engine,
                campaign_id,
                paths[0],
                at=now,
                sheet_id=sheet_id,
                actor=actor,
                calendar_file=p.settings.calendar_file,
            )
    except SubmissionError as exc:
        problems = [d.cn for d in exc.details] if isinstance(exc, ScoreError) else [exc.cn]
        return refused(
            request,
            p,
            "；".join(problems),
            lambda _message: _sample_page(
                request, p, who, campaign_id, sheet_id, sample_id, under=under, status=400, import_problems=problems
            ),
            action="score_import",
            actor=actor,
            campaign_id=campaign_id,
            target=name or None,
            at=now,
        )
    outcomes = [o for found in result.outcomes.values() for o in found]
    failed = sum(not o.passed for o in outcomes)
    audit.record(
        p.engine,
        now,
        "score_import",
        actor=actor,
        campaign_id=campaign_id,
        target=name,
        detail=f"{len(outcomes)} 个单位，未达标 {failed} 个（" + "、".join(result.outcomes) + "）",
        client=client_of(request),
    )
    query = f"?imported={len(outcomes)}&failed={failed}" + (f"&under={quote(under)}" if under else "")
    return RedirectResponse(f"{_base(campaign_id)}/{quote(sheet_id)}/{quote(sample_id)}{query}", status_code=303)
