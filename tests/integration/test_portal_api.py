"""The JSON API: an OpenAPI schema that covers it, answers that match it, and no 500 for any input schemathesis
can think of (a bounded run: a few dozen requests per operation)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.integration.portal_site import make_site
from tests.samples import docx_bytes


@pytest.fixture
def api_site(sqlite_engine):
    site = make_site(sqlite_engine)
    site.submit(site.token("140724100"), "self_report", [("乐平镇总结报告.docx", docx_bytes())])
    assert site.login().status_code == 303
    return site


def test_no_input_makes_the_api_fail(api_site):
    """Every operation, with the operator's session, against random and edge-case parameters: no 500, and every
    answer as the schema says (status, content type, body)."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", api_site.app)
    cookies = dict(api_site.client.cookies)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 4
    # Half the cases name the real campaign and a real unit link, so the fuzzing reaches past 403/404.
    real = {"campaign_id": "jinzhong-2024-lookback", "token": api_site.token("140724100")}

    def half_real(pair):
        case, use_real = pair
        if use_real and case.path_parameters:
            case.path_parameters = {k: real.get(k, v) for k, v in case.path_parameters.items()}
        return case

    for operation in operations:

        @given(case=st.tuples(operation.as_strategy(), st.booleans()).map(half_real))
        @settings(
            max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
        )
        def run(case):
            case.call_and_validate(cookies=cookies)

        run()


def test_the_schema_covers_only_the_json_api(api_site):
    spec = api_site.client.get("/api/openapi.json").json()
    assert sorted(spec["paths"]) == [
        "/api/campaigns",
        "/api/campaigns/{campaign_id}/status",
        "/api/health",
        "/api/u/{token}",
    ]
    assert spec["paths"]["/api/u/{token}"]["get"]["responses"]["403"]["description"]


def test_a_units_duties_as_json(api_site):
    duties = api_site.client.get(f"/api/u/{api_site.token('140724100')}").json()
    assert duties["unit"] == "乐平镇统计站" and duties["campaign"] == '统计基层基础工作规范化建设"回头看"'
    report = next(d for d in duties["duties"] if d["item_id"] == "self_report")
    assert report["state"] == "submitted" and report["color"] == "绿" and report["formats"] == ["docx", "pdf"]
    assert report["versions"][0]["files"][0]["name"] == "乐平镇总结报告.docx"
    assert report["due_at"] == "2024-05-25T15:59:59.999999Z"


def test_the_matrix_as_json_for_an_operator(api_site):
    got = api_site.client.get(
        "/api/campaigns/jinzhong-2024-lookback/status", params={"parent": "140724", "as_of": "2024-05-27T10:00:00"}
    )
    body = got.json()
    assert got.status_code == 200 and body["total"] == 11 and body["as_of"] == "2024-05-27T02:00:00Z"
    cells = {r["code"]: r["cells"] for r in body["rows"]}
    assert cells["140724100"]["self_report"] == "绿" and cells["140724101"]["self_report"] == "红"
    assert api_site.client.get("/api/campaigns/nothing/status").status_code == 404
    for edge in ("0001-01-01T00:00:00", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"):
        far = api_site.client.get("/api/campaigns/jinzhong-2024-lookback/status", params={"as_of": edge})
        assert far.status_code == 200
