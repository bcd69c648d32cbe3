"""The tutorial of docs/tutorial/gate-your-model.md, its pyproject.toml and commands run as
written, in order, with the stub server standing in for the team's endpoint and the judge:
record and save, audit, replay offline and compare, and the verdict the page reads."""

from __future__ import annotations

import re

import pytest

from .conftest import cli, page
from .stub_server import stub_server
from .test_ci_recipe import blocks, commands, pytest_run

TUTORIAL = "tutorial/gate-your-model.md"
ENDPOINT = "http://127.0.0.1:8080/v1"


def test_the_tutorial_records_replays_offline_and_fails_good_drop_on_its_few_cases_as_it_says(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
):
    text = page(TUTORIAL)
    (toml,) = blocks(text, "toml")
    _install, serve, (record,), (audit, add), (replay,) = (commands(block) for block in blocks(text, "sh"))
    # The server the page starts is the endpoint its profile names.
    server = serve[1]
    assert f'base_url = "{ENDPOINT}"' in toml and server[server.index("--port") + 1] == "8080"
    assert f'model = "{server[server.index("--model_alias") + 1]}"' in toml
    cwd = pytester.path
    with stub_server() as stub:
        (cwd / "pyproject.toml").write_text(toml.replace(ENDPOINT, stub.url))
        # The judge is the built-in profile, pointed at the stub by its own variable.
        monkeypatch.setenv("EMPATHY_SMOLLM2_BASE_URL", stub.url)

        done = pytest_run(record, pytester, capfd)
        assert done.returncode == 0, done.stdout[-3000:]
        assert "8 passed" in done.stdout and "saved run: benchmarks/saved-runs/accepted.json" in done.stdout
        assert len(stub.requests) == 8 * 2

        audited = cli(*audit[1:], cwd=cwd)
        shown = "0 possible credential(s) in 8 cassette(s) under cassettes"
        assert audited.returncode == 0 and shown in audited.stdout and shown in text
        assert add[:2] == ["git", "add"] and all((cwd / path).exists() for path in add[2:])

        # The replay makes no call, and fails good-drop:20 on 8 unchanged cases as the page says.
        done = pytest_run(replay, pytester, capfd)
        assert len(stub.requests) == 8 * 2
    assert done.returncode == 1, done.stdout[-3000:]
    assert "8 passed" in done.stdout and "no case changed rating since the saved run" in done.stdout
    folded = " ".join(done.stdout.split())
    for said in (
        "FAILED compare good-drop:20: Good rate changed by +0.0 pts, lower bound -25.3 pts (90% CI, paired) <= -20 pts",
        "good-drop:26 passes it at least 80% of the time",
    ):
        assert said in folded and said in " ".join(text.split())
    assert re.search(r"^PASSED complete: .*8 of 8 cases rated", done.stdout, re.MULTILINE)
