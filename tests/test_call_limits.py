"""What bounds a live model call: its deadline, retries included, against servers that hang
or drip; the circuit breaker over an endpoint that keeps failing; the largest answer taken."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_empathy.models import retries
from pytest_empathy.models.breaker import CircuitBreaker
from pytest_empathy.models.endpoint import CallError, ChatEndpoint
from pytest_empathy.models.profiles import ModelProfile, ProfileError, load_profiles

from .conftest import answer_of, run, stub_cassette
from .stub_server import JSON, Drip, completion, stub_server


def set_profile(pytester: pytest.Pytester, *settings: str) -> None:
    """Set settings of the stub's profile (the last table of the stub's pyproject.toml)."""
    path = pytester.path / "pyproject.toml"
    keys = {setting.split("=")[0].strip() for setting in settings}
    kept = [line for line in path.read_text().splitlines() if line.split("=")[0].strip() not in keys]
    path.write_text("\n".join(kept + list(settings)) + "\n")


def attempt_seconds(result: pytest.RunResult) -> float:
    """The time the failed call recorded for its attempts (`N attempts in Xs` of its line,
    the first in the failures section; the short summary may repeat it)."""
    line = next(line for line in result.stdout.lines if line.startswith("stub: "))
    (seconds,) = re.findall(r"attempts? in (\S+)s \(", line)
    return float(seconds)


def until(condition: Callable[[], bool], within: float) -> bool:
    """Whether ``condition`` holds within ``within`` seconds (checked every 50 ms)."""
    ends = time.monotonic() + within
    while not condition():
        if time.monotonic() > ends:
            return False
        time.sleep(0.05)
    return True


# The deadline


@pytest.mark.fault
def test_a_server_that_drips_its_answer_is_cut_off_at_the_deadline(stub, pytester):
    # Each byte comes well within the 1 s read timeout: only a deadline over the whole call stops it.
    set_profile(pytester, "deadline = 1.5")
    every = 0.2
    stub.then(Drip(every=every), answer_of("sad-sad0"))
    answer = stub.answer_of({"messages": [{"content": ""}]})[2]  # what is dripped: 303 bytes
    drip = every * len(answer)  # 60.6 s
    result = run(pytester, "--empathy-record=once", "-k", "sad-sad0")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["stub: no answer within the 1.5s deadline; 1 attempt in *s (cut off at the deadline)"])
    # The attempt's time as the call recorded it: not cut off before its deadline, and far
    # from the drip's end.
    assert 1.5 <= attempt_seconds(result) < drip / 2
    # The server sees the hang-up when its next write fails, up to two bytes (0.4 s) after the
    # client closed, on a server thread: waited for, not read as soon as the run returns.
    assert until(lambda: len(stub.hung_up) == 1, within=60.0)
    assert stub.hung_up[0] - stub.arrivals[0] < drip / 2
    # Why the margins hold at a load of 10 on 2 cores: the deadline is the call's own clock,
    # read by an asyncio timer on the call's thread; load delays that timer firing, the socket's
    # closing and the server's next write by scheduling latency (well under a second each; the
    # run's wall clock, start-up included, is not read), against some 29 s of room between the
    # 1.5 s deadline and half the drip. Load only stretches the drip's sleeps: it cannot end
    # the drip early.
    assert not stub_cassette(pytester, "sad-sad0").exists()


@pytest.mark.fault
def test_the_default_deadline_is_timeout_times_attempts_and_the_message_says_so(stub, pytester):
    for _ in range(3):
        stub.then(60.0, answer_of("sad-sad0"))
    result = run(pytester, "--empathy-record=once", "-k", "sad-sad0")
    answered_before_the_run_ended = list(stub.served)
    assert result.ret == 1
    line = next(line for line in result.stdout.lines if line.startswith("stub: "))
    assert line.startswith("stub: timed out after 1s; 2 attempts in ") or "cut off at the deadline" in line
    assert "the 3s deadline (timeout 1s x 3 attempts)" in line
    # The time the call recorded for its attempts, against the 3 s deadline. Given up on after
    # the second attempt (a third would come too close): the time is read when the code
    # decides, before any wait, so under 3 s however loaded the machine. Cut off at the
    # deadline instead (a loaded machine delays the second attempt): at least 3 s, and under
    # 4 s, a second for the deadline's timer firing late; an attempt made past the deadline
    # would record at least 4.1 s (three 1 s time-outs, backoffs of 0.375 s and 0.75 s).
    spent = attempt_seconds(result)
    if "cut off at the deadline" in line:
        assert 3 <= spent < 4, line
    else:
        assert 2 <= spent < 3 and "then gave up: the next attempt was due" in line, line
    # Each attempt is answered 60 s after it arrives: the run ended before the first answer,
    # so it did not wait for one. 60 s is 20 times the deadline, room for a run that a load
    # of 10 on 2 cores slows fivefold; no clock of the run's own is read.
    assert answered_before_the_run_ended == []


@pytest.mark.fault
def test_a_long_retry_after_gives_up_at_once_and_says_no_retry_was_made(stub, pytester):
    stub.then((429, JSON | {"retry-after": "3600"}, b'{"error": {"message": "quota"}}'), answer_of("sad-sad0"))
    result = run(pytester, "--empathy-record=once", "-k", "sad-sad0")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "stub: HTTP 429 from http://127.0.0.1:*/v1/: *quota*; 1 attempt in 0.?s (HTTP 429), then gave up: "
            "the server asked to wait 3600s, past the 3s deadline (timeout 1s x 3 attempts)"
        ]
    )
    assert len(stub.requests) == 1


@pytest.mark.fault
@pytest.mark.fault
def test_no_attempt_is_made_that_the_deadline_would_cut_off(stub, pytester):
    set_profile(pytester, "deadline = 1.5")
    stub.then((503, JSON | {"retry-after-ms": "1000"}, b'{"error": {"message": "busy"}}'), answer_of("sad-sad0"))
    result = run(pytester, "--empathy-record=once", "-k", "sad-sad0")
    result.stdout.fnmatch_lines(
        [
            "stub: HTTP 503 from *: *busy*; 1 attempt in *s (HTTP 503), then gave up: the server asked to wait 1s, "
            "too close to the 1.5s deadline"
        ]
    )
    assert len(stub.requests) == 1


def test_an_answer_that_is_not_retried_says_so(stub, pytester):
    stub.then((400, JSON, b'{"error": {"message": "bad request"}}'), answer_of("sad-sad0"))
    result = run(pytester, "--empathy-record=once", "-k", "sad-sad0")
    result.stdout.fnmatch_lines(["stub: HTTP 400 from *: *bad request*; not retried, 1 attempt in *s (HTTP 400)"])
    assert len(stub.requests) == 1


@pytest.mark.fault
def test_a_server_may_ask_for_a_retry_of_what_is_not_retried_by_default(stub, pytester):
    stub.then((400, JSON | {"x-should-retry": "true"}, b'{"error": {"message": "again"}}'), answer_of("sad-sad0"))
    stub.then((503, JSON | {"x-should-retry": "false"}, b'{"error": {"message": "no"}}'), answer_of("sad-sad1"))
    result = run(pytester, "--empathy-record=once", "-k", "sad")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["stub: HTTP 503 from *: *no*; not retried, 1 attempt in *s (HTTP 503)"])


@given(st.integers(min_value=1, max_value=2000), st.floats(min_value=0, max_value=1))
def test_the_backoff_doubles_from_half_a_second_up_to_eight_less_a_random_quarter(retry, jitter):
    full = {1: 0.5, 2: 1.0, 3: 2.0, 4: 4.0}.get(retry, 8.0)
    assert retries.backoff(retry, jitter) == pytest.approx(full * (1 - 0.25 * jitter))
    assert 0.375 <= retries.backoff(retry) <= 8.0


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "Thu, 01 Jan 1970 00:01:40 GMT"}, 60.0),  # 100 s after the epoch, seen at 40 s
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-1"}, None),
        ({"retry-after": "nan"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_in_seconds_milliseconds_or_as_a_date(headers, seconds):
    assert retries.retry_after(headers, now=40.0) == seconds


@pytest.mark.parametrize(
    ("status", "headers", "retried"),
    [
        *[(status, {}, True) for status in (408, 409, 429, 500, 503)],
        *[(status, {}, False) for status in (400, 401, 404)],
        (400, {"x-should-retry": "true"}, True),
        (500, {"x-should-retry": "false"}, False),
    ],
)
def test_which_answers_are_tried_again(status, headers, retried):
    assert retries.should_retry(status, headers) is retried


# The circuit breaker


@pytest.mark.fault
def test_an_endpoint_that_keeps_failing_is_no_longer_called(stub, pytester):
    stub.answer_of = lambda body: (500, JSON, b'{"error": {"message": "down"}}')
    # One retry, not the stub's two: a call of several attempts counts once all the same, and
    # the three calls wait out one backoff each (half a second), not two.
    set_profile(pytester, "max_retries = 1")
    result = run(pytester, "--empathy-record=once", "-p", "no:randomly")
    assert result.ret == 1
    result.assert_outcomes(failed=8)
    # Three cases wait out their two attempts each; the other five fail at once.
    assert len(stub.requests) == 6
    result.stdout.fnmatch_lines(
        [
            "stub: not called: the last 3 calls to http://127.0.0.1:*/v1/ failed, the last with: HTTP 500 from *: "
            "*down*; 2 attempts in *; --empathy-circuit-breaker=3 stops calling it for the rest of this run "
            "(0 never stops)"
        ]
    )
    # One line per case in the failures section (the short summary may repeat it, width allowing).
    assert sum(line.startswith("stub: not called: the last 3 calls") for line in result.stdout.lines) == 5


@pytest.mark.fault
def test_the_breaker_counts_per_worker_and_can_be_turned_off(stub, pytester):
    stub.answer_of = lambda body: (500, JSON, b'{"error": {"message": "down"}}')
    set_profile(pytester, "max_retries = 0")
    result = run(pytester, "--empathy-record=once", "-n", "2", "--empathy-circuit-breaker=1")
    result.assert_outcomes(failed=8)
    assert len(stub.requests) <= 2
    calls = len(stub.requests)
    result = run(pytester, "--empathy-record=once", "--empathy-circuit-breaker=0")
    result.assert_outcomes(failed=8)
    assert len(stub.requests) - calls == 8


@pytest.mark.fault
def test_the_breaker_lets_the_cassettes_answer_what_they_hold(stub, pytester):
    assert run(pytester, "--empathy-record=once").ret == 0
    for case in ("afraid-afraid0", "caring-caring1", "sad-sad0"):
        stub_cassette(pytester, case).unlink()
    stub.answer_of = lambda body: (500, JSON, b'{"error": {"message": "down"}}')
    set_profile(pytester, "max_retries = 0")
    calls = len(stub.requests)
    result = run(pytester, "--empathy-record=new_episodes", "--empathy-circuit-breaker=1", "-p", "no:randomly")
    result.assert_outcomes(passed=5, failed=3)
    assert len(stub.requests) - calls == 1


@pytest.mark.fault
def test_faults_of_a_request_do_not_stop_the_endpoint(stub, pytester):
    # A 400 for each of three answers: the endpoint answered each time, and is not stopped.
    for case in ("afraid-afraid0", "afraid-afraid1", "caring-caring0"):
        stub.then((400, JSON, b'{"error": {"message": "prompt too long"}}'), answer_of(case))
    set_profile(pytester, "max_retries = 0")
    result = run(pytester, "--empathy-record=once", "--empathy-circuit-breaker=1", "-p", "no:randomly")
    result.assert_outcomes(passed=5, failed=3)
    assert "not called" not in result.stdout.str()


def test_a_call_that_succeeds_resets_the_count():
    breaker = CircuitBreaker(2)
    breaker.failed("http://a", "HTTP 500")
    breaker.succeeded("http://a")
    breaker.failed("http://a", "HTTP 500")
    assert breaker.refusal("http://a") is None
    breaker.failed("http://b", "HTTP 502")
    assert breaker.refusal("http://b") is None
    breaker.failed("http://a", "HTTP 503")
    refusal = breaker.refusal("http://a")
    assert refusal is not None and "the last 2 calls to http://a failed, the last with: HTTP 503" in refusal
    assert CircuitBreaker(0).refusal("http://a") is None


@pytest.mark.bad_input
def test_the_breaker_option_takes_a_whole_number_of_zero_or_more(pytester):
    result = pytester.runpytest("--empathy-model=chatgpt", "--empathy-circuit-breaker=-1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--empathy-circuit-breaker: '-1' is not a whole number of 0 or more*"])


# The largest answer


@pytest.mark.fault
def test_an_answer_above_the_profiles_bound_is_refused_and_not_recorded(stub, pytester):
    set_profile(pytester, "max_response_bytes = 4000")
    stub.then((200, JSON, completion("so sorry " * 1000)), answer_of("sad-sad0"))
    result = run(pytester, "--empathy-record=once", "-k", "sad")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["stub: an answer of 9??? bytes, above the profile's max_response_bytes = 4000; not taken, not recorded"]
    )
    assert not stub_cassette(pytester, "sad-sad0").exists()
    recorded = json.loads(stub_cassette(pytester, "sad-sad1").read_text())
    assert len(recorded["interactions"]) == 2


@pytest.mark.fault
def test_an_answer_recorded_under_a_larger_bound_is_refused_and_asked_again(stub, pytester):
    stub.then((200, JSON, completion("so sorry " * 1000)), answer_of("sad-sad0"))
    assert run(pytester, "--empathy-record=once", "-k", "sad-sad0").ret == 0
    set_profile(pytester, "max_response_bytes = 4000")
    result = run(pytester, "-k", "sad-sad0")
    result.stdout.fnmatch_lines(
        [
            "stub: an answer of 9??? bytes, above the profile's max_response_bytes = 4000; "
            "not taken, recorded under a larger bound"
        ]
    )
    calls = len(stub.requests)
    assert run(pytester, "--empathy-record=new_episodes", "-k", "sad-sad0").ret == 0
    # The answer, asked again, and its rating: the judge's prompt quotes the new answer.
    assert len(stub.requests) == calls + 2
    answers = [
        i["response"]["body"]["string"]
        for i in json.loads(stub_cassette(pytester, "sad-sad0").read_text())["interactions"]
    ]
    assert not any("so sorry" in answer for answer in answers)


def test_an_endpoint_calls_from_inside_an_event_loop_and_not_after_it_is_closed():
    with stub_server() as server:
        endpoint = ChatEndpoint(ModelProfile("stub", "stub-model", base_url=server.url), None, "c")

        async def from_a_coroutine() -> str:
            return endpoint.complete([{"role": "user", "content": "hi"}], template_sha256="t", max_tokens=5)

        try:
            assert asyncio.run(from_a_coroutine()) == "That sounds really hard; I am here for you."
        finally:
            endpoint.close()
        with pytest.raises(CallError, match="stub: the endpoint was closed at the end of the run"):
            endpoint.complete([{"role": "user", "content": "hi"}], template_sha256="t", max_tokens=5)
        assert len(server.requests) == 1


# Profiles


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("deadline = 0", "deadline = 0 must be a finite number above 0"),
        ("deadline = -5.0", "deadline = -5.0 must be a finite number above 0"),
        ("deadline = inf", "deadline = inf must be a finite number above 0"),
        ("timeout = nan", "timeout = nan must be a finite number above 0"),
        ("max_response_bytes = 0", "max_response_bytes = 0 must be a finite number above 0"),
        ("max_response_bytes = 1.5", "max_response_bytes = 1.5 has the wrong type"),
        ("max_retries = -1", "max_retries = -1 must be 0 or more"),
        ('deadline = "1m"', "deadline = '1m' has the wrong type"),
    ],
)
@pytest.mark.bad_input
def test_bad_limits_in_a_profile_are_one_line_errors(tmp_path, setting, message):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.pytest-empathy.models.mine]\nmodel = 'm'\n{setting}\n")
    with pytest.raises(ProfileError) as error:
        load_profiles(pyproject)
    assert str(error.value) == f"{pyproject} [tool.pytest-empathy.models.mine]: {message}"


def test_a_profile_deadline_is_its_own_or_timeout_times_attempts():
    profiles = load_profiles(None)
    profile = profiles["mixtral"]
    assert profile.call_deadline() == profile.timeout * (profile.max_retries + 1) == 300
    assert profile.deadline_text() == "the 300s deadline (timeout 60s x 5 attempts)"
