"""The JSON API (read-only, OpenAPI at /api/openapi.json): a unit's duties by its link token, and for a
logged-in operator the campaigns and their 红黄绿 matrix. Writes go through the pages, which carry CSRF tokens.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from duban.domain.values import cell as value_cell
from duban.errors import StoreError
from duban.instants import utc, zone
from duban.views.campaigns import campaign_ids, load_campaign
from duban.views.matrix import matrix
from duban.views.unit_lookup import units_in
from duban.web.context import Portal, portal
from duban.web.head import seen
from duban.web.security import operator_of
from duban.web.unit_routes import load_page, unit_link

router = APIRouter(prefix="/api", tags=["api"])
_EARLIEST = datetime(2001, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(2099, 1, 1, tzinfo=timezone.utc)


class Problem(BaseModel):
    detail: str = Field(description="what went wrong, in Chinese")


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "not logged in"},
    403: {"model": Problem, "description": "the link is tampered with, expired or revoked"},
    404: {"model": Problem, "description": "no such campaign or unit"},
    422: {"model": Problem, "description": "a parameter is malformed"},
}


class FileOut(BaseModel):
    name: str
    size: int
    format: str
    sha256: str


class VersionOut(BaseModel):
    version: int
    submitted_at: datetime
    late: bool
    files: list[FileOut]
    metrics: dict[str, Any]


class MetricOut(BaseModel):
    name: str
    label: str
    type: str
    unit: str | None
    min: float | None
    max: float | None
    required: bool


class DutyOut(BaseModel):
    stage_id: str
    stage: str
    item_id: str
    item: str
    instance: str
    open_at: datetime
    due_at: datetime
    state: str = Field(description="pending | open | due_soon | overdue | submitted | late | excused")
    state_cn: str
    color: Literal["红", "黄", "绿", "灰"]
    formats: list[str]
    metrics: list[MetricOut]
    versions: list[VersionOut]


class UnitOut(BaseModel):
    campaign_id: str
    campaign: str
    issuer: str
    unit_code: str
    unit: str
    as_of: datetime
    duties: list[DutyOut]


class CampaignOut(BaseModel):
    id: str
    title: str
    issuer: str
    doc_no: str | None
    units: int
    stages: list[str]


class RowOut(BaseModel):
    code: str
    unit: str
    level: str | None
    parent: str
    overall: Literal["红", "黄", "绿", "灰"]
    cells: dict[str, Literal["红", "黄", "绿", "灰"]] = Field(description="item id → colour")


class StatusOut(BaseModel):
    campaign_id: str
    as_of: datetime
    total: int = Field(description="rows matching the filters")
    items: list[str] = Field(description="item ids, in the notice's order")
    rows: list[RowOut]


class Health(BaseModel):
    status: Literal["ok"]


@router.get("/health", response_model=Health)
def health() -> Health:
    """Liveness."""
    return Health(status="ok")


@router.get("/u/{token}", response_model=UnitOut, responses={k: ERRORS[k] for k in (403, 404, 422)})
def unit_duties(request: Request, token: str = Path(max_length=700), p: Portal = Depends(portal)) -> UnitOut:
    """A unit's duties with dues, states and submitted versions (the link token is the credential)."""
    link = unit_link(request, p, token)
    page = load_page(p, link)
    seen(
        request,
        p,
        "view",
        actor=f"unit:{link.unit_code}",
        campaign_id=link.campaign_id,
        unit_code=link.unit_code,
        target="JSON 接口",
    )
    duties = [
        DutyOut(
            stage_id=e.stage.id,
            stage=e.stage.name,
            item_id=e.item.id,
            item=e.item.name,
            instance=e.duty.instance,
            open_at=e.duty.open_at,
            due_at=e.duty.due_at,
            state=e.duty.state.value,
            state_cn=e.duty.shown_cn,  # a 配合 item its lead handed in: 已报送（牵头单位）, as its colour says
            color=e.duty.color.value,
            formats=list(e.item.formats),
            metrics=[
                MetricOut(**m.model_dump(include={"name", "label", "type", "unit", "min", "max", "required"}))
                for m in e.item.metrics
            ],
            versions=[
                VersionOut(
                    version=v.version,
                    submitted_at=v.submitted_at,
                    late=v.late,
                    files=[FileOut(**{k: f[k] for k in ("name", "size", "format", "sha256")}) for f in v.files],
                    metrics={k: value_cell(x) for k, x in v.metrics.items()},
                )
                for v in e.duty.versions
            ],
        )
        for e in page.entries
    ]
    spec = page.campaign.spec
    return UnitOut(
        campaign_id=page.campaign.id,
        campaign=spec.title,
        issuer=spec.issuer,
        unit_code=page.unit.code,
        unit=page.unit.display,
        as_of=page.as_of,
        duties=duties,
    )


def api_operator(request: Request, p: Portal = Depends(portal)) -> str:
    name = operator_of(request, p)
    if name is None:
        raise HTTPException(401, "请先登录运营人员账号。")
    return name


@router.get("/campaigns", response_model=list[CampaignOut], responses={401: ERRORS[401]})
def campaigns(p: Portal = Depends(portal), who: str = Depends(api_operator)) -> list[CampaignOut]:
    """The planned campaigns."""
    out = []
    for cid in campaign_ids(p.engine):
        c = load_campaign(p.engine, cid, units=False)
        units = units_in(p.engine, cid)
        out.append(
            CampaignOut(
                id=c.id,
                title=c.spec.title,
                issuer=c.spec.issuer,
                doc_no=c.spec.doc_no,
                units=units,
                stages=c.stage_ids(),
            )
        )
    return out


@router.get("/campaigns/{campaign_id}/status", response_model=StatusOut, responses=ERRORS)
def status(
    request: Request,
    campaign_id: str = Path(max_length=80),
    level: Literal["province", "prefecture", "county", "township"] | None = None,
    parent: str | None = Query(default=None, max_length=64, description="this unit and every unit below it"),
    only: Literal["red", "yellow", "green", "grey"] | None = Query(default=None, description="one overall colour"),
    as_of: datetime | None = Query(
        default=None,
        description="default now; a time without zone is the campaign's; "
        "instants outside 2001–2099 are read as those years' bounds",
    ),
    offset: int = Query(default=0, ge=0, le=1_000_000),
    limit: int = Query(default=200, ge=1, le=1000),
    p: Portal = Depends(portal),
    who: str = Depends(api_operator),
) -> StatusOut:
    """The units × items matrix in 红黄绿 at an instant."""
    try:
        campaign = load_campaign(p.engine, campaign_id, units=False)
    except StoreError:
        raise HTTPException(404, "没有这项专项工作。") from None
    moment = p.as_of() if as_of is None else as_of if as_of.tzinfo else as_of.replace(tzinfo=zone(campaign.tz))
    if not 2000 < moment.year < 2100:  # every campaign lies inside: further out, the states are those of the bounds
        moment = _EARLIEST if moment.year <= 2000 else _LATEST
    grid = matrix(
        p.engine,
        campaign_id,
        moment,
        level=level,
        parent=parent,
        only=only,
        offset=offset,
        limit=limit,
        history=p.frozen,
    )
    seen(
        request,
        p,
        "view",
        actor=f"operator:{who}",
        campaign_id=campaign_id,
        target="JSON 接口：红黄绿矩阵",
    )
    rows = [
        RowOut(
            code=r.code,
            unit=r.display,
            level=r.level,
            parent=r.parent,
            overall=r.overall.value,
            cells={k: c.color.value for k, c in r.cells.items()},
        )
        for r in grid.rows
    ]
    return StatusOut(
        campaign_id=campaign_id, as_of=utc(moment), total=grid.total, items=[i.id for _s, i in grid.columns], rows=rows
    )
