"""prefect.yaml as a table of deployments, and `duban deploy` where there is no server to deploy to.

(Deploying to a real server, pausing and updating are in tests/e2e/test_production.py.)
"""

import yaml

from tests.conftest import JINZHONG, ROOT
from tests.e2e.stack import free_port

SHANGHAI = "Asia/Shanghai"


def _prefect_yaml() -> dict:
    return yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))


def _duban(*args: str, api_url: str | None = None):
    """`duban ARGS` in this process, with PREFECT_API_URL as given (unset by default)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from typer.testing import CliRunner

    from duban.cli.main import app

    settings = {"updates": {PREFECT_API_URL: api_url}} if api_url else {"restore_defaults": {PREFECT_API_URL}}
    with temporary_settings(**settings):
        return CliRunner().invoke(app, list(args))


def test_prefect_yaml_runs_the_dispatcher_each_minute_the_digest_at_0830_and_each_campaign_every_ten_minutes():
    deployments = {d["name"]: d for d in _prefect_yaml()["deployments"]}
    assert deployments["dispatch-outbox"]["schedules"][0].items() >= {"cron": "* * * * *", "timezone": SHANGHAI}.items()
    assert deployments["daily-digest"]["schedules"][0].items() >= {"cron": "30 8 * * *", "timezone": SHANGHAI}.items()
    for deployment in deployments.values():
        assert deployment["work_pool"]["name"] == "duban-process" and deployment["description"]
        path, _, name = deployment["entrypoint"].partition(":")
        assert f"def {name}(" in (ROOT / path).read_text(encoding="utf-8")
    ticks = [d for d in deployments.values() if d["entrypoint"].startswith("flows/campaign_tick.py")]
    assert ticks and all(d["schedules"][0]["cron"] == "*/10 * * * *" for d in ticks)


def test_each_campaign_entry_of_prefect_yaml_is_what_its_spec_derives():
    from flows.deployments import campaign_entry

    for deployment in _prefect_yaml()["deployments"]:
        if deployment["entrypoint"].startswith("flows/campaign_tick.py"):
            assert deployment == campaign_entry(ROOT / deployment["parameters"]["spec"]), (
                f"prefect.yaml's {deployment['name']} is stale: paste `duban deploy SPEC --yaml` over it"
            )


def test_duban_deploy_yaml_prints_the_entry_as_prefect_yaml_writes_it():
    out = _duban("deploy", str(JINZHONG.relative_to(ROOT)), "--yaml")
    assert out.exit_code == 0, out.output
    assert out.stdout in (ROOT / "prefect.yaml").read_text(encoding="utf-8")


def test_duban_deploy_without_a_server_says_how_to_point_it_at_one():
    out = _duban("deploy", str(JINZHONG))
    assert out.exit_code == 1
    assert "error: no Prefect server configured: set PREFECT_API_URL" in out.stderr
    down = _duban("deploy", str(JINZHONG), api_url=f"http://127.0.0.1:{free_port()}/api")
    assert down.exit_code == 1 and "error: cannot reach the Prefect server at http://127.0.0.1:" in down.stderr
