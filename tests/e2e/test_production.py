"""Production, end to end, as the README's administrator builds it: `prefect server` on Postgres, the process
pool, a worker, `duban db upgrade`, `prefect deploy --all` from prefect.yaml; ticks triggered through the
server run on the worker against duban's own Postgres database, and the operators' view is checked through
the Prefect API (runs, artifacts, events) and in the Prefect UI in headless Chromium.

Set DUBAN_UPDATE_DOCS=1 to refresh docs/prefect-ui-*.png from this run.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import time
from datetime import timedelta
from uuid import UUID

import httpx
import pytest
from prefect.client.orchestration import PrefectClient
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import create_engine, func, select

from duban.services.links import issue
from duban.settings import Settings
from duban.store.tables import OutboxMessage, TransitionRow
from tests.conftest import JINZHONG, ROOT
from tests.e2e import prefect_ui
from tests.e2e.stack import BIN, Stack, free_port
from tests.integration.helpers import at
from tests.samples import docx_bytes, pdf_bytes

pytestmark = pytest.mark.prefect
CAMPAIGN = "jinzhong-2024-lookback"
DEPLOYMENT = f"campaign-tick/{CAMPAIGN}"
STAGES = ["self-assessment", "county-check", "city-check", "materials"]
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def api(stack: Stack, work):
    """Run `work(client)` against the stack's server."""

    async def go():
        async with PrefectClient(api=stack.api) as client:
            return await work(client)

    return asyncio.run(go())


def tick(stack: Stack, *instants: str, timeout: float = 120) -> list:
    """Trigger one tick run per instant on the campaign's deployment, all at once, and wait for them."""

    async def work(client):
        deployment = await client.read_deployment_by_name(DEPLOYMENT)
        runs = [
            await client.create_flow_run_from_deployment(deployment.id, parameters={"as_of": at(t).isoformat()})
            for t in instants
        ]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = [await client.read_flow_run(run.id) for run in runs]
            if all(run.state.type.value in FINAL for run in runs):
                return runs
            await asyncio.sleep(0.5)
        raise AssertionError(f"tick runs not finished after {timeout} s: {[r.state.name for r in runs]}")

    return api(stack, work)


def events(stack: Stack, name: str, expected: int = 1) -> list:
    """The events named `name`, once at least `expected` have been persisted (the server writes in batches)."""
    from prefect.events.filters import EventFilter, EventNameFilter

    async def work(client):
        page = await client.read_events(filter=EventFilter(event=EventNameFilter(name=[name])), limit=50)
        found = list(page.events)
        while page.next_page:
            page = await client.read_events_page(page.next_page)
            found += page.events
        return found

    deadline = time.monotonic() + 20
    while len(found := api(stack, work)) < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def related(event, role: str) -> list[str]:
    return [r.id for r in event.related if r.role == role]


@pytest.fixture(scope="module")
def stack(pg_database, tmp_path_factory):
    started = time.monotonic()
    home = tmp_path_factory.mktemp("production")
    with Stack(home, pg_database("prefect", "asyncpg"), pg_database("worker")) as running:
        running.timings["ready"] = round(time.monotonic() - started, 1)
        yield running
    assert running.leftovers() == [], "a process of the stack outlived it"
    print(f"\nproduction stack timings (s): {running.timings}, total {time.monotonic() - started:.1f}")


def test_prefect_yaml_deploys_the_table_of_deployments(stack):
    async def work(client):
        found = {}
        for name in (DEPLOYMENT, "dispatch-outbox/dispatch-outbox", "daily-digest/daily-digest"):
            deployment = await client.read_deployment_by_name(name)
            found[name] = (deployment, await client.read_deployment_schedules(deployment.id))
        return found

    found = api(stack, work)
    crons = {
        name: sorted((s.schedule.cron, s.schedule.timezone) for s in schedules if hasattr(s.schedule, "cron"))
        for name, (_d, schedules) in found.items()
    }
    assert crons == {
        DEPLOYMENT: [("*/10 * * * *", "Asia/Shanghai")],
        "dispatch-outbox/dispatch-outbox": [("* * * * *", "Asia/Shanghai")],
        "daily-digest/daily-digest": [("30 8 * * *", "Asia/Shanghai")],
    }
    deployment, schedules = found[DEPLOYMENT]
    assert deployment.work_pool_name == "duban-process"
    assert deployment.parameters == {"spec": "campaign_specs/jinzhong-2024-lookback.yaml"}
    [rrule] = [s.schedule for s in schedules if hasattr(s.schedule, "rrule")]
    assert rrule.timezone == "Asia/Shanghai" and rrule.rrule.count(",") == 18  # the plan's 19 instants


def test_a_campaign_runs_on_the_worker_and_operators_see_it_in_artifacts_events_and_the_ui(stack, tmp_path):
    [first] = tick(stack, "2024-05-10 08:30")
    assert first.state.type.value == "COMPLETED", stack.log("worker")[-3000:]
    assert first.name == "jinzhong-2024-lookback @ 2024-05-10 周五 08:30"

    # 乐平镇 hands in its score sheet through the CLI and its report through the portal; each is announced
    sheet = tmp_path / "乐平镇自查评分表.pdf"
    sheet.write_bytes(pdf_bytes("Leping score sheet"))
    out = stack.run(
        "duban",
        "submit",
        str(JINZHONG),
        "--unit",
        "140724100",
        "--item",
        "self_score_sheet",
        "--file",
        str(sheet),
        "--at",
        "2024-05-20 10:00",
    )
    assert "已报送 乐平镇统计站（140724100） · 自查评分表（self_score_sheet） · 第1版" in out
    assert "Still processing" not in stack.stderr and "warning" not in stack.stderr, stack.stderr  # a quiet submit
    answer = _portal_upload(
        stack, "140724100", "self_report", ("乐平镇总结报告.docx", docx_bytes()), "2024-05-21 16:30"
    )
    assert answer.status_code == 303, answer.text
    received = events(stack, "duban.submission.received", expected=2)
    assert {(e.payload["item"], e.payload["via"]) for e in received} == {
        ("self_score_sheet", "cli"),
        ("self_report", "portal"),
    }
    assert all(related(e, "unit") == ["duban.unit.140724100"] and not e.payload["late"] for e in received)
    assert all(related(e, "campaign") == [f"duban.campaign.{CAMPAIGN}"] for e in received)

    # two workers' ticks at one instant (the ten-minute schedule and an exact one) apply everything once
    both = tick(stack, "2024-06-12 09:00", "2024-06-12 09:00")
    assert [run.state.type.value for run in both] == ["COMPLETED", "COMPLETED"], stack.log("worker")[-3000:]
    stack.timings["tick run (s)"] = [round(r.total_run_time.total_seconds(), 2) for r in (first, *both)]
    engine = create_engine(stack.env["DUBAN_DATABASE_URL"])
    with engine.connect() as conn:
        t = TransitionRow.__table__
        twice = conn.execute(
            select(t.c.assignment_id, t.c.event, t.c.step)
            .group_by(t.c.assignment_id, t.c.event, t.c.step)
            .having(func.count() > 1)
        ).all()
        o = OutboxMessage.__table__
        # one message of each kind per unit (晋中's 材料上报 also asks 签收: a county's 签收提醒 goes beside its 催办)
        per_unit = conn.execute(
            select(o.c.recipient, o.c.kind, func.count())
            .where(o.c.created_at == at("2024-06-12 09:00"))
            .group_by(o.c.recipient, o.c.kind)
            .having(func.count() > 1)
        ).all()
        opened = conn.execute(select(func.count()).where(t.c.event == "opened")).scalar_one()
    engine.dispose()
    assert twice == [] and per_unit == [] and opened == 324

    keys = [f"{CAMPAIGN}-{stage}-progress" for stage in STAGES] + [f"{CAMPAIGN}-units", f"{CAMPAIGN}-summary"]
    artifacts = api(stack, lambda client: _artifacts(client, keys, [run.id for run in both]))
    latest = {key: versions[-1] for key, versions in artifacts.items()}
    assert sorted(latest) == sorted(keys)
    assert latest[f"{CAMPAIGN}-self-assessment-progress"].data == round(100 * 2 / 260, 1)
    units = json.loads(latest[f"{CAMPAIGN}-units"].data)
    assert len(units) == 131 and list(units[0]) == ["县区", "单位", "总体", "①", "②", "③", "④", "已报/应报", "逾期未报"]
    assert units[0]["总体"] == "🔴 红" and any(row["单位"].startswith("昔阳县") for row in units)
    assert [(r["总体"], r["已报/应报"]) for r in units if (r["县区"], r["单位"]) == ("昔阳县", "乐平镇统计站")] == [
        ("🟢 绿", "2/2")
    ]
    counties = [row["县区"] for row in units]
    assert [c for n, c in enumerate(counties) if n == 0 or counties[n - 1] != c] == list(dict.fromkeys(counties))
    # a tick publishes when something happened since the last publication; whichever of the two publishes
    # last shows the whole campaign (they took turns stage by stage)
    summaries = artifacts[f"{CAMPAIGN}-summary"]
    assert 1 <= len(summaries) <= 2 and len({a.data.split("本次巡检")[0] for a in summaries}) == 1
    worked = summaries[-1]
    assert "截至 **2024-06-12 周三 09:00**" in worked.data and "第1次催办 →" in worked.data
    overdue_part = worked.data.split("## 逾期未报：")[1].split("## ")[0]
    [(units_late, items_late)] = re.findall(r"^(\d+) 个单位 (\d+) 项", overdue_part)
    listed = [int(n) for n in re.findall(r"：(\d+) 项（", overdue_part)]
    [(rest_units, rest_items)] = re.findall(r"另有 (\d+) 个单位 (\d+) 项", overdue_part)
    assert int(items_late) == 280 and sum(listed) + int(rest_items) == 280  # the bullets add up to the heading
    assert len(listed) + int(rest_units) == int(units_late)
    assert re.search(r"已逾期 \d+天\d+小时", overdue_part) and not re.search(r"\d\.\d 天", overdue_part)
    progress = {a.key: a.description for a in latest.values() if a.key.endswith("-progress")}
    assert progress[f"{CAMPAIGN}-self-assessment-progress"].startswith("🔴 红 ① 规范化建设自评阶段：")

    opened_events = events(stack, "duban.stage.opened", expected=4)
    assert {e.resource.id for e in opened_events} == {
        f"duban.stage.{CAMPAIGN}.{s}" for s in ("self_assessment", "county_check", "city_check", "materials")
    }
    assert all(related(e, "campaign") == [f"duban.campaign.{CAMPAIGN}"] for e in opened_events)
    assert all(related(e, "flow-run") for e in opened_events), "events carry the tick's flow run"
    overdue = events(stack, "duban.assignment.overdue", expected=280)
    assert all(related(e, "unit")[0].startswith("duban.unit.1407") for e in overdue)
    assert len({e.resource.id for e in overdue}) == 280, "an item slipped twice"
    # every resource of duban's events has its Chinese name, so the cards read as 单位 and 阶段
    for event in [*opened_events, *overdue, *received]:
        ours = [event.resource, *(r for r in event.related if r.id.startswith("duban."))]
        assert all(re.search(r"[\u4e00-\u9fff]", r.get("prefect.resource.name") or "") for r in ours), event
    assert {r.get("prefect.resource.name") for e in overdue for r in e.related if r.role == "stage"} == {
        "规范化建设自评阶段",
        "县级检查阶段",
    }
    assert all(e.payload["as_of"].startswith("2024-") and e.occurred.year > 2024 for e in overdue)

    seen = prefect_ui.look(
        stack.ui,
        run_id=worked.flow_run_id,
        logs_run_id=first.id,
        summary_id=worked.id,
        units_id=latest[f"{CAMPAIGN}-units"].id,
        folder=tmp_path,
        widest="开发区",
    )
    print(f"\nUI requests for other hosts, refused: {seen.refused or 'none'}")
    assert all(key in seen.run_artifacts for key in keys), "the run's Artifacts tab lists the campaign's artifacts"
    assert "①规范化建设自评阶段：到期待办 260 项 → 开启 260，提醒 0，逾期 0，催办 0" in seen.run_logs
    assert "本次巡检（2024-05-10 周五 08:30）：开启 260，提醒 0，逾期 0，催办 0；生成消息 130 条" in seen.run_logs
    assert "截至 2024-06-12 周三 09:00" in seen.summary and "逾期未报：" in seen.summary
    assert seen.units_overflow == {"v1": 0, "v1 开发区": 0, "v2": 0, "v2 开发区": 0}, "the unit table fits 1440 px"
    assert "🔴 红" in seen.units["v1"] and "综改区晋中开发区统计机构" in seen.units["v2 开发区"]
    assert _red_pixels(tmp_path / "prefect-ui-units.png") > 2_000, "the marks are red on the dark theme"
    names = {r.get("prefect.resource.name") for e in overdue for r in e.related if r.role == "unit"}
    assert sum(name in seen.events for name in names) >= 3 and "规范化建设自评阶段" in seen.events
    assert not any(
        f"duban.{kind}.{ref}" in seen.events
        for kind, ref in (("unit", "1407"), ("stage", CAMPAIGN), ("assignment", CAMPAIGN), ("campaign", CAMPAIGN))
    ), "the cards show names, not resource ids"
    if os.environ.get("DUBAN_UPDATE_DOCS") == "1":
        for name in ("artifacts", "summary", "units", "events", "logs"):
            shutil.copyfile(tmp_path / f"prefect-ui-{name}.png", ROOT / "docs" / f"prefect-ui-{name}.png")


def _red_pixels(png) -> int:
    """Pixels of a strong red (the 🔴 marks) in a screenshot."""
    import numpy
    from PIL import Image

    r, g, b = numpy.asarray(Image.open(png).convert("RGB")).transpose(2, 0, 1).astype(int)
    return int(((r > 180) & (g < 90) & (b < 90)).sum())


def _portal_upload(stack: Stack, unit: str, item: str, upload: tuple[str, bytes], moment: str) -> httpx.Response:
    """The portal beside the stack, its clock standing at `moment` (tests/e2e/portal_at.py; `duban serve --as-of`
    is a read-only preview): the unit opens its link and hands in a file."""
    port = free_port()
    stack.start("portal", "python", "-m", "tests.e2e.portal_at", str(port), moment)
    base = f"http://127.0.0.1:{port}"
    token = issue(Settings(home=stack.env["DUBAN_HOME"]).portal_key(), CAMPAIGN, unit, at(moment), timedelta(days=45))
    with httpx.Client(base_url=base, trust_env=False, timeout=10) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = client.get(f"/u/{token}")
                break
            except httpx.TransportError:
                assert stack.processes["portal"].poll() is None and time.monotonic() < deadline, stack.log("portal")
                time.sleep(0.3)
        assert page.status_code == 200, page.text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        return client.post(
            f"/u/{token}/items/{item}",
            data={"csrf": csrf, "instance": ""},
            files=[("files", (upload[0], upload[1], "application/octet-stream"))],
        )


async def _artifacts(client, keys: list[str], runs: list[UUID]) -> dict[str, list]:
    """The runs' artifacts under `keys`, oldest first per key."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    wanted = ArtifactFilter(key=ArtifactFilterKey(any_=keys), flow_run_id=ArtifactFilterFlowRunId(any_=runs))
    found = await client.read_artifacts(artifact_filter=wanted, sort=ArtifactSort.CREATED_DESC)
    grouped: dict[str, list] = {}
    for artifact in sorted(found, key=lambda a: a.created):
        grouped.setdefault(artifact.key, []).append(artifact)
    return grouped


def test_duban_deploy_registers_the_plan_instants_and_remove_pauses_them(stack):
    try:
        _deploy_remove_and_deploy_again(stack)
    finally:  # the table of deployments as prefect.yaml left it, for the tests that run after this one
        stack.run("prefect", "--no-prompt", "deploy", "--all")


def _deploy_remove_and_deploy_again(stack):
    from prefect.server.schemas.schedules import RRuleSchedule

    from flows.deployments import deploy_campaign

    out = stack.run("duban", "deploy", str(JINZHONG))
    assert f"deployed {DEPLOYMENT} on pool duban-process" in out and "no instant of the plan is still ahead" in out

    async def schedules(client):
        deployment = await client.read_deployment_by_name(DEPLOYMENT)
        return deployment, await client.read_deployment_schedules(deployment.id)

    _deployment, found = api(stack, schedules)
    assert [s.schedule.cron for s in found] == ["*/10 * * * *"]  # the 2024 campaign has no instant ahead
    stack.run("duban", "deploy", str(JINZHONG), "--remove")
    deployment, found = api(stack, schedules)
    assert deployment.paused and found and not any(s.active for s in found)

    with temporary_settings(updates={PREFECT_API_URL: stack.api}):
        done = deploy_campaign(JINZHONG, now=at("2024-06-01 00:00"))  # as if deployed again on 1 June 2024
    assert len(done.instants.instants) == 13
    deployment, found = api(stack, schedules)
    assert deployment.id == done.deployment_id and not deployment.paused and all(s.active for s in found)
    [rrule] = [s.schedule for s in found if hasattr(s.schedule, "rrule")]
    server_side = RRuleSchedule(rrule=rrule.rrule, timezone=rrule.timezone)  # what Prefect's scheduler computes
    dates = asyncio.run(server_side.get_dates(n=50, start=at("2024-06-01 00:00"), end=at("2024-08-01 00:00")))
    assert [d.strftime("%m-%d %H:%M") for d in dates[:3]] == ["06-05 09:00", "06-09 09:00", "06-10 08:30"]
    assert [d.timestamp() for d in dates] == [t.timestamp() for t in done.instants.instants]


def test_a_server_whose_ui_calls_another_port_is_named_before_duban_works(stack):
    """`prefect server start --port P` without PREFECT_API_URL in its environment serves a UI that calls port 4200:
    seen in Chromium, and every duban command that reports to that server says so first. The stack's server,
    started as the README says, draws no warning (the submit above, and here a dispatch)."""
    import subprocess

    port = free_port()
    env = {k: v for k, v in stack.env.items() if k != "PREFECT_API_URL"}
    log = open(stack.home / "server-elsewhere.log", "w")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-services"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        origin = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None and time.monotonic() < deadline, (
                stack.home / "server-elsewhere.log"
            ).read_text()
            try:
                if httpx.get(f"{origin}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        called = prefect_ui.api_calls_of(origin)
        assert called and all(url.startswith("http://127.0.0.1:4200/api/") for url in called), called
        wrong = subprocess.run(  # a dispatch that finds nothing to send (a campaign none-such is now refused)
            [str(BIN / "duban"), "dispatch", "--as-of", "2000-01-01 00:00"],
            cwd=ROOT,
            timeout=120,
            env={**stack.env, "PREFECT_API_URL": f"{origin}/api"},
            capture_output=True,
            text=True,
        )
        assert wrong.returncode == 0, wrong.stdout + wrong.stderr
        assert (
            f"warning: the Prefect UI at {origin} calls its API at http://127.0.0.1:4200/api, not at "
            f"{origin}/api where duban sends its runs"
        ) in " ".join(wrong.stderr.split()), wrong.stderr
        right = stack.run("duban", "dispatch", "--as-of", "2000-01-01 00:00")
        assert "dispatch: 已发送 0 条" in right and "warning" not in stack.stderr, stack.stderr
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()
