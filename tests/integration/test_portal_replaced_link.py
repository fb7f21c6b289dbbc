"""A replaced link (the operator revoked a unit's links: a message forwarded by mistake, a staff change) says when it
was replaced and whom to ask: it sent the unit to "最新一条督办消息中的链接" — the very link it refused, while no
message had gone out since (an outside tester's finding)."""

from __future__ import annotations

import re

from duban.services.links import revoke
from tests.integration.helpers import CAMPAIGN, at
from tests.integration.portal_site import make_site, text_of

LEPING, GAOLUO, DESIGN_OFFICE = "140724100", "140724101", "140700-sgk"


def test_a_replaced_link_says_since_when_and_whom_to_ask_and_never_the_new_link(sqlite_engine):
    site = make_site(sqlite_engine)
    old = site.token(LEPING, issued=at("2024-05-15 10:00"))
    revoke(site.engine, CAMPAIGN, LEPING, at("2024-05-16 10:00"), actor="operator:duban", reason="消息被误转发")
    fresh = site.token(LEPING)  # the link the next message carries
    refused = site.page(old)
    said = text_of(refused.text)
    assert refused.status_code == 403
    assert "此链接已停用：本单位的报送链接已于5月16日 周四 10:00更换，此前发出的链接都不能再打开" in said, said
    assert "请打开5月16日 周四 10:00以后收到的督办消息中的新链接" in said
    assert "还没有收到的，请联系晋中市统计局设管科索取新链接" in said
    assert "最新一条督办消息" not in said  # that message carried this very link
    assert "消息被误转发" not in said  # the operator's reason is the audit log's, not a visitor's
    assert fresh not in refused.text and old not in refused.text and "/u/" not in refused.text
    assert not re.search(r"<a\s", refused.text.split("<main", 1)[1])  # no link on the page at all
    detail = site.client.get(f"/api/u/{old}").json()["detail"]  # the API says the same
    assert detail.startswith("此链接已停用：本单位的报送链接已于") and detail in said
    assert site.page(fresh).status_code == 200


def test_one_revoked_link_says_only_that_link_stopped(sqlite_engine):
    site = make_site(sqlite_engine)
    one = site.token(GAOLUO)
    revoke(site.engine, CAMPAIGN, GAOLUO, site.now, token=one, actor="cli")
    said = text_of(site.page(one).text)
    assert "此链接已于5月20日 周一 10:00停用。请打开5月20日 周一 10:00以后收到的督办消息中的新链接" in said, said
    assert "本单位的报送链接" not in said and "最新一条督办消息" not in said


def test_the_design_offices_replaced_link_does_not_send_it_to_itself(sqlite_engine):
    """The notice's 联系人 is the 设管科: its own replaced link told it 请联系晋中市统计局设管科索取新链接. A unit is
    never sent to itself: the bureau's 督办工作人员 are named instead."""
    site = make_site(sqlite_engine)
    old = site.token(DESIGN_OFFICE, issued=at("2024-05-15 10:00"))
    revoke(site.engine, CAMPAIGN, DESIGN_OFFICE, at("2024-05-16 10:00"), actor="operator:duban")
    said = text_of(site.page(old).text)
    assert "还没有收到的，请联系晋中市统计局的督办工作人员索取新链接" in said, said
    assert "请联系晋中市统计局设管科" not in said, said
