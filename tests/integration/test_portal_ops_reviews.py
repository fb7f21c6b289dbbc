"""The operators' unit page shows each version's review beside it: 第1版 returned, and why, then 第2版 waiting (an
outside tester's finding: the page listed both versions as handed in, and only the audit log at its foot said that
the first had been returned and why; a second reviewer checked 第2版 without the reason)."""

from __future__ import annotations

from duban.services.review import record_review
from tests.integration.helpers import CAMPAIGN, at
from tests.integration.portal_site import make_site, text_of
from tests.samples import xlsx_bytes

XIYANG, ITEM = "140724", "materials_upload"


def test_the_operators_unit_page_shows_a_returned_version_and_its_reason(sqlite_engine):
    site = make_site(sqlite_engine, now="2024-06-13 09:00", ticked="2024-06-11 08:30")
    token = site.token(XIYANG)
    assert site.submit(token, ITEM, [("昔阳县检查材料.xlsx", xlsx_bytes())]).status_code in (200, 303)
    record_review(
        sqlite_engine,
        CAMPAIGN,
        XIYANG,
        ITEM,
        at("2024-06-13 10:00"),
        accept_it=False,
        reason="缺少调查问卷，请补齐后重报",
    )
    site.now = at("2024-06-14 09:00")
    assert site.submit(token, ITEM, [("昔阳县检查材料（补）.xlsx", xlsx_bytes())]).status_code in (200, 303)
    site.login()
    page = text_of(site.client.get(f"/ops/c/{CAMPAIGN}/u/{XIYANG}").text)
    cards = page.split("最近记录")[0]
    second, first = cards.index("第2版 ·"), cards.index("第1版 ·")
    assert second < first, cards
    assert "已退回：缺少调查问卷，请补齐后重报" in cards[first:], cards[first:]
    assert "已退回" not in cards[second:first]  # 第2版 waits for review
