"""Render an outbox message for staff: Chinese text with each item, its absolute due and time left.

The outbox row keeps structured content (what is due, when, for whom); rendering happens at send time,
so every channel gets its own shape and a template fix applies to messages still waiting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from jinja2 import Environment, PackageLoader, StrictUndefined

from duban.domain.message_keys import message_number
from duban.instants import fmt_cn, fmt_cn_from, span_words
from duban.spec.models import Contact

KIND_CN = {
    "opened": "开始办理",
    "reminder": "即将截止",
    "overdue": "逾期未报",
    "escalation": "逾期催办",
    "receipt": "报送回执",
    "digest": "每日简报",
    "amended": "截止时间调整",
    "corrected": "更正",
    "extended": "延期告知",
    "extension": "延期申请答复",
    "returned": "退回重报",
    "accepted": "审核通过",
    "ack_reminder": "签收提醒",
    "ack_escalation": "签收催办",
    "review_reminder": "审核提醒",
    "bulletin": "通报",
}
SECTION_LEAD = {
    "opened": "以下事项已开始办理，请按时报送：",
    "reminder": "以下事项即将截止，请抓紧报送：",
    "overdue": "以下事项已逾期未报，请尽快报送：",
    "escalation": "以下单位的事项逾期未报，请督促办理：",
    "receipt": "已收到您单位报送的以下事项：",
    "amended": "以下事项的截止时间已调整，请按新的时间报送：",
    "corrected": (
        "更正：下列单位的事项此前在催办中列为逾期未报，经核实已按时报送，对其的催办作废；催办中的其他事项不变："
    ),
    "extended": "以下单位的事项已批准延期，此前的催办暂缓，请按新的截止时间督促办理：",
    "extension": "您单位的延期申请已有答复：",
    "returned": "以下材料经审核退回，请按要求修改后重新报送：",
    "accepted": "以下材料已审核通过：",
    "ack_reminder": "以下通知您单位尚未签收，请打开链接点击“签收”：",
    "ack_escalation": "以下单位逾期未签收通知，请督促签收：",
    "review_reminder": "以下下级单位报送的材料等待您单位审核，请尽快审核（通过或退回）：",
}
OPERATORS_REVIEW_LEAD = "以下单位报送的材料等待审核，请尽快审核（通过或退回）："
OWN_CORRECTION_LEAD = (
    "更正：下列事项此前通知您单位逾期未报，经核实已按时报送，对其的逾期通知作废；原通知中的其他事项仍须办理："
)
ROLE_KEY = "role"  # an item's key for the unit's role in it, carried only when it is not RESPONSIBLE
RESPONSIBLE = "responsible"
ROLES = ("lead", "cooperating")  # a 牵头 and a 配合 unit of one item read what each is to do (a tester's finding)
PARTNERS_KEY = "partners"  # the item's units of the other role beside it (duban.services.role_notes)
PARTNERS_NAMED = 3
WITH_LEAD_KEY = "with_lead"  # a 截止时间调整 that follows the 牵头 unit's extension (duban.services.extension)
MISSING_KEY = "missing"  # a roll-up item's units below not yet in, at the send (duban.services.rollup_notes)
CORRECTS_KEY = "corrects"  # a receipt's correction after the due: the on-time first hand-in (services.receipt_notes)
ACK_DUE_KEY = "ack_due"  # an opening's 签收 due as the record holds it at the send, "" once given (services.ack_notes)
SETTLED_KEY = "settled_requests"  # 延期申请 the change settled as 不再需要: [{until, why}] (services.extension)
RECEIVED_KEY = "received"  # a receipt's files and figures as kept, at the send (duban.services.receipt_contents)
MISSING_NAMED = 30  # names listed before "等N个": a county's 350 enterprises would fill a phone's screen many times
OWN_DUTY = ("opened", "reminder", "overdue", "amended", "returned")  # kinds that tell a unit of its own duty
# kinds that ask their recipient to hand something in: only these say the formats (格式：xlsx、pdf) — in a leader's
# 催办 or a 审核通过 the line was noise, in a receipt it read as what was received (an outside tester's finding)
HAND_IN = (*OWN_DUTY, "extension")
# a 签收提醒 without a unit link (no DUBAN_PORTAL_URL): nothing to open, the issuer records the 签收 (duban ack)
ACK_REMINDER_NO_LINK_LEAD = "以下通知您单位尚未签收，请向发文单位确认签收："
# a 退回 sent after the unit handed the item in again (duban.store.freshness sets again_at): its reason still goes,
# and the heading no longer asks for a file that is in (each item says when the newer version came)
RETURNED_AGAIN_LEAD = "以下材料经审核退回，您单位已重新报送："
RETURNED_SOME_AGAIN_LEAD = "以下材料经审核退回，尚未重新报送的请按要求修改后重新报送："
RETURNED_AGAIN_CN = "已退回（已重新报送）"
ORDER = (
    "escalation",
    "ack_escalation",
    "overdue",
    "ack_reminder",
    "review_reminder",
    "returned",
    "amended",
    "corrected",
    "extended",
    "extension",
    "reminder",
    "opened",
    "accepted",
    "receipt",
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    context: dict = field(default_factory=dict, compare=False, repr=False)  # for the HTML (e-mail) version


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=PackageLoader("duban.domain", "templates"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
        auto_reload=False,  # templates ship with the package: no stat() per message
    )


def contact_lines(contacts: Sequence[Contact], recipient: str, display: str) -> list[str]:
    """The notice's 联系人 as a message to `recipient` (its code and name) lists them: never the recipient itself —
    the 设管科, the notice's contact, was told in its own 逾期 to contact the 设管科."""
    return [" ".join(filter(None, (c.name, c.phone, c.email))) for c in other_contacts(contacts, recipient, display)]


def other_contacts(contacts: Sequence[Contact], unit: str, display: str) -> list[Contact]:
    """The 联系人 a unit (its code and name) may be sent to: those that are not the unit itself (by their `unit`,
    a code or a name, or by their own name)."""
    own = {unit, display}
    return [c for c in contacts if c.unit not in own and c.name not in own]


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
    listed: dict[str, tuple[int, int]] = {}  # kind → (entries the body numbers, units listed under them when grouped)
    for kind in ORDER:
        items = [item for item in payload["items"] if item["kind"] == kind]
        own = kind in ("escalation", "corrected") and all(item.get("unit") == payload["recipient"] for item in items)
        entries = [_entry(item, as_of, tz, own=own) for item in items]
        if kind in GROUPED and not own:
            entries = _grouped(entries, kind)
        if entries:
            grouped = any(entry["units"] for entry in entries)
            listed[kind] = (len(entries), len({item.get("unit") for item in items}) if grouped else 0)
            lead = SECTION_LEAD[kind]
            if kind == "escalation" and payload["recipient"].startswith("leader:"):
                lead = "您包联的以下单位事项逾期未报，请过问督办："
            elif kind == "extended" and payload["recipient"].startswith("leader:"):
                lead = "您包联的以下单位事项已批准延期，此前的催办暂缓："
            elif own and kind == "corrected":  # the unit's own 逾期 taken back: no other unit is named
                lead = OWN_CORRECTION_LEAD
            elif own:  # `to: [unit]`: the unit's own slip, told again — not "督促" of itself
                lead = "以下事项仍逾期未报，请尽快办理（再次催办）："
            if kind == "review_reminder" and payload["recipient"] == "operators":
                lead = OPERATORS_REVIEW_LEAD
            if kind == "ack_reminder" and not link:
                lead = ACK_REMINDER_NO_LINK_LEAD
            if kind == "returned" and (again := sum(bool(item.get("again_at")) for item in items)):
                lead = RETURNED_AGAIN_LEAD if again == len(items) else RETURNED_SOME_AGAIN_LEAD
            if kind == "amended" and payload.get("amendment"):
                lead = _env().get_template("amended_lead.txt.j2").render(**payload["amendment"]).strip()
            sections.append({"lead": lead, "entries": entries, "notes": _acknowledgements_asked(items, as_of, tz)})
    context = dict(
        title=title,
        recipient=payload["recipient_display"],
        sections=sections,
        link=link,
        contacts=list(contacts),
        issuer=issuer,
        doc_no=doc_no,
        key=message_number(key),
    )
    text = _env().get_template("message.txt.j2").render(**context)
    # the subject counts what the body numbers: a 催办 listing 2 items with 7 units under them read 逾期催办（7项）;
    # the units listed under grouped items are said beside them (涉及7个单位)
    if len(listed) > 1:  # 逾期催办（6项） over 5 催办 and 1 即将截止 read as six 催办: each kind with its count
        subject = f"【督办】{title}：" + "、".join(
            f"{_kind_cn(kind, payload['items'])}{n}项" + (f"（涉及{units}个单位）" if units else "")
            for kind, (n, units) in listed.items()
        )
    else:
        n, units = next(iter(listed.values()), (len(payload["items"]), 0))
        said = _kind_cn(payload["kind"], payload["items"])
        subject = f"【督办】{title}：{said}（{n}项" + (f"，涉及{units}个单位）" if units else "）")
    return Rendered(subject=subject, text=text.strip() + "\n", context=context)


def _kind_cn(kind: str, items: list[dict]) -> str:
    """A kind as the subject names it: a 退回 of items all handed in again since is no longer 退回重报."""
    returned = [item for item in items if item["kind"] == "returned"]
    if kind == "returned" and returned and all(item.get("again_at") for item in returned):
        return RETURNED_AGAIN_CN
    return KIND_CN[kind]


def render_digest(payload: dict, campaign, *, key: str) -> Rendered:  # noqa: ANN001
    """The operators' daily digest (每日督办简报), from a payload composed by duban.views.digest."""
    tz = campaign.tz
    names = {item.id: item.name for _stage, item in campaign.spec.items()}
    as_of = datetime.fromisoformat(payload["as_of"])
    overdue = []
    for entry in payload["overdue"]:
        # the items by stage and due, the longest overdue first: each group says its own due and overdue span (a
        # county check due 6/10 read 已逾期16天 beside a self-assessment due 5/25)
        by_due: dict[tuple[str, str], list[str]] = {}
        for i in entry["items"]:
            by_due.setdefault((i["stage"], i["due_at"]), []).append(names.get(i["item"], i["item"]))
        spans = {due: _overdue_span(datetime.fromisoformat(due), as_of, tz) for _stage, due in by_due}
        listed, stage_before = "", None
        for (stage, due), what in by_due.items():  # a stage is named once, its items of another due beside
            listed += ("、" if stage == stage_before else ("；" if listed else "") + f"【{stage}】") + "、".join(what)
            listed += "" if len(spans) == 1 else f"（{spans[due]}）"
            stage_before = stage
        overdue.append(
            {
                "unit": campaign.display(entry["unit"]),
                "what": listed,
                "when": next(iter(spans.values())) if len(spans) == 1 else "",
            }
        )
    spec = campaign.spec
    extensions = [
        {
            "id": e["id"],
            "unit": campaign.display(e["unit"]),
            "item": names.get(e["item"], e["item"]),
            "due": _due_cn(datetime.fromisoformat(e["due_at"]), as_of, tz),
            "until": _due_cn(datetime.fromisoformat(e["until"]), as_of, tz),
            "reason": e["reason"],
        }
        for e in payload.get("extensions", [])
    ]
    text = (
        _env()
        .get_template("digest.txt.j2")
        .render(
            **{
                "unconfirmed": 0,
                "dead_reasons": [],
                "extensions_total": 0,
                "in_review": 0,
                **payload,
                "overdue": overdue,
                "extensions": extensions,
                "outcomes": [{**o, "item": names.get(o["item"], o["item"])} for o in payload.get("outcomes") or ()],
                "as_of": fmt_cn(as_of, tz),
                "in_review_since": _due_cn(datetime.fromisoformat(payload["in_review_since"]), as_of, tz)
                if payload.get("in_review_since")
                else None,
            },
            title=spec.title,
            issuer=spec.issuer,
            doc_no=spec.doc_no,
            key=message_number(key),
        )
    )
    subject = f"【督办简报】{spec.title}：逾期未报{payload['overdue_total']}项"
    return Rendered(subject=subject, text=text.strip() + "\n")


def render_html(rendered: Rendered) -> str:
    """The e-mail version of a rendered message: the same sections as HTML (escaped)."""
    if not rendered.context:  # a digest: its text line by line (a mail client's plain part keeps each line: a <pre>
        from html import escape  # became one line of text there, an outside tester's finding)

        lines = "<br>".join(escape(line) for line in rendered.text.rstrip("\n").split("\n"))
        style = "font-size: 15px; font-family: monospace; white-space: pre-wrap"
        return f'<!doctype html><meta charset="utf-8"><div style="{style}">{lines}</div>'
    env = _env().overlay(autoescape=True)
    return env.get_template("message.html.j2").render(subject=rendered.subject, **rendered.context)


def split_text(text: str, max_bytes: int, key: str = "") -> list[str]:
    """Split a message into parts of at most `max_bytes` UTF-8 bytes at line ends, each headed （第k/n条·编号 …）.

    Group bots refuse longer texts (WeCom: 2,048 bytes); nothing is cut off, every line arrives in order, and
    every part names its message (its 编号, see duban.domain.message_keys) and its place, so staff can put
    a message back together even if another message's post lands between its parts.
    """
    if len(text.encode()) <= max_bytes:
        return [text]
    tag = f"·编号 {message_number(key)}" if key else ""
    budget = max_bytes - len(f"（第99/99条{tag}）\n".encode())
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for block in _blocks(text.splitlines(keepends=True)):
        whole = sum(len(line.encode()) for line in block)
        if current and size + whole > budget and whole <= budget:  # an entry that fits a part is not cut in two
            parts.append("".join(current))
            current, size = [], 0
        for line in _pieces(block, budget):
            length = len(line.encode())
            if current and size + length > budget:
                parts.append("".join(current))
                current, size = [], 0
            current.append(line)
            size += length
    if current:
        parts.append("".join(current))
    total = len(parts)
    return [f"（第{i}/{total}条{tag}）\n{part}" for i, part in enumerate(parts, 1)]


def _blocks(lines: list[str]) -> list[list[str]]:
    """The lines in the blocks a reader takes as one: a numbered entry with its indented lines (截止, 格式, the units
    listed), a lead ending in "：" with the entry after it. A part cut between blocks never leaves a city's 截止 and
    its counties in one bubble and the city's name in the one before (an outside tester's finding)."""
    blocks: list[list[str]] = []
    for line in lines:
        joins = blocks and (line[:1].isspace() or blocks[-1][-1].rstrip().endswith("："))
        if joins and line.strip():
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return blocks


def _pieces(lines: list[str], budget: int):
    """Lines, with any single line longer than the budget cut after its last 、 that fits (between two names),
    else at a character boundary."""
    for line in lines:
        while len(line.encode()) > budget:
            cut = budget // 4  # 4 bytes is the widest UTF-8 character: always fits
            while len(line[: cut + 1].encode()) <= budget:
                cut += 1
            between = line.rfind("、", 0, cut) + 1
            if between > cut // 2:  # a company's name is not cut in two (an outside tester's finding)
                cut = between
            yield line[:cut]
            line = line[cut:]
        yield line


def _overdue_span(due: datetime, as_of: datetime, tz: str) -> str:
    """截止5月25日 周六 24:00，已逾期16天8小时: a due and how long it is past at `as_of`."""
    return f"截止{_due_cn(due, as_of, tz)}，已逾期{span_words((due - as_of).total_seconds())}"


def _acknowledgements_asked(items: list[dict], as_of: datetime, tz: str) -> list[str]:
    """The 签收 the openings ask (duban.services.compose.describe), once per message after its items, with the
    instant the record holds at the send (本通知要求签收：请于12月8日 周二 08:30前签收); the stage is named when
    several ask. It read 请于开始后1个工作日内签收 under every item of the stage (an outside tester's finding)."""
    asks: dict[tuple[bool, str], str] = {}
    for item in items:
        ask = item.get("acknowledge")
        if not ask or (ask["notice"], item["stage"]) in asks:
            continue
        if ask["due_at"]:
            by = f"请于{_due_cn(datetime.fromisoformat(ask['due_at']), as_of, tz)}前签收"
        else:  # not read from the record (a preview before the 签收 is planned): the time the spec allows
            by = f"请于{'收到' if ask['notice'] else '开始'}后{ask['within']}内签收"
        asks[(ask["notice"], item["stage"])] = by
    several = len({stage for notice, stage in asks if not notice}) > 1
    return [
        f"{'本通知' if notice else (f'【{stage}】' if several else '本阶段')}要求签收：{by}"
        for (notice, stage), by in asks.items()
    ]


def _due_cn(due: datetime, as_of: datetime, tz: str) -> str:
    """A due or a hand-in as a message writes it (7月1日 周一 24:00), with its year when that is not the message's
    own year: a report of 2020 due on 1月31日 is due in 2021, and 截止：1月31日 read as a month already past."""
    return fmt_cn_from(due, tz, as_of)


_QUARTERS = {"1": "一", "2": "二", "3": "三", "4": "四"}


def period_cn(instance: str) -> str:
    """A period's name as staff read it: 2020Q4 → 2020年第四季度, 2020-07 → 2020年7月, 2020H2 → 2020年下半年, 2020 →
    2020年, 2024-07-10 (a due day of a monthly item) → 2024年7月10日; anything else as it is."""
    if match := re.fullmatch(r"(\d{4})Q([1-4])", instance):
        return f"{match[1]}年第{_QUARTERS[match[2]]}季度"
    if match := re.fullmatch(r"(\d{4})H([12])", instance):
        return f"{match[1]}年{'上' if match[2] == '1' else '下'}半年"
    if match := re.fullmatch(r"(\d{4})-(\d{2})", instance):
        return f"{match[1]}年{int(match[2])}月"
    if match := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", instance):
        return f"{match[1]}年{int(match[2])}月{int(match[3])}日"
    if re.fullmatch(r"\d{4}", instance):
        return f"{instance}年"
    return instance


def _entry(item: dict, as_of: datetime, tz: str, *, own: bool = False) -> dict:
    due = datetime.fromisoformat(item["due_at"])
    left = (due - as_of).total_seconds()
    if item["kind"] == "amended":
        notes = [f"还有{span_words(left)}" if left > 0 else "已过新的截止时间"]
        if item.get("old_due_at"):
            notes.append(f"原截止{_due_cn(datetime.fromisoformat(item['old_due_at']), as_of, tz)}")
        if item.get("state") == "submitted":
            notes = [notes[-1], "您单位已报送，按调整后的时间计为按时报送"]
        if item.get(WITH_LEAD_KEY):
            notes.insert(0, "随牵头单位延期")
        when = f"截止时间调整为：{_due_cn(due, as_of, tz)}前（{'；'.join(notes)}）"
    elif item["kind"] == "extension":
        when = _extension_words(item, due, left, tz, as_of)
    elif item["kind"] == "returned":
        still = f"还有{span_words(left)}" if left > 0 else f"已逾期{span_words(left)}"
        when = f"第{item.get('version', 1)}版已退回，请于{_due_cn(due, as_of, tz)}前重新报送（{still}）"
        if item.get("again_at"):  # handed in again before the 退回 went out (duban.store.freshness): its reason only
            again = _due_cn(datetime.fromisoformat(item["again_at"]), as_of, tz)
            when = f"第{item.get('version', 1)}版已退回；已于{again}重新报送第{item['again_version']}版"
    elif item["kind"] == "corrected":  # duban.services.overdue_corrections: the hand-in counts on time after all
        handed_in = datetime.fromisoformat(item["event_at"])
        when = f"已于{fmt_cn_from(handed_in, tz, as_of, due=due)}按时报送（截止{_due_cn(due, as_of, tz)}）"
    elif item["kind"] == "extended":  # duban.services.overdue_corrections: told 催办, the unit's due moved later
        old = _due_cn(datetime.fromisoformat(item["old_due_at"]), as_of, tz)
        when = f"已批准延期至{_due_cn(due, as_of, tz)}前（原截止{old}）"
    elif item["kind"] in ("ack_reminder", "ack_escalation"):
        if left < 60:  # sent at the deadline itself (a reminder due then) reads as late, not as time left
            late = f"已逾期{span_words(left)}" if left <= -60 else "已到签收截止时间"
            when = f"签收截止：{_due_cn(due, as_of, tz)}（{late}，至今未签收）"
        else:
            when = f"签收截止：{_due_cn(due, as_of, tz)}前（还有{span_words(left)}）"
    elif item["kind"] == "review_reminder":
        handed_in = datetime.fromisoformat(item["submitted_at"])
        waited = span_words((as_of - handed_in).total_seconds())
        when = f"第{item.get('version', 1)}版报送于{_due_cn(handed_in, as_of, tz)}，已等待审核{waited}"
    elif item["kind"] == "accepted":
        when = f"第{item.get('version', 1)}版审核通过，无需再报"
    elif item["kind"] == "receipt":
        submitted = datetime.fromisoformat(item["event_at"])
        on_time = "按时报送" if submitted <= due else f"逾期{span_words((submitted - due).total_seconds())}报送"
        if item.get("reviewed"):  # counted on time or late only once the reviewer accepts it (README, 审核与退回)
            on_time = ("截止前报送" if submitted <= due else on_time) + item.get("review_words", "，待审核")
        version = item.get("step") or 1  # a receipt's intent carries the version it acknowledges
        again = f"第{version}版，"  # the unit's proof names what it received, the first version too
        if item.get(CORRECTS_KEY):  # the item stays on time: its first hand-in was (not 逾期N天报送)
            first = _due_cn(datetime.fromisoformat(item[CORRECTS_KEY]), as_of, tz)
            again, on_time = f"第{version}版（更正），", f"第1版已于{first}按时报送，仍计为按时报送"
        when = f"{again}报送时间：{fmt_cn_from(submitted, tz, as_of, due=due)}（{on_time}）"
    elif item["kind"] in ("overdue", "escalation") or left < 0:
        late = f"已逾期{span_words(left)}" if left <= -60 else "已逾期"
        when = f"截止：{_due_cn(due, as_of, tz)}（{late}）"
    else:
        when = f"截止：{_due_cn(due, as_of, tz)}前（还有{span_words(left)}）"
    details = []
    if item.get("formats") and (item["kind"] in HAND_IN or (item["kind"] == "escalation" and own)):
        details.append("格式：" + "、".join(item["formats"]) + ("（PDF需加盖公章）" if item.get("stamped") else ""))
    if item.get("submit_to") and item["kind"] not in (
        "corrected",
        "extended",
    ):  # a correction is short: what, when, no longer 逾期
        details.append(f"报送至：{item['submit_to']}")
    if item["kind"] == "receipt" and item.get(RECEIVED_KEY):
        details.extend(_received_words(item[RECEIVED_KEY]))
    if item["kind"] == "receipt" and item.get("missing_display"):  # a 汇总 handed in before all below were in
        details.append(f"注意：{_missing_words(item['missing_display'], own=True)}")
    elif item["kind"] != "receipt" and item.get("missing_display") is not None:
        details.append(_missing_words(item["missing_display"], own=item["kind"] != "escalation" or own))
    if item["kind"] in OWN_DUTY and item.get(ROLE_KEY) in ROLES:
        details.insert(0, _role_words(item, left, as_of, tz))
    if item["kind"] == "extension" and item.get("decision_note"):
        details.append(f"审批意见：{item['decision_note']}")
    if item["kind"] == "returned" and item.get("reason"):
        details.insert(0, f"退回原因：{item['reason']}")
    for settled in item.get(SETTLED_KEY) or ():  # the unit must not wait for an answer to it
        asked = _due_cn(datetime.fromisoformat(settled["until"]), as_of, tz)
        details.append(f"您单位的延期申请（申请延至{asked}）已不再需要：{settled['why']}")
    named = ("escalation", "ack_escalation", "review_reminder", "corrected", "extended")
    unit_line = item["unit_display"] if item["kind"] in named and not own else None
    return {
        "stage": item["stage"],
        "item": item["item"],
        "instance": period_cn(item.get("instance") or ""),
        "when": when,
        "detail": "｜".join(details),
        "unit_line": unit_line,
        "units": None,  # a grouped 催办's units (see _grouped)
    }


GROUPED = {"escalation": "逾期未报的单位", "ack_escalation": "未签收的单位"}  # sections that name many units
GROUP_NAMED = (
    150  # units a grouped entry names before 等N个 (a 包联领导's 118 townships all; a county's 600 enterprises
)
# took 13 of a bot's 20 posts a minute)
GROUP_FROM = 4  # entries in a section from which those of one item and one due are told as one, units listed


def _grouped(entries: list[dict], kind: str) -> list[dict]:
    """A 催办 to a parent or a 包联领导 names a unit per line and item: 29 KB (15 WeCom parts) for a city's
    townships. From GROUP_FROM entries, when some share an item and its due, each such item is one entry with the
    units listed under it ("逾期未报的单位（37个）：…"), in the order they came."""
    if len(entries) < GROUP_FROM:
        return entries
    groups: dict[tuple, list[dict]] = {}
    for entry in entries:
        groups.setdefault(
            (entry["stage"], entry["item"], entry["instance"], entry["when"], entry["detail"]), []
        ).append(entry)
    if len(groups) == len(entries):  # nothing shared: one line per unit reads best
        return entries
    words = GROUPED[kind]
    return [
        {
            **same[0],
            "unit_line": None,
            "units": f"{words}（{len(same)}个）："
            + _names([e["unit_line"] for e in same[:GROUP_NAMED]])
            + (f"等{len(same)}个" if len(same) > GROUP_NAMED else ""),
        }
        for same in groups.values()
    ]


NAMES_PER_LINE = 6  # a phone's line or two; a message cut into a bot's parts is cut between lines, not in a name


def _names(names: list) -> str:
    lines = ["、".join(map(str, names[k : k + NAMES_PER_LINE])) for k in range(0, len(names), NAMES_PER_LINE)]
    return lines[0] if len(lines) == 1 else "\n     " + "、\n     ".join(lines)


def _role_words(item: dict, left: float, as_of: datetime, tz: str) -> str:
    """本单位为牵头单位：请组织配合单位（昔阳县统计局）共同办理… / 本单位为配合单位：请配合牵头单位（…）办理…, with
    the partner's hand-in when it has made one (a 配合 unit pressed for a 台账 its lead filed weeks before)."""
    partners = item.get("partners_display") or []
    names = "、".join(p[0] for p in partners[:PARTNERS_NAMED]) + ("等" if len(partners) > PARTNERS_NAMED else "")
    if item[ROLE_KEY] == "lead":
        ask = "尽快报送" if left < 0 else "按时报送"
        return f"本单位为牵头单位：请组织配合单位{f'（{names}）' if names else ''}共同办理，并{ask}"
    words = f"本单位为配合单位：请配合牵头单位{f'（{names}）' if names else ''}办理，按其要求提供材料"
    for name, state, submitted in partners:
        if state in ("submitted", "late", "in_review") and submitted:
            words += f"；牵头单位{name}已于{_due_cn(datetime.fromisoformat(submitted), as_of, tz)}报送"
        elif state == "excused":
            words += f"；牵头单位{name}已免报"
    return words


def _received_words(received: dict) -> list[str]:
    """文件：昔阳县检查评分表.xlsx｜数据：实地检查乡镇(街道)数 7个 — what a receipt says was received."""
    words = []
    if received.get("files"):
        words.append("文件：" + "、".join(received["files"]))
    if received.get("figures"):
        words.append(
            "数据：" + "；".join(f"{label} {_figure(value)}{unit}" for label, value, unit in received["figures"])
        )
    return words


def _figure(value: object) -> str:
    """A reported figure as the unit typed it: 是/否, 12 (not 12.0), 3.25."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _missing_words(names: list[str], *, own: bool) -> str:
    """下级尚未报送（3个）：昔阳县、寿阳县、榆社县 — or that every unit below is in (the roll-up waits on its holder);
    in a 催办 to the holder's parent, its (其) units below."""
    whose = "" if own else "其"
    if not names:
        return "下级单位均已报送，请汇总后报送" if own else "其下级单位均已报送，尚待汇总报送"
    shown = "、".join(names[:MISSING_NAMED]) + (f"等{len(names)}个" if len(names) > MISSING_NAMED else "")
    return f"{whose}下级尚未报送（{len(names)}个）：{shown}"


def _extension_words(item: dict, due: datetime, left: float, tz: str, as_of: datetime) -> str:
    """同意延期 with the new due and the old one, or 未同意 with the due that stands."""
    still = f"还有{span_words(left)}" if left > 0 else f"已逾期{span_words(left)}"
    asked = datetime.fromisoformat(item["asked_until"]) if item.get("asked_until") else None
    if item.get("decision") == "approved":
        old = datetime.fromisoformat(item["old_due_at"])
        if asked is not None and asked != due:  # approved to an earlier day than asked: the unit reads both
            granted = f"部分同意延期：申请延至{_due_cn(asked, as_of, tz)}，批准延至{_due_cn(due, as_of, tz)}前"
        else:
            granted = f"同意延期，截止时间延至：{_due_cn(due, as_of, tz)}前"
        return f"{granted}（原截止{_due_cn(old, as_of, tz)}；{still}）"
    asked_words = f"延期至{_due_cn(asked, as_of, tz)}的申请" if asked else "延期申请"
    return f"{asked_words}未获同意，请按原截止时间{_due_cn(due, as_of, tz)}前报送（{still}）"
