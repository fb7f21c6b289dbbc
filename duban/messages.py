"""Render an outbox message for staff: Chinese text with each item, its absolute due and time left.

The outbox row keeps structured content (what is due, when, for whom); rendering happens at send time,
so every channel gets its own shape and a template fix applies to messages still waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from duban.instants import fmt_cn, span_words

KIND_CN = {
    "opened": "开始办理",
    "reminder": "即将截止",
    "overdue": "逾期未报",
    "escalation": "逾期催办",
    "receipt": "报送回执",
}
SECTION_LEAD = {
    "opened": "以下事项已开始办理，请按时报送：",
    "reminder": "以下事项即将截止，请抓紧报送：",
    "overdue": "以下事项已逾期未报，请尽快报送：",
    "escalation": "以下单位的事项逾期未报，请督促办理：",
    "receipt": "已收到您单位报送的以下事项：",
}
ORDER = ("escalation", "overdue", "reminder", "opened", "receipt")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("duban", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )


def render(
    payload: dict,
    *,
    title: str,
    issuer: str,
    doc_no: str | None,
    tz: str,
    key: str,
    contacts: list[str] = (),  # type: ignore[assignment]
    link: str | None = None,
    now: datetime | None = None,
) -> Rendered:
    """Subject and text of one message; time left or overdue is counted to `now` (the send), else its composing."""
    as_of = now or datetime.fromisoformat(payload["as_of"])
    sections = []
    for kind in ORDER:
        entries = [_entry(item, as_of, tz) for item in payload["items"] if item["kind"] == kind]
        if entries:
            lead = SECTION_LEAD[kind]
            if kind == "escalation" and payload["recipient"].startswith("leader:"):
                lead = "您包联的以下单位事项逾期未报，请过问督办："
            sections.append({"lead": lead, "entries": entries})
    text = _env().get_template("message.txt.j2").render(
        title=title, recipient=payload["recipient_display"], sections=sections, link=link,
        contacts=list(contacts), issuer=issuer, doc_no=doc_no, key=key[:12],
    )  # fmt: skip
    count = len(payload["items"])
    subject = f"【督办】{title}：{KIND_CN[payload['kind']]}（{count}项）"
    return Rendered(subject=subject, text=text.strip() + "\n")


def _entry(item: dict, as_of: datetime, tz: str) -> dict:
    due = datetime.fromisoformat(item["due_at"])
    left = (due - as_of).total_seconds()
    if item["kind"] == "receipt":
        submitted = datetime.fromisoformat(item["event_at"])
        on_time = "按时报送" if submitted <= due else f"逾期{span_words((submitted - due).total_seconds())}报送"
        when = f"报送时间：{fmt_cn(submitted, tz)}（{on_time}）"
    elif item["kind"] in ("overdue", "escalation") or left < 0:
        late = f"已逾期{span_words(left)}" if left <= -60 else "已逾期"
        when = f"截止：{fmt_cn(due, tz)}（{late}）"
    else:
        when = f"截止：{fmt_cn(due, tz)}前（还有{span_words(left)}）"
    details = []
    if item.get("formats"):
        details.append("格式：" + "、".join(item["formats"]) + ("（PDF需加盖公章）" if item.get("stamped") else ""))
    if item.get("submit_to"):
        details.append(f"报送至：{item['submit_to']}")
    unit_line = item["unit_display"] if item["kind"] == "escalation" else None
    return {
        "stage": item["stage"],
        "item": item["item"],
        "instance": item.get("instance") or "",
        "when": when,
        "detail": "｜".join(details),
        "unit_line": unit_line,
    }
