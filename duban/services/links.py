"""Unit links (`{base}/u/{token}`): a signed token scoped to one campaign and one unit, with expiry and revocation.

Every message to a unit carries a link issued at send time, valid `link_days`. The token holds the campaign,
the unit, when it was issued and until when it is valid, and an HMAC over all of it: changing one character
makes it invalid. An operator can revoke one link or every link of a unit issued so far (a forwarded message,
a staff change); later messages carry fresh links that still work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from duban.domain.signing import sign, unsign
from duban.errors import LinkError, RequestError, StoreError
from duban.instants import fmt_cn_from, utc
from duban.services.written import bounded
from duban.settings import Settings
from duban.spec.models import Contact
from duban.store.links import Revocation, record_revocation, revocation_of

if TYPE_CHECKING:
    from sqlalchemy import Engine

PURPOSE = "duban-unit-link-v1"
SHOWN = 8  # the characters of a token the logs and `outbox show` keep: a unit link is the unit's credential
_TOKEN = re.compile(r"(/u/)([A-Za-z0-9_-]{4,600}\.[A-Za-z0-9_-]{22})")
_ASK = "请打开最新一条督办消息中的链接，或联系督办工作人员。"


@dataclass(frozen=True)
class UnitLink:
    """Whose page a token opens, and for how long."""

    campaign_id: str
    unit_code: str
    issued_at: datetime
    expires_at: datetime
    token_id: str  # the token's MAC: names this one link in a revocation


def issue(key: bytes, campaign_id: str, unit_code: str, now: datetime, lifetime: timedelta) -> str:
    """A token for the unit's page, valid from `now` for `lifetime`.

    Version 2 holds the instant of issue in milliseconds: a revocation covers the links issued up to its own
    instant, and the fresh link an operator is shown right after revoking (the same second) must still open."""
    issued_ms = int(utc(now).timestamp() * 1000)
    expires = issued_ms // 1000 + int(lifetime.total_seconds())
    return sign(key, PURPOSE, [2, campaign_id, unit_code, issued_ms, expires])


def read(key: bytes, token: str) -> UnitLink:
    """The link a token stands for, if its signature holds (expiry and revocation are not checked here).
    Version 1 tokens (seconds) are still read: messages sent before carry them until they expire."""
    payload = unsign(key, PURPOSE, token)
    if (
        payload is None
        or len(payload) != 5
        or payload[0] not in (1, 2)
        or not all(isinstance(x, str) for x in payload[1:3])
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in payload[3:])
    ):
        raise LinkError(
            "the link is malformed or was altered", reason="tampered", cn="链接无效：可能复制不完整或被改动过。" + _ASK
        )
    version, campaign_id, unit_code, issued, expires = payload
    try:
        issued_at = datetime.fromtimestamp(issued / 1000 if version == 2 else issued, timezone.utc)
        expires_at = datetime.fromtimestamp(expires, timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise LinkError(
            "the link's dates are out of range", reason="tampered", cn="链接无效：可能复制不完整或被改动过。" + _ASK
        ) from None
    return UnitLink(campaign_id, unit_code, issued_at, expires_at, token.rpartition(".")[2])


def check(engine: Engine, key: bytes, token: str, now: datetime, *, tz: str = "Asia/Shanghai") -> UnitLink:
    """The link if it is genuine, not expired and not revoked at `now`; else LinkError."""
    link = read(key, token)
    if utc(now) >= link.expires_at:
        raise LinkError(
            f"the link expired at {link.expires_at.isoformat()}",
            reason="expired",
            cn=f"链接已过期（有效期至{fmt_cn_from(link.expires_at, tz, now)}）。" + _ASK,  # a past year: said
        )
    revoked = revocation_of(engine, link.campaign_id, link.unit_code, link.token_id, link.issued_at)
    if revoked is not None:
        raise LinkError("the link was revoked", reason="revoked", cn=_replaced(engine, link, revoked, now, tz))
    return link


def _replaced(engine: Engine, link: UnitLink, revoked: Revocation, now: datetime, tz: str) -> str:
    """What a revoked link says: since when, where the new link is, whom to ask (the notice's 联系人). Never "the
    latest message's link": until a message goes out after the revocation, that is this very link."""
    from duban.domain.messages import other_contacts
    from duban.views.campaigns import load_campaign  # read only for a revoked link, which is rare

    try:
        campaign = load_campaign(engine, link.campaign_id, units={link.unit_code})
        spec, unit = campaign.spec, link.unit_code
        # never the unit itself: the 设管科, the notice's 联系人, was sent to the 设管科
        mine = other_contacts(spec.contacts, unit, campaign.display(unit))
        tz, who = spec.timezone, _contacts(mine) or f"{spec.issuer}的督办工作人员"
    except StoreError:  # the campaign is gone (reset): still say what happened
        who = "督办工作人员"
    when = fmt_cn_from(revoked.revoked_at, tz, now)
    what = (
        f"此链接已停用：本单位的报送链接已于{when}更换，此前发出的链接都不能再打开。"
        if revoked.every_link
        else f"此链接已于{when}停用。"
    )
    return f"{what}请打开{when}以后收到的督办消息中的新链接；还没有收到的，请联系{who}索取新链接。"


def _contacts(contacts: list[Contact]) -> str:
    """The notice's 联系人 as the unit's page lists them: 晋中市统计局设管科 电话0354-3021234."""
    return "、".join(
        c.name + (f" 电话{c.phone}" if c.phone else "") + (f" 邮箱{c.email}" if c.email else "") for c in contacts
    )


def revoke(
    engine: Engine,
    campaign_id: str,
    unit_code: str,
    now: datetime,
    *,
    token: str | None = None,
    actor: str,
    reason: str = "",
) -> None:
    """Revoke one link (`token`), or every link of the unit issued up to `now`; a reason holding a character
    nobody sees is refused (duban.services.written), as every reason is."""
    words = " ".join(reason.split())  # its own limit first: a 5,000-character one is not told "不超过1000字"
    if len(words) > 200:
        raise RequestError(f"--reason: {len(words):,} characters; write at most 200", cn="停用原因不超过200字")
    reason = bounded(reason, option="--reason", field="停用原因") or ""
    token_id = token.rpartition(".")[2] if token else None
    record_revocation(
        engine,
        campaign_id,
        unit_code,
        token_id,
        None if token_id else utc(now),
        utc(now),
        actor[:80],
        reason,
    )


def link_maker(base: str, key: bytes, lifetime: timedelta) -> Callable[[str, str, datetime], str | None]:
    """The dispatcher's `link_for`: each unit's own link; None for leaders and operators (they get the base)."""
    root = base.rstrip("/")

    def link_for(campaign_id: str, unit_code: str, now: datetime) -> str | None:
        if unit_code.startswith("leader:") or unit_code == "operators":
            return None
        return f"{root}/u/{issue(key, campaign_id, unit_code, now, lifetime)}"

    return link_for


def unit_links(settings: Settings) -> Callable[[str, str, datetime], str | None] | None:
    """Every unit message's own link when the portal has an address (DUBAN_PORTAL_URL), else None."""
    if not settings.portal_url:
        return None
    return link_maker(settings.portal_url, settings.portal_key(), timedelta(days=settings.link_days))


def masked(text: str) -> str:
    """The text with every unit link's token cut to its first SHOWN characters (/u/eyJbMiwi…), as the portal's
    access log has it (duban.web.security.masked_path): what an operator is shown of a link a unit was sent."""
    return _TOKEN.sub(lambda found: found[1] + found[2][:SHOWN] + "…", text)
