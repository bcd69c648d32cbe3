"""The model-CI recipe of docs/how-to/gate-a-template-change.md, its commands run as written,
in order, against the stub server standing in for both of its models: green on an unchanged
replay, red on a template change until its cases are recorded again, red on a decline, green
again once the new run is accepted."""

from __future__ import annotations

import json
import re
import shlex
import subprocess

import pytest

from pytest_empathy.models.templates import response_template

from .conftest import FAKE_KEY, page
from .stub_server import JSON, completion, is_judge_request, stub_server


def recipe() -> str:
    return page("how-to/gate-a-template-change.md")


def blocks(section: str, language: str) -> list[str]:
    """The section's fenced blocks in that language ("" for none), each without its indent."""
    found, language_of, lines = [], None, []
    for line in section.splitlines():
        fence = re.fullmatch(r" *```(\w*)", line)
        if fence and language_of is None:
            language_of, lines = fence.group(1), []
        elif fence:
            if language_of == language:
                found.append("".join(f"{text.strip()}\n" for text in lines))
            language_of = None
        elif language_of is not None:
            lines.append(line)
    return found


def commands(block: str) -> list[list[str]]:
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def pytest_run(
    words: list[str], pytester: pytest.Pytester, capfd: pytest.CaptureFixture[str]
) -> subprocess.CompletedProcess[str]:
    """A page's ``pytest`` command run in the project (``pytester.path``), in this process as
    in a new one (tests/conftest.py's pytester; test_isolation holds such a run's output to a
    process's): its exit status and what it printed. Whatever its run wrote past pytest's
    capture reaches this test's descriptors (``capfd``): no output has the key either."""
    assert words[0] == "pytest"
    result = pytester.runpytest("-p", "no:cacheprovider", *words[1:])
    done = subprocess.CompletedProcess(words, int(result.ret), result.stdout.str(), result.stderr.str())
    assert FAKE_KEY not in done.stdout + done.stderr + "".join(capfd.readouterr())
    return done


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """A model repository set up as the recipe says, whose two profiles point at the stub."""
    with stub_server() as server:
        toml = blocks(recipe(), "toml")
        assert len(toml) == 1
        for variable in ("OPENAI_BASE_URL", "TOGETHER_BASE_URL"):
            monkeypatch.delenv(variable, raising=False)
        monkeypatch.setenv("STUB_API_KEY", FAKE_KEY)
        profiles = "".join(
            f'\n[tool.pytest-empathy.models.{name}]\nbase_url = "{server.url}"\napi_key_env = "STUB_API_KEY"\n'
            for name in ("mixtral", "gpt-4o-mini")
        )
        (pytester.path / "pyproject.toml").write_text(toml[0] + profiles)
        (pytester.path / "prompts").mkdir()
        (pytester.path / "prompts" / "response.txt").write_text(response_template(None).text)
        yield server


def test_the_how_to_s_recipe_is_green_unchanged_red_on_a_template_change_and_red_on_a_decline(project, pytester, capfd):
    section = recipe()
    record_and_accept, replay_and_compare, accept_again = (commands(block) for block in blocks(section, "sh"))
    (record_line,) = blocks(section, "")
    cwd = pytester.path

    # 1. Record and accept; what it says to commit is there.
    recording, *commits = record_and_accept
    done = pytest_run(recording, pytester, capfd)
    assert done.returncode == 0, done.stdout[-3000:]
    assert len(project.requests) == 64 * 2
    for words in commits:
        assert words[:2] == ["git", "add"] and all((cwd / path).exists() for path in words[2:])

    # 2. An unchanged replay passes, with no call.
    (replay,) = replay_and_compare
    done = pytest_run(replay, pytester, capfd)
    assert done.returncode == 0, done.stdout[-3000:]
    # The figures the how-to quotes: both checks can fail at this size, and decline's one
    # warning says it detects a little more than the 10 points it is asked to.
    assert re.search(r"^PASSED compare decline: .*detects a drop of 10\.3 pts or more", done.stdout, re.MULTILINE)
    good_drop = r"^PASSED compare good-drop:20: .*with nothing changed, .*about -4\.1 pts, passing 100% of the time"
    assert re.search(good_drop, done.stdout, re.MULTILINE)
    warnings = [line for line in done.stdout.splitlines() if "WARNING" in line]
    expected = "WARNING compare decline: at 80% power it detects a drop of 10.3 pts or more on 64 cases"
    assert len(warnings) == 1 and warnings[0].startswith(expected)
    assert len(project.requests) == 64 * 2

    # 3. The template changes: the replay's cases fail, and the summary gives the command
    # once, as the how-to shows it, with no path of this machine.
    (cwd / "prompts" / "response.txt").write_text("Reply warmly, in two sentences: {situation} {utterance}\n")
    done = pytest_run(replay, pytester, capfd)
    assert done.returncode == 1
    assert re.search(r"^=+ 64 failed in ", done.stdout, re.MULTILINE), done.stdout[-3000:]
    shown = record_line.strip()
    assert (done.stdout + done.stderr).count(shown) == 1
    assert "FAILED compare" in done.stdout and "the run is incomplete (0 of 64 cases rated)" in done.stdout
    assert len(project.requests) == 64 * 2

    # The new template makes the model dismissive, and the judge says so: a decline.
    project.answer_of = lambda body: (
        200,
        JSON,
        completion("Bad" if "Whatever" in body["messages"][0]["content"] else "Whatever.")
        if is_judge_request(body)
        else completion("Whatever."),
    )
    record = shlex.split(shown.split(" with: ", 1)[1])
    done = pytest_run(record, pytester, capfd)
    assert done.returncode == 0, done.stdout[-3000:]
    assert len(project.requests) == 64 * 2 + 64 * 2
    done = pytest_run(replay, pytester, capfd)
    assert done.returncode == 1
    assert re.search(r"^FAILED compare decline: Good rate 100\.0% -> 0\.0% on 64 cases", done.stdout, re.MULTILINE)
    report = pytest_run([*replay, "--empathy-report=report.json"], pytester, capfd)
    comparison = json.loads((cwd / "report.json").read_text())["comparison"]
    assert report.returncode == 1 and comparison["compared"] == 64
    assert comparison["templates"]["saved"]["response"] != comparison["templates"]["run"]["response"]

    # 4. Accepting the new run makes it the reference: the replay passes again.
    (accept,) = accept_again
    assert pytest_run(accept, pytester, capfd).returncode == 0
    done = pytest_run(replay, pytester, capfd)
    assert done.returncode == 0, done.stdout[-3000:]
    assert len(project.requests) == 64 * 2 + 64 * 2
