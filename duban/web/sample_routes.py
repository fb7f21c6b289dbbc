"""由上级指定 on the portal: a parent unit names its own units for an open sample from its page, before the draw.

The form goes through the same service as the CLI's draw (duban.services.sample_naming keeps what was named,
`duban sample draw` takes it); a refusal — another parent's unit, the wrong number, a sample already drawn —
shows its Chinese reason at the form, naming the field, and is audited like any refusal.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException

from duban.errors import RequestError
from duban.services import audit
from duban.services.sample_naming import FIELD, name_units
from duban.web.context import Portal, client_of, portal
from duban.web.refusals import refused
from duban.web.security import check_csrf
from duban.web.unit_routes import load_page, render_unit, unit_link

router = APIRouter(include_in_schema=False)
MAX_FIELDS = 200  # a county's townships, each a checkbox, and the token
NAMING = "#naming"  # error_at[0] of a refusal shown at a naming form (no item id starts with #)


@router.post("/u/{token}/samples/{sample_id}/named")
async def parent_names_units(request: Request, token: str, sample_id: str, p: Portal = Depends(portal)):
    """A parent names its units for an open sample (指定); what it named before is replaced."""
    link = unit_link(request, p, token)
    p.writable()  # a preview changes nothing
    try:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    except HTTPException:  # more fields than any parent has units: said at the form, not as a bare 400
        return refused(
            request,
            p,
            f"{FIELD}：一次提交的单位过多，请只勾选要指定的单位。",
            lambda error: render_unit(
                request, p, token, load_page(p, link), error=error, error_at=(NAMING, sample_id[:80]), status=400
            ),
            actor=f"unit:{link.unit_code}",
            campaign_id=link.campaign_id,
            unit_code=link.unit_code,
            target=f"{sample_id[:80]} 指定单位",
        )
    check_csrf(request, p, f"unit:{link.campaign_id}:{link.unit_code}", form.get("csrf"))
    codes = [str(v)[:64] for v in form.getlist("units")]
    now, sample = p.now(), sample_id[:80]
    try:
        named = name_units(
            p.engine,
            link.campaign_id,
            sample,
            link.unit_code,
            codes,
            at=now,
            actor=f"unit:{link.unit_code}",
            calendar_file=p.settings.calendar_file,
        )
    except RequestError as exc:
        return refused(
            request,
            p,
            exc.cn,
            lambda error: render_unit(
                request, p, token, load_page(p, link), error=error, error_at=(NAMING, sample), status=400
            ),
            actor=f"unit:{link.unit_code}",
            campaign_id=link.campaign_id,
            unit_code=link.unit_code,
            target=f"{sample} 指定单位",
            at=now,
        )
    audit.record(
        p.engine,
        now,
        "name_units",
        actor=f"unit:{link.unit_code}",
        campaign_id=link.campaign_id,
        unit_code=link.unit_code,
        target=f"{sample} 指定单位",
        detail="、".join(named.named),
        client=client_of(request),
    )
    return RedirectResponse(f"/u/{token}?named=1#naming-{sample}", status_code=303)
