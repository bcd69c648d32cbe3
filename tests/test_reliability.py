"""Faults, bad input, crashes and secrets, tried on purpose: nothing recorded is lost, no key
leaks, every failure names what failed."""

from __future__ import annotations

import errno
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vcr.request import Request

from pytest_empathy import atomic
from pytest_empathy.cassettes import format as cassettes
from pytest_empathy.cassettes.audit import audit, audit_file, audit_reports
from pytest_empathy.cassettes.format import CassetteError
from pytest_empathy.cassettes.recorder import AtomicPersister
from pytest_empathy.corpus.reader import CorpusError, load_file
from pytest_empathy.models import retries

from .conftest import FAKE_KEY, answer_of, cli, read_report, run, stub_cassette, synthetic_rows, write_corpus
from .stub_server import Answer, completion, default_answer, is_judge_request

JSON = {"content-type": "application/json"}
CASSETTES = Path(__file__).parents[1] / "cassettes"


def cassette_files(pytester: pytest.Pytester) -> list[Path]:
    return sorted((pytester.path / "cassettes").rglob("*.json"))


# Secrets


@pytest.mark.secrets
def test_shipped_cassettes_hold_no_credentials():
    assert len(list(CASSETTES.rglob("*.json"))) >= 64
    assert audit(CASSETTES) == []


LEAKY = r"""{
  "interactions": [
    {
      "request": {
        "body": "{\"model\": \"m\"}",
        "headers": {
          "Authorization": ["Bearer abcdefghijklmnop"],
          "OpenAI-Organization": ["org-ABCDEFGHIJKLMNOPQRST"]
        },
        "method": "POST",
        "uri": "https://api.example.test/v1/chat/completions?api_key=abcdefgh12345678"
      },
      "response": {
        "body": {"string": "{\"note\": \"sk-proj-0123456789abcdefghij\"}"},
        "headers": {
          "Set-Cookie": ["session=secret"],
          "openai-project": ["proj_ABCDEFGHIJKLMNOPQRST"]
        },
        "status": {"code": 200, "message": "OK"}
      }
    }
  ],
  "version": 1
}
"""


@pytest.mark.secrets
def test_audit_reads_yaml_cassettes_too(tmp_path):
    # A cassette of an earlier version (YAML) is no longer replayed, but still must not leak.
    old = tmp_path / "model" / "sad" / "sad-1.yaml"
    old.parent.mkdir(parents=True)
    old.write_text(
        "interactions:\n- request:\n    headers:\n      Authorization:\n      - Bearer abcdefghijklmnop\n"
        "      content-type:\n      - application/json\n      api-key: []\n    uri: http://h/v1\nversion: 1\n"
    )
    assert [str(f) for f in audit(tmp_path)] == [
        f"{old}: line 5: bearer token",
        f"{old}: line 4 header Authorization: credential header with a value",
    ]


@pytest.mark.secrets
def test_audit_command_finds_credentials_with_file_and_location(tmp_path):
    (tmp_path / "model" / "sad").mkdir(parents=True)
    leaky = tmp_path / "model" / "sad" / "sad-1.json"
    leaky.write_text(LEAKY)
    (tmp_path / "model" / "sad" / "sad-2.json").write_text((CASSETTES / "smollm2-135m/sad/sad-s55.json").read_text())
    done = cli("audit-cassettes", str(tmp_path))
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    expected = [
        f"{leaky}: line 7: bearer token",
        f"{leaky}: line 8: organisation id",
        f"{leaky}: line 11: key parameter",
        f"{leaky}: line 14: sk- style key",
        f"{leaky}: line 17: project id",
        f"{leaky}: interaction 1 request header Authorization: credential header with a value",
        f"{leaky}: interaction 1 request header OpenAI-Organization: credential header with a value",
        f"{leaky}: interaction 1 response header Set-Cookie: credential header with a value",
        f"{leaky}: interaction 1 response header openai-project: credential header with a value",
    ]
    assert lines[:-1] == expected
    assert lines[-1] == f"9 possible credential(s) in 2 cassette(s) under {tmp_path}"
    (leaky).unlink()
    clean = cli("audit-cassettes", str(tmp_path))
    assert clean.returncode == 0


def recorded_with_every_output(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Two emotions recorded, with every report and the JUnit XML written, for a key to hide in."""
    return run(
        pytester,
        "--empathy-record=once",
        "--empathy-emotions=afraid,sad",
        "--empathy-html=r.html",
        "--empathy-markdown=r.md",
        "--empathy-csv=r.csv",
        "--junitxml=junit.xml",
        "-rA",
        *args,
    )


@pytest.mark.secrets
def test_a_key_reaches_no_output_report_or_message(stub, pytester):
    stub.then(
        (401, JSON, json.dumps({"error": {"message": f"invalid key {FAKE_KEY}"}}).encode()),
        lambda body: "case 0" in body["messages"][0]["content"],
    )
    stub.then(
        (500, JSON, f"upstream said {FAKE_KEY}".encode()), lambda body: "case 1" in body["messages"][0]["content"]
    )
    stub.then(
        (500, JSON, f"upstream said {FAKE_KEY}".encode()), lambda body: "case 1" in body["messages"][0]["content"]
    )
    stub.then(
        (500, JSON, f"upstream said {FAKE_KEY}".encode()), lambda body: "case 1" in body["messages"][0]["content"]
    )
    result = recorded_with_every_output(pytester, "-v")
    assert result.ret == 1
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*stub: HTTP 401 from *: *invalid key ****", "*stub: HTTP 500 from *"])
    written = [p for p in pytester.path.rglob("*") if p.is_file() and p.suffix != ".toml"]
    assert {p.name for p in written} >= {"r.html", "r.md", "r.csv", "junit.xml", "report.json"}
    leaks = [str(p) for p in written if FAKE_KEY.encode() in p.read_bytes()]
    assert leaks == [] and FAKE_KEY not in result.stdout.str() + result.stderr.str()
    assert audit(pytester.path / "cassettes") == []
    assert audit_reports(pytester.path) == []


# Faults while recording (more in test_recording.py)


@pytest.mark.fault
@pytest.mark.secrets
def test_credentials_in_a_base_url_stay_out_of_messages(stub, pytester):
    url = stub.url.replace("http://", "http://alice:hunter2-password@")
    stub.then((500, JSON, b"down"))
    stub.then((500, JSON, b"down"))
    stub.then((500, JSON, b"down"))
    result = run(pytester, "--empathy-record=once", "-k", "sad-sad0", f"--empathy-base-url={url}")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*stub: HTTP 500 from http://127.0.0.1:*/v1/: *; 3 attempts in *"])
    assert "hunter2" not in result.stdout.str() + result.stderr.str()


@pytest.mark.fault
def test_rate_limit_without_retry_after_and_connection_resets(stub, pytester):
    stub.then(
        (429, JSON, b'{"error": {"message": "slow down"}}'),
        lambda body: "feel afraid (case 0)" in body["messages"][0]["content"],
    )
    for _ in range(3):
        stub.then("reset", lambda body: "feel sad (case 1)" in body["messages"][0]["content"])
    result = run(pytester, "--empathy-record=once")
    assert result.ret == 1
    # The attempts the retry policy made, counted by the server instead of a bound on the run's
    # time: 7 cases' answer and rating, the refused answer's retry, 3 attempts at the reset one.
    assert len(stub.requests) == 7 * 2 + 1 + 3
    # The waits it decided, as the server saw them: each gap between a case's attempts is the
    # backoff for that retry (the 429 gave no Retry-After), at least its shortest (less a
    # quarter of jitter), and generously bounded above: 5 s over its longest allows for a
    # loaded machine and catches a long default delay (the openai client's own is up to 60 s).
    for case, retried in (("afraid-afraid0", 1), ("sad-sad1", 2)):
        arrived = [at for at, (_, body) in zip(stub.arrivals, stub.requests, strict=True) if answer_of(case)(body)]
        assert len(arrived) == retried + 1, case
        for retry, (before, after) in enumerate(itertools.pairwise(arrived), start=1):
            assert retries.backoff(retry, jitter=1) <= after - before < retries.backoff(retry, jitter=0) + 5, case
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(["*stub: cannot connect to http://127.0.0.1:*/v1/ (*)*"])
    report = read_report(pytester)
    assert report["complete"] is False and report["overall"] is None and len(report["cases"]) == 7
    assert len(cassette_files(pytester)) == 7  # every other case recorded


# Crashes and concurrency


KILLING_BENCHMARK = """
import os, signal
from pytest_empathy.plugin import RUN_KEY
from pytest_empathy.ratings import Rating

def test_empathy(empathy_case, empathy_evaluate, request):
    if empathy_case.case_id == "joyful-joyful1" and not os.environ.get("EMPATHY_NO_KILL"):
        benchmark = request.config.stash[RUN_KEY]
        with benchmark.cassettes.cassette(empathy_case):
            benchmark.responder.answer(empathy_case)  # recorded in memory, not yet on disk
            os.kill(os.getpid(), signal.SIGKILL)
    assert empathy_evaluate(empathy_case).rating in Rating
"""


@pytest.mark.fault
def test_a_worker_killed_while_recording_loses_nothing_and_once_records_the_rest(stub, pytester, monkeypatch):
    pytester.makepyfile(test_empathy=KILLING_BENCHMARK)
    result = run(pytester, "--empathy-record=once", "-n", "2")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["*worker 'gw*' crashed while running*joyful-joyful1*", "corpus corpus: 7 of 8 cases rated, INCOMPLETE"]
    )
    files = cassette_files(pytester)
    assert len(files) == 7 and not list((pytester.path / "cassettes").rglob("*.tmp"))
    assert all(len(json.loads(f.read_text())["interactions"]) == 2 for f in files)
    calls = len(stub.requests)
    monkeypatch.setenv("EMPATHY_NO_KILL", "1")
    result = run(pytester, "--empathy-record=once", "-n", "2")
    assert result.ret == 0
    assert len(stub.requests) - calls == 2  # only the lost case's answer and rating
    assert len(cassette_files(pytester)) == 8


@pytest.mark.fault
def test_a_failed_write_leaves_the_old_cassette(tmp_path, monkeypatch):
    path = tmp_path / "case.json"
    path.write_text("old\n")

    def broken_serialize(cassette_dict, serializer):
        raise OSError("disk full")

    monkeypatch.setattr("pytest_empathy.cassettes.recorder.serialize", broken_serialize)
    with pytest.raises(OSError, match="disk full"):
        AtomicPersister.save_cassette(path, {"requests": [], "responses": []}, None)
    assert path.read_text() == "old\n" and list(tmp_path.iterdir()) == [path]


@pytest.mark.fault
def test_a_body_json_cannot_hold_is_a_clear_error_and_leaves_the_old_cassette(tmp_path):
    path = tmp_path / "case.json"
    path.write_text("old\n")
    request = Request("POST", "http://127.0.0.1/v1/chat/completions", b"{}", {"content-type": "application/json"})
    utf16 = '{"choices": [{"message": {"content": "Good"}}]}'.encode("utf-16")  # JSON, but not UTF-8
    response = {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": utf16}}
    with pytest.raises(CassetteError, match=f"cassette {path} not written: a body of its calls is not UTF-8"):
        AtomicPersister.save_cassette(path, {"requests": [request], "responses": [response]}, cassettes)
    assert path.read_text() == "old\n" and list(tmp_path.iterdir()) == [path]


@pytest.mark.fault
def test_a_second_recording_run_on_the_same_cassettes_is_refused(stub, pytester):
    # The first run's calls are held until the second run has been refused, so that the first
    # is still recording whatever a loaded machine does to either: no race against a clock.
    profile = pytester.path / "pyproject.toml"
    profile.write_text(profile.read_text().replace("timeout = 1.0", "timeout = 600.0"))
    refused = threading.Event()

    def held(body: dict[str, Any]) -> Answer:
        refused.wait(600)
        return default_answer(body)

    stub.answer_of = held
    first = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "--empathy-model=stub",
            "--empathy-judge=stub",
            "--empathy-corpus=corpus.csv",
            "--empathy-baseline=human-raters",
            "--empathy-gate=off",
            "--empathy-record=once",
            "-p",
            "no:cacheprovider",
        ],
        cwd=pytester.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lock = pytester.path / "cassettes" / "stub" / ".recording.lock"
    give_up = time.monotonic() + 600  # only against a run that never takes the lock
    try:
        while not (lock.exists() and lock.read_text().strip()):
            assert first.poll() is None, first.communicate()[0]
            assert time.monotonic() < give_up, "the first run took no lock"
            time.sleep(0.05)
        second = run(pytester, "--empathy-record=new_episodes")
    finally:
        refused.set()
    output, _ = first.communicate(timeout=600)
    assert second.ret == pytest.ExitCode.USAGE_ERROR
    second.stderr.fnmatch_lines(
        [f"ERROR: --empathy-record: another run is recording into {lock.parent} (process {first.pid}); *"]
    )
    assert first.returncode == 0, output
    assert len(cassette_files(pytester)) == 8 and audit(pytester.path / "cassettes") == []
    assert not lock.exists()  # nothing left behind for the user's git status
    assert run(pytester, "--empathy-record=new_episodes").ret == 0  # the lock went with the first run
    assert not lock.exists()


@pytest.mark.fault
def test_a_recording_that_reached_no_server_leaves_no_folder_behind(pytester):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pytester.makepyprojecttoml(
        f"""
        [tool.pytest-empathy.models.nowhere]
        model = "nowhere-model"
        base_url = "http://127.0.0.1:{port}/v1"
        max_retries = 0
        timeout = 1.0
        """
    )
    write_corpus(pytester.path / "corpus.csv", synthetic_rows(per_emotion=1, emotions=("afraid", "sad")))
    result = pytester.runpytest(
        "--empathy-model=nowhere",
        "--empathy-judge=nowhere",
        "--empathy-corpus=corpus.csv",
        "--empathy-baseline=human-raters",
        "--empathy-record=once",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == 1
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*nowhere: cannot connect to http://127.0.0.1:*"])
    assert not (pytester.path / "cassettes").exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda text: text[: len(text) // 2],
            "*cassette {path} is damaged or truncated (*); delete it and record it again",
        ),
        (
            lambda text: text.replace('"version": 1', '"version": 7'),
            "*cassette {path} is not of format version 1 (version: 7)",
        ),
        (
            lambda text: text.replace('"method": "POST"', '"verb": "POST"', 1),
            "*cassette {path} is damaged (interaction 1 lacks *); delete it and record it again",
        ),
        *(
            # Nesting deeper than the JSON parser goes (about 200 KB), whole or in part.
            (damage, "*cassette {path} is damaged or truncated (JSON nested too deeply to be read)*")
            for damage in (
                lambda text: "[" * 100_000 + "]" * 100_000,
                lambda text: text.replace('"version": 1', '"version": 1, "x": ' + "[" * 100_000 + "]" * 100_000, 1),
            )
        ),
        (
            lambda text: text.replace("feel sad (case 0)", "feel sad (case 9)"),
            "*stub: no recording of this call: its requests differ from the recorded ones*Cassette: "
            "cassettes/stub/sad/sad-sad0.json.*",
        ),
    ],
)
@pytest.mark.bad_input
def test_a_corrupt_cassette_fails_only_its_case_and_names_the_file(stub, pytester, damage, message):
    assert run(pytester, "--empathy-record=once").ret == 0
    target = stub_cassette(pytester, "sad-sad0")
    target.write_text(damage(target.read_text()))
    result = run(pytester)
    assert result.ret == 1
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines([message.format(path=target)])


# Bad input


def corpus_file(tmp_path_factory: pytest.TempPathFactory, suffix: str, data: bytes) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / f"corpus{suffix}"
    path.write_bytes(data)
    return path


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=st.sampled_from([".csv", ".jsonl"]), data=st.binary(max_size=600))
@pytest.mark.bad_input
def test_fuzzed_bytes_give_only_a_corpus_error(tmp_path_factory, suffix, data):
    path = corpus_file(tmp_path_factory, suffix, data)
    try:
        load_file(path)
    except CorpusError as error:
        assert str(error).startswith(str(path))


cell = st.one_of(
    st.text(max_size=30), st.sampled_from(["sad", "afraid", "good", "3", "", "Bad"]), st.just("x" * 140_000)
)
columns = st.lists(
    st.sampled_from(
        [
            "id",
            "emotion",
            "situation",
            "utterance",
            "polarity",
            "response_bot",
            "rating_bot",
            "rating_human",
            "extra",
            "dialog_id",
        ]
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=columns,
    rows=st.lists(st.lists(cell, max_size=9), max_size=4),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1"]),
    suffix=st.sampled_from([".csv", ".jsonl"]),
)
@pytest.mark.bad_input
def test_fuzzed_rows_give_only_a_corpus_error_naming_the_row(tmp_path_factory, header, rows, encoding, suffix):
    if suffix == ".csv":
        lines = [",".join(header)] + [
            ",".join(json.dumps(v) if "," in v or '"' in v else v for v in row) for row in rows
        ]
    else:
        lines = [json.dumps(dict(zip(header, row, strict=False))) for row in rows]
    try:
        data = "\n".join(lines).encode(encoding)
    except UnicodeEncodeError:
        return
    path = corpus_file(tmp_path_factory, suffix, data)
    try:
        corpus = load_file(path)
    except CorpusError as error:
        assert str(error).startswith(str(path))
        if error.row is not None:
            assert 1 <= error.row <= len(lines)
    else:
        assert corpus.rows and all(row.emotion for row in corpus.rows)


@pytest.mark.bad_input
def test_a_profile_without_a_base_url_fails_before_any_case(pytester):
    pytester.makepyfile(
        test_empathy="def test_empathy(empathy_case, empathy_evaluate):\n    empathy_evaluate(empathy_case)\n"
    )
    pytester.makefile(".toml", pyproject="[tool.pytest-empathy.models.nowhere]\nmodel = 'm'\n")
    result = pytester.runpytest(
        "--empathy-model=nowhere", "--empathy-judge=nowhere", "--empathy-corpus=smoke", "--empathy-record=once"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-model: profile 'nowhere' has no base URL: set --empathy-base-url"])


def key_fragments(key: str) -> list[str]:
    """Every 8-character piece of the fake key that no ordinary output holds (its start,
    "sk-empathy-", reads like the plugin's name): a cut key leaks through any of them."""
    return [key[i : i + 8] for i in range(4, len(key) - 7)]


@pytest.mark.parametrize("at", [150, 185, 195, 199, 230])
@pytest.mark.secrets
def test_a_key_cut_by_shortening_leaks_no_part_of_itself(stub, pytester, at):
    message = "x" * at + f" provided: {FAKE_KEY} and more text after it"
    for _ in range(3):
        stub.then((500, JSON, json.dumps({"error": {"message": message}}).encode()))
    result = run(pytester, "--empathy-record=once", "-k", "sad-sad0", "--junitxml=junit.xml", "-rA")
    assert result.ret == 1
    shown = result.stdout.str() + result.stderr.str() + (pytester.path / "junit.xml").read_text()
    assert [piece for piece in key_fragments(FAKE_KEY) if piece in shown] == []


@pytest.mark.secrets
def test_a_server_echoing_the_key_in_its_answers_reaches_no_output(stub, pytester):
    """Answers that carry the run's key (a server echoing the Authorization header) are
    masked before the judge, the reports and the cassette see them, with a warning."""

    def echo(body):
        content = "Good" if is_judge_request(body) else f"I hear you. (Authorization: Bearer {FAKE_KEY})"
        return 200, JSON, completion(content)

    stub.answer_of = echo
    result = recorded_with_every_output(pytester)
    assert result.ret == 0, result.stdout.str()
    judged = [body for _, body in stub.requests if is_judge_request(body)]
    assert judged and all(FAKE_KEY not in json.dumps(body) for body in judged)
    written = [p for p in pytester.path.rglob("*") if p.is_file() and p.suffix != ".toml"]
    assert [str(p) for p in written if FAKE_KEY.encode() in p.read_bytes()] == []
    assert audit(pytester.path / "cassettes") == [] and audit_reports(pytester.path) == []
    result.stdout.fnmatch_lines(["*SecretMasked: case *a model's answer carried a credential*cassettes/stub/*"])
    report = read_report(pytester)
    assert all("***" in case["response"] for case in report["cases"] if case.get("response"))


@pytest.mark.bad_input
@pytest.mark.secrets
def test_a_base_url_with_a_query_is_refused_without_echoing_it(stub, pytester):
    """A query in a base URL is where keys hide, and the openai client would put its paths
    after it: refused where it is read, naming the option, never showing the query."""
    url = f"{stub.url}?api_key={FAKE_KEY}"
    result = run(pytester, "--empathy-record=once", f"--empathy-base-url={url}")
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"*--empathy-base-url: {stub.url} has a query or fragment*api_key_env*"])
    assert FAKE_KEY not in result.stdout.str() + result.stderr.str()
    pyproject = pytester.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'"{stub.url}"', f'"{url}"'))
    result = run(pytester, "--empathy-record=once")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*base_url must be an http(s) URL without a query or fragment*"])
    assert FAKE_KEY not in result.stdout.str() + result.stderr.str()


@pytest.mark.secrets
def test_audit_knows_more_key_shapes_custom_headers_and_reports(tmp_path):
    cassette = tmp_path / "cassettes" / "model" / "sad" / "sad-1.JSON"
    cassette.parent.mkdir(parents=True)
    interaction = {
        "request": {
            "method": "POST",
            "uri": "https://alice:s3cretpass@api.example/v1/chat/completions",
            "body": "{}",
            "headers": {"X-Custom-Auth": ["let-me-in-please"], "AUTHORIZATION": [""], "api-key": []},
        },
        "response": {
            "status": {"code": 200, "message": "OK"},
            "headers": {},
            "body": {"string": "AIza" + "B" * 35 + " and ?token=abcdef123456 and " + "ghp_" + "c" * 36},
        },
    }
    cassette.write_text(json.dumps({"interactions": [interaction], "version": 1}, indent=1))
    found = sorted(f"{f.where}: {f.what}" for f in audit(tmp_path / "cassettes"))
    lines = cassette.read_text().splitlines()
    body, uri = (next(n for n, line in enumerate(lines, 1) if part in line) for part in ("AIza", "alice:"))
    assert [f for f in found if f.startswith("line")] == sorted(
        [f"line {body}: {what}" for what in ("Google API key", "key parameter", "GitHub token")]
        + [f"line {uri}: credentials in a URL"]
    )
    # Named like a credential, with a value; the empty AUTHORIZATION and api-key are not values.
    assert [f for f in found if f.startswith("interaction")] == [
        "interaction 1 request header X-Custom-Auth: header named like a credential, with a value"
    ]
    report = tmp_path / "reports" / "junit.xml"
    report.parent.mkdir()
    report.write_text(f"<failure>HTTP 401: invalid key {FAKE_KEY}</failure>")
    done = cli("audit-cassettes", "--reports", str(tmp_path / "reports"))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{report}: line 1: sk- style key",
        f"1 possible credential(s) in 1 report(s) under {tmp_path / 'reports'}",
    ]


@pytest.mark.secrets
def test_audit_finds_long_hex_keys_but_not_the_files_own_hashes(tmp_path, stub, pytester):
    # The plugin's own files: cassettes with template headers, reports with template hashes,
    # and a cassette of the release, whose request bodies are hashed.
    assert recorded_with_every_output(pytester).ret == 0
    assert audit(pytester.path / "cassettes") == [] and audit_reports(pytester.path) == []
    hashed = next(p for p in CASSETTES.rglob("*.json") if "sha256_of_body" in p.read_text())
    assert list(audit_file(hashed)) == []

    key = "9f2c4e1ab3d5" * 3 + "77ab"  # 40 hexadecimal digits, as many providers' keys are
    cassette = next((pytester.path / "cassettes").rglob("*.json"))
    data = json.loads(cassette.read_text())
    data["interactions"][0]["response"]["body"]["string"] += f" {key.upper()}"
    cassette.write_text(json.dumps(data, indent=1))
    report = pytester.path / "report.json"
    report.write_text(report.read_text().replace('"schema"', f'"note": "{key}", "schema"', 1))
    assert [f.what for f in audit(pytester.path / "cassettes")] == ["long hexadecimal key"]
    found = {(f.path, f.what) for f in audit_reports(pytester.path)}
    assert found == {(report, "long hexadecimal key"), (cassette, "long hexadecimal key")}
    # A sha256 labelled as one is the file's own; the same digits unlabelled are not.
    template = data["interactions"][0]["request"]["headers"]["x-empathy-template"][0]
    (tmp_path / "r.md").write_text(f"judge template sha256: `{template}`\n")
    assert audit_reports(tmp_path) == []
    (tmp_path / "r.md").write_text(f"the model said {template}\n")
    assert [f.what for f in audit_reports(tmp_path)] == ["long hexadecimal key"]
    (tmp_path / "r.md").write_text("a long number 12345678901234567890123456789012345 and a short hash 0a1b2c3d4e5f\n")
    assert audit_reports(tmp_path) == []


# Writes that fail


@pytest.mark.fault
def test_a_report_that_cannot_be_written_stops_nothing_else(stub, pytester):
    (pytester.path / "blocker").write_text("a file, where a directory would be needed")
    result = run(pytester, "--empathy-record=once", "--empathy-html=blocker/r.html", "--empathy-csv=r.csv")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "*pytest-empathy*",
            "corpus corpus: 8 of 8 cases rated, complete",
            "HTML report not written: cannot write */blocker/r.html (*); what was there is unchanged",
        ]
    )
    assert (pytester.path / "report.json").is_file() and (pytester.path / "r.csv").is_file()
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.fault
def test_a_cassette_directory_that_cannot_be_made_is_a_usage_error(stub, pytester):
    (pytester.path / "blocker").write_text("a file")
    result = run(pytester, "--empathy-record=once", "--empathy-cassettes=blocker/cassettes")
    assert result.ret == 4
    result.stderr.fnmatch_lines(
        ["ERROR: --empathy-record: cannot record into *blocker/cassettes/stub (Not a directory)*"]
    )


@pytest.mark.fault
def test_a_full_disk_while_recording_fails_each_case_in_one_line_and_loses_nothing(stub, pytester, monkeypatch):
    assert run(pytester, "--empathy-record=once", "-k", "sad").ret == 0
    recorded = {p: p.read_bytes() for p in cassette_files(pytester)}
    replace = os.replace

    def full(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        if "/cassettes/" in str(target):
            raise OSError(errno.ENOSPC, "No space left on device")
        replace(source, target)

    # The run is in this process (no workers): the fault is injected here, for the run only,
    # and monkeypatch puts os.replace back however the run ends.
    with monkeypatch.context() as disk:
        disk.setattr(atomic.os, "replace", full)
        result = run(pytester, "--empathy-record=all", "-p", "no:randomly")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["cannot write */cassettes/stub/* (No space left on device); what was there is unchanged"]
    )
    assert "Traceback" not in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()
    assert {p: p.read_bytes() for p in cassette_files(pytester)} == recorded
    assert not list((pytester.path / "cassettes").rglob("*.tmp"))


def test_collect_only_is_not_a_failed_run(stub, pytester):
    result = run(pytester, "--collect-only", "-q")
    assert result.ret == 0
    assert "cases rated" not in result.stdout.str()


def test_files_take_the_umask_and_csv_cells_are_no_formulas(tmp_path):
    from pytest_empathy.atomic import write_atomic
    from pytest_empathy.reports import case_table

    umask = os.umask(0)
    os.umask(umask)
    write_atomic(tmp_path / "r.json", "{}")
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o666 & ~umask
    document = {
        "cases": [
            {"id": "sad-1", "emotion": "sad", "rating": "good", "response": '=HYPERLINK("http://x","y")'},
            {"id": "sad-2", "emotion": "sad", "rating": "bad", "response": "@SUM(1)"},
            {"id": "sad-3", "emotion": "sad", "rating": "okay", "response": "Fine = good."},
        ]
    }
    text = case_table.render(document)
    assert "'=HYPERLINK" in text and "'@SUM(1)" in text and ",Fine = good." in text


@pytest.mark.fault
def test_the_recording_lock_leaves_nothing_behind_and_never_removes_another_runs_lock(tmp_path):
    from pytest_empathy.cassettes.format import CassetteError
    from pytest_empathy.cassettes.lock import RecordingLock

    folder = tmp_path / "cassettes" / "model"
    first = RecordingLock(folder)
    first.acquire()
    assert first.made == [folder, folder.parent]
    with pytest.raises(CassetteError, match=f"another run is recording into {folder} \\(process {os.getpid()}\\)"):
        RecordingLock(folder).acquire()
    first.release()
    assert not (tmp_path / "cassettes").exists()  # the folders it made, empty, went with it

    (folder / "afraid").mkdir(parents=True)  # a recording was written: the folders stay
    second = RecordingLock(folder)
    second.acquire()
    assert second.made == []
    # Another run's lock file took the place of this one's (removed by hand meanwhile).
    second.path.unlink()
    third = RecordingLock(folder)
    third.acquire()
    second.release()
    assert third.path.read_text() == str(os.getpid())
    with pytest.raises(CassetteError, match="another run is recording"):
        RecordingLock(folder).acquire()
    third.release()
    assert sorted(p.name for p in folder.iterdir()) == ["afraid"]
