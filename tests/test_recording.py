"""Recording and replaying model calls: a stub server that injects faults, and the real
llama.cpp server with SmolLM2 for the round trip."""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_empathy.cassettes.format import CassetteError
from pytest_empathy.cassettes.miss_reasons import Miss, diagnose
from pytest_empathy.cassettes.recorder import Recorder
from pytest_empathy.cassettes.replayer import Replayer
from pytest_empathy.corpus.rows import Row
from pytest_empathy.models import local_server
from pytest_empathy.models.endpoint import ChatEndpoint, NotRecorded, chat_path
from pytest_empathy.models.judges import ModelJudge
from pytest_empathy.models.profiles import ModelProfile
from pytest_empathy.models.responders import ModelResponder
from pytest_empathy.models.templates import judge_rubric, response_template
from pytest_empathy.modes import RecordMode

from .conftest import (
    BENCHMARK,
    FAKE_KEY,
    answer_of,
    llama_servers_of,
    read_report,
    run,
    stub_cassette,
    synthetic_rows,
    write_corpus,
)
from .stub_server import JSON, completion, is_judge_request, stub_server


def cassette(pytester: pytest.Pytester, case_id: str) -> dict:
    return json.loads(stub_cassette(pytester, case_id).read_text())


def test_record_then_replay_without_the_server(stub, pytester, xdist_mode):
    result = run(pytester, "--empathy-record=once", *xdist_mode)
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=8)
    recorded = read_report(pytester)
    # Each case asked once for an answer and once for a rating, and wrote one whole cassette.
    assert len(stub.requests) == 16
    files = list((pytester.path / "cassettes" / "stub").glob("*/*.json"))
    assert len(files) == 8
    assert all(len(json.loads(f.read_text())["interactions"]) == 2 for f in files)
    assert not list((pytester.path / "cassettes").rglob("*.tmp"))
    stub.script.append((None, (503, JSON, b"down")))  # would fail any live call
    for replay_args in (xdist_mode, ["-n", "0"]):
        result = run(pytester, *replay_args)
        assert result.ret == 0
        replayed = read_report(pytester)
        assert replayed == recorded | {"recording": replayed["recording"], "usage": {}}
        assert replayed["recording"] == {
            "mode": "none",
            "unrecorded": 0,
            "template_changed": 0,
            "cassettes": "cassettes/stub",
            "command": recorded["recording"]["command"],
        }
    # vcrpy replays too, in once mode when every cassette exists: both replays agree.
    result = run(pytester, "--empathy-record=once")
    assert result.ret == 0
    assert read_report(pytester)["cases"] == recorded["cases"]
    assert len(stub.requests) == 16


def recorded_call(body: str, answer: str, *, path: str = "/v1/chat/completions", status: int = 200) -> dict:
    return {
        "request": {
            "method": "POST",
            "uri": f"http://127.0.0.1{path}",
            "body": body,
            "headers": {"content-type": ["application/json"]},
        },
        "response": {"status": {"code": status, "message": "OK"}, "headers": {}, "body": {"string": answer}},
    }


def test_replay_matches_as_vcrpy_does_and_plays_each_recording_once(tmp_path):
    row = Row("r1", "sad")
    replayer = Replayer(tmp_path, "model")
    path = replayer.path(row)
    path.parent.mkdir(parents=True)
    ask = {"model": "m", "messages": [{"role": "user", "content": "hello"}], "seed": 0}
    path.write_text(
        json.dumps(
            {
                "interactions": [
                    recorded_call(
                        '{"seed": 0, "model": "m",\n "messages": [{"content": "hello", "role": "user"}]}', "first"
                    ),
                    recorded_call(json.dumps(ask), "second"),
                    recorded_call(json.dumps(ask), "elsewhere", path="/other/chat/completions"),
                ],
                "version": 1,
            }
        )
    )
    # Recorded URIs differ in host and port from where the calls go: only the path counts.
    with replayer.cassette(row):
        # JSON-equal bodies match whatever the key order and spacing; in recorded order, once each.
        assert replayer.respond("POST", "/v1/chat/completions", ask) == (200, "first")
        assert replayer.respond("POST", "/v1/chat/completions", ask) == (200, "second")
        assert replayer.respond("POST", "/v1/chat/completions", ask) is None
        assert replayer.respond("GET", "/other/chat/completions", ask) is None
        assert replayer.respond("POST", "/other/chat/completions", ask | {"seed": 1}) is None
        assert replayer.respond("POST", "/other/chat/completions", ask) == (200, "elsewhere")
    with replayer.cassette(Row("absent", "sad")):
        assert replayer.respond("POST", "/v1/chat/completions", ask) is None
    path.write_text(json.dumps({"interactions": [{"request": {"method": "POST"}}], "version": 1}))
    damaged = f"cassette {path} is damaged \\(interaction 1 lacks its request.s method"
    with pytest.raises(CassetteError, match=damaged), replayer.cassette(row):
        pass


@pytest.mark.parametrize(
    "base_url",
    [
        "http://h/v1",
        "http://h:8/v1/",
        "http://h/v1//",
        "http://h/my model/v1",
        "http://h",
        "http://h/a%20b/v1",
        "https://generativelanguage.example/v1beta/openai/",
    ],
)
def test_a_replay_looks_up_the_path_the_openai_client_posts_to(base_url):
    import openai

    sent = openai.OpenAI(base_url=base_url, api_key="x")._prepare_url("/chat/completions").raw_path.decode()
    assert chat_path(base_url) == sent


@pytest.mark.fault
def test_an_error_recorded_by_hand_fails_its_case_in_replay(stub, pytester):
    assert run(pytester, "--empathy-record=once").ret == 0
    target = stub_cassette(pytester, "sad-sad0")
    target.write_text(target.read_text().replace('"code": 200', '"code": 500', 1))
    result = run(pytester)
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(["*stub: HTTP 500 recorded in the cassette*"])


def test_missing_recording_names_the_cassette_and_the_command(stub, pytester):
    old_format = pytester.path / "cassettes" / "stub" / "sad" / "sad-sad1.yaml"
    old_format.parent.mkdir(parents=True)
    old_format.write_text("interactions: []\nversion: 1\n")
    result = run(pytester, "--empathy-emotions=sad")
    assert result.ret == 1
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*stub: no recording of this call: there is no cassette. Cassette: "
            "cassettes/stub/sad/sad-sad0.json. Record it with: pytest --empathy-model=stub "
            "--empathy-judge=stub --empathy-corpus=corpus.csv --empathy-baseline=human-raters --empathy-emotions=sad "
            "--empathy-record=new_episodes -k sad-sad0",
            "2 of 2 cases need (re-)recording. Record exactly those (the rest is left untouched) with: pytest "
            "*--empathy-record=new_episodes",
        ]
    )
    result.stdout.fnmatch_lines(
        [  # a cassette of an earlier version, in YAML, is named as such
            "*stub: no recording of this call: there is no cassette (only sad-sad1.yaml, in YAML, which this "
            "version no longer reads). Cassette: *sad-sad1.json*",
        ]
    )
    assert stub.requests == []


def test_changed_template_fails_its_cases_and_re_recording_keeps_only_the_current_templates(stub, pytester):
    # The model's answer depends on the prompt, as a real model's does: a new template brings a
    # new answer, and so a new judge request; the judge's rating of the old answer is dead.
    stub.answer_of = lambda body: (
        (200, JSON, completion("Good"))
        if is_judge_request(body)
        else (200, JSON, completion(f"I hear you ({body['messages'][0]['content'][:16]})."))
    )
    assert run(pytester, "--empathy-record=once").ret == 0
    first = template_hashes(pytester, "afraid-afraid0")
    second, third = pytester.path / "second.txt", pytester.path / "third.txt"
    second.write_text("Respond kindly to: {situation} {utterance}\n")
    third.write_text("Answer with warmth: {situation} {utterance}\n")
    # Replaying, each case fails saying so, and the summary says once what to record.
    result = run(pytester, "--empathy-emotions=afraid,sad", f"--empathy-template={second}")
    assert result.ret == 1
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(["4 of 4 cases need (re-)recording, 4 because a template changed since *"])
    assert result.stdout.str().count("need (re-)recording") == 1
    assert len(stub.requests) == 16
    # Listing the cases runs none, so it reads no cassette.
    listed = run(pytester, "--empathy-emotions=afraid,sad", f"--empathy-template={second}", "--collect-only", "-q")
    assert listed.ret == 0
    assert "4 tests collected" in listed.stdout.str() and "template changed" not in listed.stdout.str()
    # 'once' records what the new template needs into a cassette of another template.
    result = run(pytester, "--empathy-emotions=afraid,sad", f"--empathy-template={second}", "--empathy-record=once")
    assert result.ret == 0
    assert len(stub.requests) == 16 + 8
    now = template_hashes(pytester, "afraid-afraid0")
    assert now["response"] != first["response"] and now["judge"] == first["judge"]
    # 'new_episodes' after another change: the old answer and the judge's rating of it go.
    result = run(
        pytester, "--empathy-emotions=afraid,sad", f"--empathy-template={third}", "--empathy-record=new_episodes"
    )
    assert result.ret == 0
    assert len(stub.requests) == 16 + 8 + 8
    latest = template_hashes(pytester, "afraid-afraid0")
    assert latest["judge"] == first["judge"] and latest["response"] not in (first["response"], now["response"])
    for case in ("afraid-afraid0", "afraid-afraid1", "sad-sad0", "sad-sad1"):
        answer, rating = (i["request"]["body"] for i in cassette(pytester, case)["interactions"])
        assert template_hashes(pytester, case) == latest
        assert "Answer with warm" in answer and "I hear you (Answer with warm" in rating
    # Cases the runs did not select keep what they had.
    assert template_hashes(pytester, "caring-caring0") == first
    assert run(pytester, "--empathy-emotions=afraid,sad", f"--empathy-template={third}").ret == 0
    assert len(stub.requests) == 16 + 8 + 8


UNIT_TESTS = """
def test_arithmetic():
    assert 1 + 1 == 2

def test_text():
    assert "empathy".upper() == "EMPATHY"
"""


def test_a_changed_template_fails_the_benchmark_cases_and_runs_every_other_test(stub, pytester):
    pytester.makepyfile(test_units=UNIT_TESTS)
    assert run(pytester, "--empathy-record=once", "test_empathy.py").ret == 0
    template = pytester.path / "my prompts" / "response.txt"
    template.parent.mkdir()
    template.write_text("Respond kindly to: {situation} {utterance}\n")
    # Given as the machine's absolute path; every command shown names it from the rootdir.
    result = run(pytester, f"--empathy-template={template}")
    assert result.ret == 1
    result.assert_outcomes(passed=2, failed=8)
    output = result.stdout.str() + result.stderr.str()
    assert "no tests ran" not in output and "_pytest.outcomes.Exit" not in output and "Traceback" not in output
    for case in ("afraid-afraid0", "sad-sad1"):
        result.stdout.fnmatch_lines(
            [
                f"_*_ test_empathy[[]{case}[]] _*_",
                "stub: no recording of this call: the response "
                "template changed since the cassette was recorded (recorded with sha256 *, now *). Cassette: "
                f"cassettes/stub/{case.split('-')[0]}/{case}.json. Record it with: pytest *-k {case}",
            ]
        )
    (summary,) = [line for line in result.stdout.lines if "need (re-)recording" in line]
    assert summary.startswith(
        "8 of 8 cases need (re-)recording, 8 because a template changed since their cassettes were recorded. "
        "Record exactly those (the rest is left untouched) with: pytest --empathy-model=stub "
    )
    command = summary.split(" with: ", 1)[1]
    assert "--empathy-corpus=corpus.csv" in command and "'--empathy-template=my prompts/response.txt'" in command
    assert str(pytester.path) not in "".join(line for line in result.stdout.lines if "Record" in line)
    report = read_report(pytester)
    assert report["complete"] is False and report["overall"] is None
    assert report["recording"]["unrecorded"] == report["recording"]["template_changed"] == 8
    assert len(stub.requests) == 16

    # The command, run as shown, records one emotion; those cases replay, the rest still fail,
    # and the run stays incomplete: no statistics on part of it.
    words = shlex.split(command)
    # (Their gates are the ini file's, not this test's: the cases passing is what counts.)
    pytester.runpytest(*words[1:], "-p", "no:cacheprovider", "-k", "afraid").assert_outcomes(passed=2, deselected=8)
    # The stub answers the new prompt as the old: the judge's rating of that answer replays.
    assert len(stub.requests) == 16 + 2
    result = run(pytester, f"--empathy-template={template}")
    assert result.ret == 1
    result.assert_outcomes(passed=4, failed=6)
    result.stdout.fnmatch_lines(["6 of 8 cases need (re-)recording, 6 because a template changed *"])
    report = read_report(pytester)
    assert report["corpus"]["rated"] == 2 and report["overall"] is None
    assert {g["name"]: g["passed"] for g in report["gates"]}["complete"] is False
    # Recording the rest as the command says completes it.
    pytester.runpytest(*words[1:], "-p", "no:cacheprovider").assert_outcomes(passed=10)
    assert len(stub.requests) == 16 + 8
    result = run(pytester, f"--empathy-template={template}")
    assert result.ret == 0
    result.assert_outcomes(passed=10)


def test_once_after_a_rubric_change_keeps_the_answer_and_asks_the_judge_again(stub, pytester):
    assert run(pytester, "--empathy-record=once", "--empathy-emotions=sad").ret == 0
    first = template_hashes(pytester, "sad-sad0")
    rubric = pytester.path / "rubric.txt"
    rubric.write_text("Rate this reply to {situation} {utterance}: {response}\nAnswer Bad, Okay or Good.\n")
    result = run(pytester, "--empathy-emotions=sad", f"--empathy-judge-template={rubric}", "--empathy-record=once")
    assert result.ret == 0
    assert len(stub.requests) == 4 + 2  # the two judge calls alone
    now = template_hashes(pytester, "sad-sad0")
    assert now["response"] == first["response"] and now["judge"] != first["judge"]
    assert len(cassette(pytester, "sad-sad0")["interactions"]) == 2


def template_hashes(pytester: pytest.Pytester, case_id: str) -> dict[str, str]:
    """The template hash of each call in a case's cassette, by role (judge or response)."""
    hashes = {}
    for interaction in cassette(pytester, case_id)["interactions"]:
        request = interaction["request"]
        role = "judge" if is_judge_request(json.loads(request["body"])) else "response"
        assert role not in hashes, f"two {role} calls in {case_id}'s cassette"
        hashes[role] = request["headers"]["x-empathy-template"][0]
    return hashes


@pytest.mark.secrets
def test_key_reaches_the_server_and_nothing_else(stub, pytester):
    # One case fails with a server that echoes the key in its error, as some providers do.
    stub.then((401, JSON, json.dumps({"error": {"message": f"bad key {FAKE_KEY}"}}).encode()), answer_of("sad-sad1"))
    result = run(pytester, "--empathy-record=once")
    assert result.ret == 1
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(["*stub: HTTP 401 from http://127.0.0.1:*: *bad key ****"])
    sent = [{k.lower(): v for k, v in headers.items()}["authorization"] for headers, _ in stub.requests]
    assert sent and set(sent) == {f"Bearer {FAKE_KEY}"}
    output = result.stdout.str() + result.stderr.str()
    written = [p for p in pytester.path.rglob("*") if p.is_file()]
    assert len([p for p in written if p.suffix == ".json" and "cassettes" in p.parts]) == 7
    leaks = [str(p) for p in written if FAKE_KEY.encode() in p.read_bytes()]
    assert FAKE_KEY not in output and leaks == []
    for path in (pytester.path / "cassettes").rglob("*.json"):
        for interaction in json.loads(path.read_text())["interactions"]:
            assert set(interaction["request"]["headers"]) == {"content-type", "x-empathy-corpus", "x-empathy-template"}
            assert set(interaction["response"]["headers"]) == {"content-type"}


@pytest.mark.fault
def test_rate_limit_is_retried_after_the_delay_and_only_the_success_recorded(stub, pytester):
    stub.then((429, JSON | {"retry-after": "1"}, b'{"error": {"message": "slow down"}}'), answer_of("afraid-afraid0"))
    result = run(pytester, "--empathy-record=once", "-k", "afraid-afraid0")
    assert result.ret == 0
    assert len(stub.requests) == 3  # answer refused, answer, rating
    interactions = cassette(pytester, "afraid-afraid0")["interactions"]
    assert [i["response"]["status"]["code"] for i in interactions] == [200, 200]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            (500, JSON, b'{"error": {"message": "boom"}}'),
            "stub: HTTP 500 from http://127.0.0.1:*/v1/: *boom*; 3 attempts in *s (HTTP 500, HTTP 500, HTTP 500), "
            "max_retries = 2",
        ),
        ((503, JSON, b'{"error": {"message": "overloaded"}}'), "stub: HTTP 503 from *: *overloaded*; 3 attempts in *"),
        (2.5, "stub: timed out after 1s; ? attempts in *s (timed out after 1s, timed out after 1s*"),
        ((200, JSON, b'{"choices": [{"message": {"content": "trunc'), "stub: unusable answer (not JSON: *"),
        ((200, JSON, completion("x", choices=0)), "stub: unusable answer (empty choices list)"),
        (
            (200, JSON, completion("", finish_reason="content_filter")),
            "stub: unusable answer (finish_reason content_filter: the provider's filter cut the answer)",
        ),
    ],
)
@pytest.mark.fault
def test_faults_fail_their_case_only_and_are_never_recorded(stub, pytester, fault, message):
    # A 5xx or a time-out is retried (2 retries), so it is queued for every attempt.
    for _ in range(3 if isinstance(fault, float) or fault[0] >= 500 else 1):
        stub.then(fault, answer_of("joyful-joyful1"))
    result = run(pytester, "--empathy-record=once")
    assert result.ret == 1
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(["*_ test_empathy[[]joyful-joyful1[]] _*", message])
    result.stdout.fnmatch_lines(["corpus corpus: 7 of 8 cases rated, INCOMPLETE"])
    assert not stub_cassette(pytester, "joyful-joyful1").exists()


@pytest.mark.fault
def test_judge_prose_is_asked_again_then_the_case_is_unrated(stub, pytester):
    prose = (200, JSON, completion("I think the reply is rather thoughtful."))
    stub.then(prose, answer_of("caring-caring0", judge=True))
    stub.then(prose, answer_of("caring-caring0", judge=True))
    stub.then(prose, answer_of("caring-caring1", judge=True))
    stub.then((200, JSON, completion("Rating: okay.")), answer_of("caring-caring1", judge=True))
    stub.then((200, JSON, completion("Good or Bad")), answer_of("sad-sad0", judge=True))
    stub.then((200, JSON, completion("Excellent")), answer_of("sad-sad0", judge=True))
    result = run(pytester, "--empathy-record=once")
    assert result.ret == 1
    result.assert_outcomes(passed=6, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*stub answered 'I think the reply is rather thoughtful.', then 'I think the reply is rather "
            "thoughtful.': not one of Bad, Okay, Good; the case is unrated*",
        ]
    )
    result.stdout.fnmatch_lines(["*stub answered 'Good or Bad', then 'Excellent': not one of*"])
    ratings = {c["id"]: c["rating"] for c in read_report(pytester)["cases"]}
    assert ratings["caring-caring1"] == "okay"
    follow_up = [body for _, body in stub.requests if len(body["messages"]) == 3]
    assert len(follow_up) == 3
    assert follow_up[0]["messages"][2]["content"] == "Answer with exactly one word: Bad, Okay or Good."


@pytest.mark.fault
def test_a_recorded_unrated_answer_is_asked_again_in_new_episodes_only(stub, pytester):
    prose = (200, JSON, completion("A thoughtful reply, I would say."))
    for _ in range(2):
        stub.then(prose, answer_of("caring-caring0", judge=True))
    # caring1: no rating at first, then one on the follow-up.
    stub.then(prose, answer_of("caring-caring1", judge=True))
    stub.then((200, JSON, completion("Okay")), answer_of("caring-caring1", judge=True))
    assert run(pytester, "--empathy-record=once", "-k", "caring").ret == 1
    assert len(cassette(pytester, "caring-caring0")["interactions"]) == 3
    calls = len(stub.requests)

    for mode in ("--empathy-record=once", "--empathy-record=none"):
        result = run(pytester, mode, "-k", "caring")
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            [
                "*the case is unrated. Its answers are recorded in cassettes/stub/caring/caring-caring0.json; "
                "ask it again with: pytest --empathy-model=stub --empathy-judge=stub --empathy-corpus=*corpus.csv "
                "--empathy-baseline=human-raters --empathy-record=new_episodes -k caring-caring0"
            ]
        )
    assert len(stub.requests) == calls

    # Every judge answer that was no rating is asked again (the first ones of both cases); the
    # rest replays, the follow-up's recording included.
    result = run(pytester, "--empathy-record=new_episodes", "-k", "caring")
    assert result.ret == 0
    asked = stub.requests[calls:]
    assert len(asked) == 2 and all(is_judge_request(body) and len(body["messages"]) == 1 for _, body in asked)
    contents = [
        json.loads(i["response"]["body"]["string"])["choices"][0]["message"]["content"]
        for i in cassette(pytester, "caring-caring0")["interactions"]
    ]
    assert contents == ["That sounds really hard; I am here for you.", "Good"]
    ratings = {c["id"]: c["rating"] for c in read_report(pytester)["cases"]}
    assert ratings == {"caring-caring0": "good", "caring-caring1": "good"}
    assert run(pytester, "-k", "caring").ret == 0
    assert run(pytester, "--empathy-record=new_episodes", "-k", "caring").ret == 0
    assert len(stub.requests) == calls + 2, "what was asked again gave ratings: nothing more to ask"


@settings(max_examples=200)
@given(st.lists(st.tuples(st.sampled_from(["judge", "responder", None]), st.booleans()), max_size=12))
def test_the_judges_answers_that_were_no_rating_are_found_among_a_cases_calls(calls):
    judge = ModelJudge("stub", ChatEndpoint(ModelProfile("stub", "m"), None, "c"), judge_rubric())
    template = {"judge": judge.rubric.sha256, "responder": "another template", None: None}
    answer = {True: completion("Good").decode(), False: completion("Lovely reply.").decode()}
    recorded = [(template[who], answer[rates]) for who, rates in calls]
    expected = {i for i, (who, rates) in enumerate(calls) if who == "judge" and not rates}
    assert judge.unrated_answers(recorded) == expected


def test_judge_baseline_rates_the_human_responses_in_the_same_cassette(stub, pytester):
    rows = synthetic_rows(per_emotion=2, emotions=("afraid", "sad"))
    for row in rows:
        row["response_human"] = f"Oh no, {row['id']}, that must be hard."
    write_corpus(pytester.path / "corpus.csv", rows)
    stub.then((200, JSON, completion("Bad")), lambda body: "Oh no, sad1," in body["messages"][0]["content"])
    result = run(pytester, "--empathy-record=once", "--empathy-baseline=judge")
    assert result.ret == 0
    report = read_report(pytester)
    assert report["baseline"] == "judge"
    assert report["baseline_rates"] == "the corpus's human responses, rated by the judge stub"
    assert report["overall"]["baseline"] == {"bad": 1, "okay": 0, "good": 3}
    assert len(cassette(pytester, "sad-sad1")["interactions"]) == 3


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('api_key = "sk-123"', "keys are read from the environment only; set api_key_env"),
        ('colour = "blue"', "unknown setting 'colour'"),
        ("max_tokens = 'many'", "max_tokens = 'many' has the wrong type"),
        ('structured_output = "xml"', "structured_output must be one of none, json_schema, json_object_schema"),
    ],
)
@pytest.mark.bad_input
def test_bad_profiles_are_usage_errors(pytester, toml, message):
    pytester.makepyfile(test_empathy=BENCHMARK)
    pytester.makefile(".toml", pyproject=f"[tool.pytest-empathy.models.mine]\nmodel = 'm'\n{toml}\n")
    result = pytester.runpytest("--empathy-model=mine", "--empathy-judge=mine", "--empathy-corpus=smoke")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --empathy-model: *pyproject.toml [[]tool.pytest-empathy.models.mine[]]: {message}*"]
    )


@pytest.mark.parametrize(
    ("option", "text", "message"),
    [
        ("--empathy-template", "Say something nice about {situation}.", "lacks the placeholder(s) {utterance}"),
        ("--empathy-template", "Improve {response} for {utterance}.", "a response template cannot use {response}*"),
        (
            "--empathy-judge-template",
            "Rate {response} to {utterance} from 1 to 10.",
            "a judge rubric must offer the labels Bad, Okay, Good; it never names Bad, Okay, Good",
        ),
        ("--empathy-judge-template", "Rate {response} to {utterance}: Bad or Good.", "it never names Okay"),
    ],
)
@pytest.mark.bad_input
def test_bad_templates_are_rejected_at_start(pytester, option, text, message):
    pytester.makepyfile(test_empathy=BENCHMARK)
    (pytester.path / "t.txt").write_text(text)
    result = pytester.runpytest(
        "--empathy-model=smollm2-135m", "--empathy-judge=smollm2-135m", "--empathy-corpus=smoke", f"{option}=t.txt"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {option}: *t.txt: *{message}"])


@pytest.mark.bad_input
def test_recording_with_a_remote_profile_needs_its_key(pytester, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    pytester.makepyfile(test_empathy=BENCHMARK)
    result = pytester.runpytest(
        "--empathy-model=gpt-4", "--empathy-judge=gpt-4o-mini", "--empathy-corpus=smoke", "--empathy-record=once"
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --empathy-model: recording with profile 'gpt-4' needs its API key in $OPENAI_API_KEY"]
    )


@pytest.mark.secrets
def test_real_local_server_round_trip(local_model, pytester, xdist_mode, monkeypatch, capfd):
    """Record with SmolLM2 served by llama.cpp (started and stopped by the plugin), then
    replay with no server at all: the same ratings. The key in the environment reaches no
    output: the runs' own, nor this test's file descriptors, where what xdist's workers (and
    the server) write outside pytest's capture goes now that the run is in this process.
    Answers are bounded at 16 tokens (the profile's max_tokens, set in the project as a user
    may): their length is not what is tested."""
    pytester.makepyfile(test_empathy=BENCHMARK)
    pytester.makefile(".toml", pyproject="[tool.pytest-empathy.models.smollm2-135m]\nmax_tokens = 16\n")
    marker = pytester.path / "tmp"
    marker.mkdir()
    monkeypatch.setenv("TMPDIR", str(marker))
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    args = [
        "--empathy-model=smollm2-135m",
        "--empathy-judge=smollm2-135m",
        "--empathy-corpus=smoke",
        "--empathy-baseline=human-raters",
        "--empathy-emotions=afraid,grateful",
        "--empathy-gate=off",
        "--empathy-report=report.json",
        "-p",
        "no:cacheprovider",
        *xdist_mode,
    ]
    recording = pytester.runpytest(*args, "--empathy-record=once")
    assert recording.ret == 0, recording.stdout.str()
    recorded = read_report(pytester)
    assert llama_servers_of(marker) == []  # stopped at session end, no orphans
    files = sorted((pytester.path / "cassettes" / "smollm2-135m").glob("*/*.json"))
    assert [f.stem for f in files] == ["afraid-s01", "afraid-s02", "grateful-s35", "grateful-s36"]
    for path in files:
        interactions = json.loads(path.read_text())["interactions"]
        assert len(interactions) in (2, 3)  # answer, rating, and maybe the judge's second chance
        assert json.loads(interactions[0]["response"]["body"]["string"])["choices"][0]["message"]["content"]
    replay = pytester.runpytest(*args)
    assert replay.ret == 0
    assert read_report(pytester)["cases"] == recorded["cases"]
    assert llama_servers_of(marker) == []
    leaks = [str(p) for p in pytester.path.rglob("*") if p.is_file() and FAKE_KEY.encode() in p.read_bytes()]
    assert leaks == []
    runs = [recording.stdout.str(), recording.stderr.str(), replay.stdout.str(), replay.stderr.str()]
    assert [text for text in runs if FAKE_KEY in text] == []
    # capfd rather than runpytest_subprocess: the runs stay in this process, and what any of
    # their processes wrote to the descriptors they inherited is read all the same.
    assert FAKE_KEY not in "".join(capfd.readouterr())


@pytest.mark.parametrize(
    ("cores", "workers", "expected"),
    [
        # Without xdist, llama.cpp's own defaults: half the cores to generate, all to read a prompt.
        (2, 1, (1, 2)),
        (16, 1, (8, 16)),
        (1, 1, (1, 1)),
        # Each worker's share: 2 workers on 2 cores get one thread each, never none.
        (2, 2, (1, 1)),
        (16, 4, (2, 4)),
        (3, 2, (1, 1)),
        (2, 8, (1, 1)),
    ],
)
def test_a_local_server_takes_its_workers_share_of_the_cores(cores, workers, expected):
    assert local_server.threads(cores, workers) == expected


def test_a_local_server_is_started_with_the_threads_of_this_process_share(monkeypatch, tmp_path):
    """The run's worker count, as xdist tells each worker, and the cores this process may use."""
    cores = len(os.sched_getaffinity(0))

    def started_with(server: local_server.LocalServer) -> tuple[int, int]:
        command = server.command(tmp_path / "model.gguf", 8080)
        return int(command[command.index("--n_threads") + 1]), int(command[command.index("--n_threads_batch") + 1])

    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    assert started_with(local_server.LocalServer("smollm2-135m")) == (max(1, cores // 2), cores)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(cores))
    assert started_with(local_server.LocalServer("smollm2-135m")) == (1, 1)
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "not a number")
    assert started_with(local_server.LocalServer("smollm2-135m")) == (max(1, cores // 2), cores)
    assert started_with(local_server.LocalServer("smollm2-135m", threads=(3, 5))) == (3, 5)


def test_the_real_local_server_answers_the_same_on_a_workers_share_of_the_cores(local_model):
    """What lets a worker's server take a share of the cores: llama.cpp gives the same answers,
    byte for byte, to the requests the plugin makes (an answer and its rating, as recorded in a
    shipped cassette) with one thread as with the threads of a process alone here (those of a
    2-core machine's on one core: two to read a prompt)."""
    shipped = Path(__file__).parents[1] / "cassettes" / "smollm2-135m" / "afraid" / "afraid-s02.json"
    bodies = [
        interaction["request"]["body"].encode() for interaction in json.loads(shipped.read_text())["interactions"]
    ]
    assert len(bodies) == 2
    alone = local_server.threads(max(len(os.sched_getaffinity(0)), 2), 1)

    def answers(threads: tuple[int, int]) -> list[tuple[str, dict]]:
        server = local_server.LocalServer("smollm2-135m", threads=threads)
        try:
            url = server.start()
            found = []
            for body in bodies:
                request = urllib.request.Request(
                    f"{url}/chat/completions", data=body, headers={"content-type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=300) as response:
                    answer = json.loads(response.read())
                found.append((answer["choices"][0]["message"]["content"], answer["usage"]))
            return found
        finally:
            server.stop()

    one = answers((1, 1))
    assert all(content for content, _ in one)
    assert answers(alone) == one


def test_shipped_smoke_cassettes_replay_offline(pytester):
    pytester.makepyfile(test_empathy=BENCHMARK)
    cassettes = Path(__file__).parents[1] / "cassettes"
    result = pytester.runpytest(
        "--empathy-model=smollm2-135m",
        "--empathy-judge=smollm2-135m",
        "--empathy-corpus=smoke",
        "--empathy-baseline=human-raters",
        f"--empathy-cassettes={cassettes}",
        "--empathy-gate=off",
        "-n",
        "2",
    )
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=64)
    result.stdout.fnmatch_lines(["corpus smoke: 64 of 64 cases rated, complete"])


@pytest.mark.secrets
def test_shipped_cassettes_hold_no_credentials():
    root = Path(__file__).parents[1] / "cassettes"
    for path in root.rglob("*.json"):
        for interaction in json.loads(path.read_text())["interactions"]:
            assert set(interaction["request"]["headers"]) <= {
                "content-type",
                "x-empathy-corpus",
                "x-empathy-template",
            }, path
            assert set(interaction["response"]["headers"]) <= {"content-type"}, path
        assert not re.search(r"sk-[A-Za-z0-9_-]{16,}|[Bb]earer [A-Za-z0-9]", path.read_text()), path


def test_compressed_answers_are_recorded_decoded(stub, pytester):
    body = completion("I am so sorry; that sounds frightening.")
    stub.then((200, JSON | {"content-encoding": "gzip"}, gzip.compress(body)), answer_of("afraid-afraid0"))
    result = run(pytester, "--empathy-record=once", "-k", "afraid-afraid0")
    assert result.ret == 0, result.stdout.str()
    answer = cassette(pytester, "afraid-afraid0")["interactions"][0]["response"]
    assert answer["body"]["string"].encode() == body
    assert run(pytester, "-k", "afraid-afraid0").ret == 0


@pytest.mark.secrets
def test_text_that_may_not_be_passed_on_is_kept_as_a_hash_and_still_replays(tmp_path):
    """The release's text may not be redistributed: its cassettes keep each request body's
    hash, which recording modes and the replay match as they match a body."""
    row = Row("r1", "sad", "A situation nobody may copy.", "An utterance nobody may copy.")
    with stub_server() as server:
        profile = ModelProfile("stub", "stub-model", base_url=server.url, max_retries=0)

        def answer(cassettes: Recorder | Replayer, replayer: Replayer | None = None) -> str:
            endpoint = ChatEndpoint(profile, None, "licensed", replayer)
            try:
                with cassettes.cassette(row):
                    return ModelResponder("stub", endpoint, response_template()).answer(row)
            finally:
                endpoint.close()

        first = answer(Recorder(tmp_path, "stub", RecordMode.ONCE, usable=bool, hash_bodies=True))
        text = Recorder(tmp_path, "stub", RecordMode.ONCE, usable=bool).path(row).read_text()
        assert "nobody may copy" not in text and "sha256_of_body" in text and "stub-model" in text
        for mode in (RecordMode.ONCE, RecordMode.NEW_EPISODES):
            assert answer(Recorder(tmp_path, "stub", mode, usable=bool, hash_bodies=True)) == first
        assert len(server.requests) == 1, "a hashed recording plays back: nothing more was sent"
        replayer = Replayer(tmp_path, "stub")
        assert answer(replayer, replayer) == first
        row = Row("r1", "sad", "A situation nobody may copy.", "Another utterance.")
        with pytest.raises(NotRecorded):
            answer(replayer, replayer)


def test_a_changed_template_names_only_the_hashes_no_current_template_has(tmp_path):
    old_response, judge, new_response = "a" * 64, "b" * 64, "c" * 64

    def call(template: str) -> dict:
        request = {"method": "POST", "uri": "http://x/v1/chat/completions", "body": "{}"}
        return {
            "request": request | {"headers": {"x-empathy-template": [template]}},
            "response": {"status": {"code": 200}, "headers": {}, "body": {"string": "{}"}},
        }

    path = tmp_path / "case.json"
    path.write_text(json.dumps({"version": 1, "interactions": [call(old_response), call(judge)]}))
    reason, why = diagnose(path, new_response, {"response": new_response, "judge": judge})
    assert reason is Miss.TEMPLATE_CHANGED
    assert why == (
        f"the response template changed since the cassette was recorded (recorded with sha256 {'a' * 12}, "
        f"now {'c' * 12})"
    )
