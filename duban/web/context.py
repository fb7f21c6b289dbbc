"""What every request handler needs: settings, the engine, the signing key, the clock, the templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from duban.domain.state import Color
from duban.domain.units import Level
from duban.instants import fmt, fmt_cn_from, in_zone, span_words
from duban.services.submit import same_words
from duban.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

ACTIONS_CN = {
    "view": "查看",
    "upload": "报送",
    "refused": "拒收",
    "download": "下载",
    "export": "导出汇总表",
    "login": "登录",
    "link_refused": "链接被拒",
    "revoke": "停用链接",
    "score": "评分",
    "score_import": "导入评分表",
    "logout": "退出",
    "password": "修改密码",
    "acknowledge": "签收",
    "extension": "延期申请",
    "review": "审核",
    "name_units": "指定抽查单位",
}
COLOR_CLASS = {Color.red: "red", Color.yellow: "yellow", Color.green: "green", Color.grey: "grey"}
ACTORS_CN = {
    "anonymous": "未登录的访问者",
    "cli": "管理员（命令行）",
    "portal": "单位（报送平台）",
    "simulated": "模拟数据（演示）",
    "tick": "督办巡检",
    "amend": "调整通知",
}
REASONS_CN = {"tampered": "链接不完整或被改动", "expired": "链接已过期", "revoked": "链接已停用"}


def actor_cn(actor: str | None, names: dict[str, str] | None = None) -> str:
    """Who did it, in the words operators use: 督办人员 duban, 昔阳县统计局, 模拟数据 — never operator:duban or
    unit:140724."""
    if not actor:
        return ""
    kind, _, rest = actor.partition(":")
    if kind == "operator" and rest:
        return f"督办人员 {rest}"
    if kind == "login":
        return f"未知用户名 {rest}"  # a refused login under a name no operator has
    if kind == "unit" and rest:
        return (names or {}).get(rest) or f"单位 {rest}"
    if kind == "rollup":
        return "duban 自动汇总"
    if kind == "forward":
        return "duban 自动上报（转发的通知）"
    return ACTORS_CN.get(actor, actor)


PREVIEW_CN = "预览模式：页面按 {at} 时的记录显示，只能查看；报送、评分和停用链接请到正式平台办理。"


@dataclass
class Portal:
    """The running portal. `clock` is the wall clock (a test moves it): sessions, links, the lockout and the audit
    log run on it. `preview_at` (`duban serve --as-of`) shows the record as it stood at that instant, read-only:
    nothing is written for that instant, so a preview never hands in anything or dates anything in the past."""

    settings: Settings
    engine: Engine
    key: bytes
    clock: Callable[[], datetime]
    preview_at: datetime | None
    templates: Jinja2Templates

    def now(self) -> datetime:
        return self.clock()

    def as_of(self) -> datetime:
        """The instant the pages show the record at."""
        return self.preview_at or self.clock()

    @property
    def frozen(self) -> bool:
        """A preview: pages say so and every form that would write is refused."""
        return self.preview_at is not None

    def writable(self) -> None:
        """Refuse a write in a preview (a 409 page that says why)."""
        if self.preview_at is not None:
            raise HTTPException(409, PREVIEW_CN.format(at=fmt(self.preview_at, self.settings.timezone)))

    def in_step(self, campaign_id: str, what: str) -> None:
        """Refuse a write dated at the wall clock on a campaign whose record stands still behind it (a 409 page that
        says why): it would move a simulated campaign's record to today (duban.services.lifecycle.simulated_behind).
        `what`: the act refused, as the page names it (签收, 报送 …)."""
        from duban.services.lifecycle import simulated_behind

        now = self.now()
        behind = simulated_behind(self.engine, campaign_id, now)
        if behind is None:
            return
        last, tz = behind
        raise HTTPException(
            409,
            f"这项工作按模拟时钟运行（演示），记录停在{fmt_cn_from(last, tz, now)}，不能按现在的时间{what}："
            "那样会把这项工作的记录推到今天。要按这项工作自己的时间补登，请用命令行的 --at（如 duban ack --at）。",
        )

    @property
    def link_lifetime(self) -> timedelta:
        return timedelta(days=self.settings.link_days)


def portal(request: Request) -> Portal:
    """The portal of the running app (a FastAPI dependency)."""
    return request.app.state.portal


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
    env = templates.env
    env.autoescape = True  # every template is HTML (select_autoescape would miss the .html.j2 names)
    env.trim_blocks = env.lstrip_blocks = True
    env.filters.update(
        when=_dated,
        due=_dated,
        stamp=_stamp,
        size=_size,
        css=lambda colour: COLOR_CLASS.get(colour, "grey"),
        accept=lambda formats: ",".join(f".{f}" + (",.jpeg" if f == "jpg" else "") for f in formats),
        value=_value,
        g=lambda number: f"{number:g}",
        example=_example,
    )
    env.globals.update(
        span_words=span_words,
        Color=Color,
        levels_cn={lv.value: lv.cn for lv in Level},
        actions_cn=ACTIONS_CN,
        actor_cn=actor_cn,
        reasons_cn=REASONS_CN,
        same_words=lambda f: same_words(f["name"], f.get("also") or ()),
    )
    return templates


@pass_context
def _dated(context: Context, moment: datetime | None, tz: str, due: datetime | None = None) -> str:
    """An instant or a due as messages write it (7月1日 周一 24:00), with its year when that is not the year of the
    page's now (a 2024 notice's 5月25日 read in 2026); a hand-in with its `due`, with the seconds that made it late
    (duban.instants.seconds_decide)."""
    return fmt_cn_from(moment, tz, context.get("now"), due=due) if moment else ""


def _stamp(moment: datetime | None, tz: str, due: datetime | None = None) -> str:
    """'2024-07-01 周一 24:00' (duban.instants.fmt), a hand-in with its `due` as `_dated`."""
    return fmt(moment, tz, due=due) if moment else ""


def example_day(after: datetime, tz: str) -> str:
    """A date to show as a form's example (如 2024-06-01): a week after `after` (a due in force, or now), in the
    campaign's zone — a date of the campaign's own time that the form would take, never a fixed past year."""
    return (in_zone(after, tz) + timedelta(days=7)).date().isoformat()


@pass_context
def _example(context: Context, due: datetime | None, tz: str) -> str:
    """`example_day` after the later of `due` and the page's now."""
    now = context.get("now")
    return example_day(max(d for d in (due, now) if d is not None), tz)


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _size(n: int | None) -> str:
    if n is None:
        return ""
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{max(n / 1024, 0.1):.1f} KB" if n < 10 * 1024 else f"{n / 1024:.0f} KB"
