"""The Prefect flows, run against a real (temporary) Prefect server."""

import asyncio

import pytest

from duban.settings import get_settings
from duban.store.db import engine_for
from tests.conftest import JINZHONG
from tests.integration.helpers import at

pytestmark = pytest.mark.prefect


def _flow_runs(name: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    async def read():
        async with get_client() as client:
            return await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[name])), limit=200, sort=FlowRunSort.ID_DESC
            )

    return asyncio.run(read())


def _artifacts(keys: list[str], flow_run_id):
    """The run's artifacts under these keys. Read by run: the session's server keeps every earlier tick's artifacts
    under the same keys, and past the API's 200 a page, sorted by (random) id, this run's could be left out."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=keys), flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id])
                )
            )

    return asyncio.run(read())


def test_a_tick_flow_reminds_the_reviewer_of_a_version_left_waiting(prefect_harness, tmp_path):
    """The seed's 检查材料 are reviewed by 设管科 (remind_after: 2 working days): the tick flow reminds it once."""
    from duban.services.submit import record_submission
    from flows.campaign_tick import campaign_tick
    from tests.samples import xlsx_bytes

    engine = engine_for(get_settings().resolved_database_url)
    campaign_tick(spec=str(JINZHONG), as_of=at("2024-06-12 09:30"))
    upload = tmp_path / "昔阳县检查材料.xlsx"
    upload.write_bytes(xlsx_bytes([["乡镇", "得分"], ["乐平镇", 86]]))
    record_submission(
        engine,
        "jinzhong-2024-lookback",
        "140724",
        "materials_upload",
        at("2024-06-28 09:00"),
        files=[upload],
        files_dir=tmp_path / "files",
    )
    first = campaign_tick(spec="jinzhong-2024-lookback", as_of=at("2024-07-02 09:30"))
    assert first["review_reminders"] == {"reminded": [("operators", "140724", "materials_upload", 1)], "messages": 1}
    again = campaign_tick(spec="jinzhong-2024-lookback", as_of=at("2024-07-02 10:30"))
    assert again["review_reminders"] == {"reminded": [], "messages": 0}


def test_a_tick_flow_plans_ticks_and_names_its_run(prefect_harness):
    from flows.campaign_tick import campaign_tick

    state = campaign_tick(spec=str(JINZHONG), as_of=at("2024-05-10 08:30"), return_state=True)
    summary, run_id = state.result(), state.state_details.flow_run_id
    assert summary["campaign"] == "jinzhong-2024-lookback"
    assert [s["stage"] for s in summary["stages"]] == ["self_assessment", "county_check", "city_check", "materials"]
    assert summary["stages"][0]["events"] == {"opened": 260} and summary["messages"] == 130
    assert len(summary["artifacts"]) == 6  # four stages' progress, the unit table, the summary
    again = campaign_tick(spec="jinzhong-2024-lookback", as_of=at("2024-05-10 08:30"))
    assert all(s["examined"] == 0 for s in again["stages"]) and again["messages"] == 0
    assert again["artifacts"] == {}  # nothing happened: the operators' views are current
    names = {run.id: run.name for run in _flow_runs("campaign-tick")}
    assert names[run_id] == "jinzhong-2024-lookback @ 2024-05-10 周五 08:30"
    # posted while the messages were composed, the artifacts still sit on the tick's run, not on its compose task
    mine = [a for a in _artifacts(list(summary["artifacts"].values()), run_id) if a.flow_run_id == run_id]
    assert sorted(a.key for a in mine) == sorted(summary["artifacts"].values())
    assert all(a.task_run_id is None for a in mine)
    text = next(a.data for a in mine if a.key == summary["artifacts"]["summary"])
    assert "本次巡检：开始办理 260；生成消息 130 条。" in text


def test_a_tick_flow_run_as_of_a_later_instant_fails_saying_why(prefect_harness):
    """A run of campaign-tick from the UI or a deployment with as_of still to come (F17: the CLI refuses it) would
    apply every opening, reminder and slip due by then at once, in messages dated ahead: the run fails before
    anything is planned or ticked, its state saying why."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import func, select

    from duban.store.tables import CampaignRow
    from flows.campaign_tick import campaign_tick

    ahead = datetime.now(timezone.utc) + timedelta(days=20)
    state = campaign_tick(spec=str(JINZHONG), as_of=ahead, return_state=True)
    assert state.is_failed()
    assert "is later than now" in state.message and "`duban simulate" in state.message, state.message
    with engine_for(get_settings().resolved_database_url).connect() as conn:
        assert conn.scalar(select(func.count()).select_from(CampaignRow)) == 0


def _logs(run_id) -> list[str]:
    """The run's log messages as the Logs tab lists them (they reach the server in batches: wait for them)."""
    import time

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.client.schemas.sorting import LogSort

    async def read():
        async with get_client() as client:
            wanted = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            return [log.message for log in await client.read_logs(log_filter=wanted, sort=LogSort.TIMESTAMP_ASC)]

    deadline = time.monotonic() + 20
    found = asyncio.run(read())
    while not any(m.startswith("本次巡检") for m in found) and time.monotonic() < deadline:
        time.sleep(0.5)
        found = asyncio.run(read())
    return found


def test_a_tick_says_in_its_log_what_each_stage_did(prefect_harness):
    """The run's Logs tab: a line per stage in the notice's order and a summary, in Chinese (not only Prefect's
    "Finished in state Completed()")."""
    from flows.campaign_tick import campaign_tick

    campaign_tick(spec=str(JINZHONG), as_of=at("2024-05-10 08:30"))
    state = campaign_tick(spec=str(JINZHONG), as_of=at("2024-05-28 09:00"), return_state=True)
    mine = [m for m in _logs(state.state_details.flow_run_id) if "：" in m]
    assert mine == [
        "①规范化建设自评阶段：到期待办 260 项 → 开启 0，提醒 520，逾期 260，催办 260",  # two reminders each
        "②县级检查阶段：到期待办 22 项 → 开启 22，提醒 0，逾期 0，催办 0",
        "③市级检查阶段：无到期事项",
        '④"回头看"检查材料整理上报阶段：无到期事项',
        "本次巡检（2024-05-28 周二 09:00）：开启 22，提醒 520，逾期 260，催办 260；生成消息 133 条",
    ]


def test_the_dispatch_flow_delivers_to_the_sink(prefect_harness):
    from flows.campaign_tick import campaign_tick
    from flows.dispatch_outbox import dispatch_outbox

    campaign_tick(spec=str(JINZHONG), as_of=at("2024-05-10 08:30"))
    result = dispatch_outbox(as_of=at("2024-05-10 08:31"), campaign="jinzhong-2024-lookback")
    assert result["sent"] == 130 and result["failed"] == 0
    sink = get_settings().sink_dir / "messages.txt"
    assert sink.read_text(encoding="utf-8").count("以下事项已开始办理") == 130


def test_a_dispatch_without_as_of_runs_on_the_wall_clock(prefect_harness):
    """`duban dispatch` (no --as-of) gave the flow `as_of=now`: a long pass then checked bots' rate limits and quiet
    hours against that one frozen instant. The flow gets no instant and runs on the real clock (its run says so)."""
    from typer.testing import CliRunner

    from duban.cli.main import app

    before = {run.id for run in _flow_runs("dispatch-outbox")}
    done = CliRunner().invoke(app, ["dispatch"], catch_exceptions=False)
    assert done.exit_code == 0, done.output
    [latest] = [run for run in _flow_runs("dispatch-outbox") if run.id not in before]
    assert latest.parameters.get("as_of") is None and latest.name == "dispatch @ now", (latest.name, latest.parameters)


def test_flow_runs_in_one_process_share_one_api_client(prefect_harness):
    """The demo's many runs open one API client between them; a run called alone builds its own (TLS context and
    all)."""
    from prefect import flow
    from prefect.client.orchestration import get_client

    from flows.in_process import many_runs

    @flow(name="which-client", persist_result=False)
    def which_client():
        return get_client(sync_client=True)

    alone = [which_client(), which_client()]
    assert alone[0] is not alone[1]
    with many_runs():
        shared = [which_client(), which_client()]
    assert shared[0] is shared[1]
    assert len(_flow_runs("which-client")) == 4  # each still a flow run of its own on the server


def test_the_daily_digest_flow_reaches_the_operators(prefect_harness):
    from flows.campaign_tick import campaign_tick
    from flows.daily_digest import daily_digest

    campaign_tick(spec=str(JINZHONG), as_of=at("2024-05-10 08:30"))
    campaign_tick(spec="jinzhong-2024-lookback", as_of=at("2024-05-27 09:00"))
    first = daily_digest(as_of=at("2024-05-27 08:30"))
    assert first == {"campaigns": ["jinzhong-2024-lookback"], "composed": 1, "closed": []}
    assert daily_digest(as_of=at("2024-05-27 12:00"))["composed"] == 0  # one digest a day
    # two years on, the campaign's digest has stopped (an outside tester's finding: 已逾期926天 every morning)
    assert daily_digest(as_of=at("2026-12-08 08:30"), send=False) == {
        "campaigns": [],
        "composed": 0,
        "closed": ["jinzhong-2024-lookback"],
    }
    sink = (get_settings().sink_dir / "messages.txt").read_text(encoding="utf-8")
    assert sink.count("→ 督办工作人员 (operators) [digest]") == 1
    assert "【规范化建设自评阶段】应报260项，已报0项，办理中0项，逾期未报260项" in sink
    names = {run.name for run in _flow_runs("daily-digest")}
    assert "digest @ 2024-05-27 周一 08:30" in names
