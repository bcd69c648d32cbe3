"""Recording with --empathy-concurrency: several cases' calls in flight in one process (or in
each xdist worker), each test taking its own case's result; the cassettes and the results
are those of a sequential run, byte for byte."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from pytest_empathy.models.call_loop import Attempt, CallLoop
from pytest_empathy.models.endpoint import ChatEndpoint
from pytest_empathy.models.profiles import ModelProfile

from .conftest import BENCHMARK, FAKE_KEY, answer_of, run, stub_cassette, stub_project, synthetic_rows
from .stub_server import JSON, After, Answer, StubServer, completion, is_judge_request, stub_server

EMOTIONS = ("afraid", "caring", "joyful", "sad", "angry", "proud")
PER_EMOTION = 6
CASES = len(EMOTIONS) * PER_EMOTION


def varied(body: dict[str, Any]) -> Answer:
    """An answer of its own for every call (a mix-up between cases would show in their
    cassettes), after a wait of 0 to 60 ms that differs by call, so that calls end in
    another order than they started."""
    digest = hashlib.sha256(body["messages"][0]["content"].encode()).hexdigest()
    time.sleep(int(digest[:2], 16) / 255 * 0.06)
    if is_judge_request(body):
        content = ("Bad", "Okay", "Good")[int(digest[2], 16) % 3]
    else:
        content = f"That sounds hard ({digest[:12]}); I am here for you."
    return 200, JSON, completion(content)


class Gathering:
    """``varied``'s answer, once armed held back until more than ``enough`` calls are in the
    server at once (or ``patience`` seconds have passed): whether calls can overlap that much
    is then up to the code under test, not to how soon a loaded machine starts the second
    worker (a worker started late found the first one's calls answered, and at most 4 of a
    limit of 8 in flight failed the check under coverage at a load of 4)."""

    def __init__(self, enough: int, patience: float) -> None:
        self.enough, self.patience = enough, patience
        self.armed = self.gathered = False
        self.inside = 0
        self.changed = threading.Condition()

    def __call__(self, body: dict[str, Any]) -> Answer:
        with self.changed:
            self.inside += 1
            self.changed.notify_all()
            if self.armed and not self.gathered:
                # Once: the later calls go as they come, whether the first were gathered or waited in vain.
                self.changed.wait_for(lambda: self.gathered or self.inside > self.enough, timeout=self.patience)
                self.gathered = True
                self.changed.notify_all()
        try:
            return varied(body)
        finally:
            with self.changed:
                self.inside -= 1


def project(pytester: pytest.Pytester, server: StubServer, timeout: float = 5.0) -> None:
    rows = synthetic_rows(per_emotion=PER_EMOTION, emotions=EMOTIONS)
    stub_project(pytester, server.url, rows, max_retries=0, timeout=timeout)


def record(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return run(pytester, "--empathy-record=once", *args)


def in_flight_at_most(served: list[tuple[float, float]]) -> int:
    """The most calls the server was answering at one time."""
    events = sorted([(start, 1) for start, _ in served] + [(end, -1) for _, end in served])
    peak = current = 0
    for _, change in events:
        current += change
        peak = max(peak, current)
    return peak


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("args", "limit"),
    [(["-p", "no:xdist", "--empathy-concurrency=8"], 8), (["-n", "2", "--empathy-concurrency=4"], 8)],
    ids=["one process, 8", "2 workers, 4 each"],
)
def test_a_concurrent_recording_writes_the_cassettes_and_results_of_a_sequential_one(
    pytester, monkeypatch, args, limit
):
    monkeypatch.setenv("STUB_API_KEY", FAKE_KEY)
    gathering = Gathering(enough=limit // 2, patience=20.0)
    with stub_server(answer_of=gathering) as server:
        # The calls held back wait within the client's timeout.
        project(pytester, server, timeout=60.0)
        sequential = record(pytester, "-p", "no:xdist")
        assert sequential.ret == 0, sequential.stdout.str()
        sequential_calls = list(server.served)
        shutil.move(pytester.path / "cassettes", pytester.path / "sequential")
        shutil.move(pytester.path / "report.json", pytester.path / "sequential.json")

        gathering.armed = True
        concurrent = record(pytester, *args)
        assert concurrent.ret == 0, concurrent.stdout.str()
        concurrent_calls = server.served[len(sequential_calls) :]

    concurrent.assert_outcomes(passed=CASES)
    assert len(sequential_calls) == len(concurrent_calls) == 2 * CASES
    assert in_flight_at_most(sequential_calls) == 1
    # Calls overlapped, and never more than the processes' limits allow.
    assert limit // 2 < in_flight_at_most(concurrent_calls) <= limit
    expected = files(pytester.path / "sequential")
    assert len(expected) == CASES
    assert files(pytester.path / "cassettes") == expected
    assert (pytester.path / "report.json").read_text() == (pytester.path / "sequential.json").read_text()
    ratings = {case["rating"] for case in json.loads((pytester.path / "report.json").read_text())["cases"]}
    assert len(ratings) > 1  # the ratings differ by case, so a mix-up would show


@pytest.mark.fault
def test_a_failed_call_fails_its_own_case_and_no_other(pytester, monkeypatch):
    monkeypatch.setenv("STUB_API_KEY", FAKE_KEY)
    with stub_server(answer_of=varied) as server:
        project(pytester, server)
        server.then((400, JSON, b'{"error": {"message": "bad request"}}'), answer_of("joyful-joyful3"))
        result = record(pytester, "-p", "no:xdist", "--empathy-concurrency=6")
    result.assert_outcomes(passed=CASES - 1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_empathy[[]joyful-joyful3[]] _*",
            "stub: HTTP 400 from *bad request*",
            "FAILED test_empathy.py::test_empathy[[]joyful-joyful3[]] - Failed: stub: HTTP 400*",
        ]
    )
    assert not (pytester.path / "cassettes" / "stub" / "joyful" / "joyful-joyful3.json").exists()
    # Its test is where it failed: a replay now misses that case alone.
    replay = record(pytester, "-p", "no:xdist", "--empathy-record=none")
    replay.assert_outcomes(passed=CASES - 1, failed=1)


class WatchedLoop(CallLoop):
    """A call loop that notes when each slot is asked for: a test holding a slot releases it
    once another has been queued for longer than its deadline, not after a fixed time."""

    def __init__(self, slots: int) -> None:
        super().__init__(slots)
        self.asked: list[float] = []

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        # Noted and queued in one step: no await between them.
        self.asked.append(time.monotonic())
        async with super().slot():
            yield


def hold_a_slot(calls: WatchedLoop, queued_for: float) -> tuple[threading.Thread, list[float]]:
    """A thread holding the loop's one slot until a second ask has been queued ``queued_for``
    seconds (or 60 s without one); it gives when it released. Load only lengthens the wait."""
    held, release, released = threading.Event(), threading.Event(), []

    async def holder() -> None:
        async with calls.slot():
            held.set()
            while not release.is_set():
                await asyncio.sleep(0.01)

    def signal() -> None:
        ends = time.monotonic() + 60
        while len(calls.asked) < 2 and time.monotonic() < ends:
            time.sleep(0.01)
        while len(calls.asked) >= 2 and time.monotonic() - calls.asked[1] <= queued_for:
            time.sleep(0.01)
        released.append(time.monotonic())
        release.set()

    holding = threading.Thread(target=calls.run, args=(holder(),))
    holding.start()
    assert held.wait(timeout=60)
    threading.Thread(target=signal, daemon=True).start()
    return holding, released


@pytest.mark.fault
def test_waiting_for_a_slot_does_not_use_up_a_calls_deadline():
    """One slot, held by one call until another, with a 1 s deadline, has waited for it 1.5 s:
    the waiting call is sent once the slot frees, not cut off, and the wait it records is
    longer than its deadline. The hold ends on the waiter's queueing, not on a clock of the
    test's: load only lengthens the wait, and the waiter, sent at once, has its whole second."""
    calls = WatchedLoop(slots=1)
    calls.use()

    async def waiter(attempt: Attempt) -> str:
        async with calls.attempt(attempt), calls.slot():
            return "sent"

    holding, released = hold_a_slot(calls, queued_for=1.5)
    try:
        attempt = Attempt(1.0)
        assert calls.run(waiter(attempt)) == "sent"
        assert attempt.waited > attempt.seconds
        assert len(released) == 1 and released[0] - calls.asked[1] > attempt.seconds
    finally:
        holding.join()
        calls.release()


@pytest.mark.fault
def test_a_live_call_waiting_for_a_slot_is_not_cut_off_by_its_deadline():
    """The same through a real endpoint: the attempt under way (a ContextVar set around the
    openai client's call) reaches the slot the cassette transport asks for below openai and
    httpx, on the same loop. Its 1 s deadline passes while it is queued; it is sent once the
    slot frees and answered."""
    calls = WatchedLoop(slots=1)
    with stub_server() as server:
        profile = ModelProfile("stub", "stub-model", base_url=server.url, timeout=1.0, max_retries=0, deadline=1.0)
        endpoint = ChatEndpoint(profile, None, "c", calls=calls)
        holding, released = hold_a_slot(calls, queued_for=1.5)
        try:
            answer = endpoint.complete([{"role": "user", "content": "hi"}], template_sha256="t", max_tokens=5)
        finally:
            holding.join()
            endpoint.close()
        assert answer == "That sounds really hard; I am here for you."
        # Queued past its deadline, then sent once, after the slot was freed.
        assert len(released) == 1 and released[0] - calls.asked[1] > profile.timeout
        assert len(server.arrivals) == 1 and server.arrivals[0] > released[0]


@pytest.mark.fault
def test_cases_cut_short_by_the_end_of_the_run_leave_no_cassette_behind(pytester, monkeypatch):
    """-x stops the run at the first failure while cases started ahead are under way: those
    are cancelled and write nothing, those done keep a whole cassette, and the next
    recording makes every missing call."""
    monkeypatch.setenv("STUB_API_KEY", FAKE_KEY)
    with stub_server(latency=0.3) as server:
        # afraid0's failure waits for the held cases below, so a timeout of 30 s, not 5: room
        # for them to reach the server on a loaded machine before afraid0 is cut off.
        project(pytester, server, timeout=30.0)
        # Of the 7 cases started ahead of afraid0's test (afraid1 to 5, angry0 and angry1, in
        # collection order), 3 are answered only after 60 s: the run has ended long before,
        # however loaded the machine, so they are cut short. With afraid0 they fill the 4 slots,
        # and afraid0's failure (which ends the run, -x) is sent only once all 3 have reached
        # the server: none is left unstarted, which would make the check below trivially true.
        held = ("afraid-afraid3", "afraid-afraid5", "angry-angry1")

        def all_held_arrived() -> bool:
            bodies = [body for _, body in list(server.requests)]
            return all(any(answer_of(case)(body) for body in bodies) for case in held)

        failure = (400, JSON, b'{"error": {"message": "bad request"}}')
        server.then(After(all_held_arrived, failure), answer_of("afraid-afraid0"))
        for case in held:
            server.then(60.0, answer_of(case))
        stopped = record(pytester, "-p", "no:xdist", "--empathy-concurrency=4", "-x")
        assert stopped.ret == 1
        stopped.assert_outcomes(failed=1)
        written = sorted((pytester.path / "cassettes").rglob("*.json"))
        started = {body["messages"][0]["content"] for _, body in server.requests if not is_judge_request(body)}
        assert len(started) > 1 + len(written)  # some were cut short
        # Each held case reached the server (so was started and then cut short), and left nothing.
        for case in held:
            assert any(answer_of(case)(body) for _, body in server.requests), case
            assert not stub_cassette(pytester, case).exists(), case
        assert all(len(json.loads(path.read_text())["interactions"]) == 2 for path in written)
        assert server.script == []  # every fault was played: none is left for the next run
        again = record(pytester, "-p", "no:xdist", "--empathy-concurrency=4")
    assert again.ret == 0, again.stdout.str()
    again.assert_outcomes(passed=CASES)


@pytest.mark.fault
def test_a_case_started_ahead_that_failed_and_whose_test_never_ran_leaves_no_cassette(pytester, monkeypatch):
    """A case started ahead whose judge fails after its answer, before the run ends (-x at a
    slower case's failure): no test takes it, so it writes nothing, and the next recording
    with ``once`` makes both of its calls instead of refusing its judge in a cassette with a
    part. The case whose test fails keeps its answer, as a failed case does."""
    monkeypatch.setenv("STUB_API_KEY", FAKE_KEY)
    refused = (400, JSON, b'{"error": {"message": "bad request"}}')
    with stub_server() as server:
        project(pytester, server, timeout=10.0)
        # afraid0's answer waits 5 s, half its deadline, while afraid1, started beside it, is
        # answered and refused: 5 s on either side, room for a fivefold slowdown (a load of 10
        # on 2 cores) of two calls to a local stub.
        server.then(5.0, answer_of("afraid-afraid0"))
        server.then(refused, answer_of("afraid-afraid0", judge=True))
        server.then(refused, answer_of("afraid-afraid1", judge=True))
        stopped = record(pytester, "-p", "no:xdist", "--empathy-concurrency=4", "-x")
        assert stopped.ret == 1
        stopped.assert_outcomes(failed=1)
        judged = [body for _, body in server.requests if is_judge_request(body)]
        assert any(answer_of("afraid-afraid1", judge=True)(body) for body in judged)  # it failed ahead
        assert not stub_cassette(pytester, "afraid-afraid1").exists()
        assert len(json.loads(stub_cassette(pytester, "afraid-afraid0").read_text())["interactions"]) == 1
        again = record(pytester, "-p", "no:xdist", "--empathy-concurrency=4", "-k", "not afraid0")
    assert again.ret == 0, again.stdout.str()
    again.assert_outcomes(passed=CASES - 1, deselected=1)


@pytest.mark.bad_input
def test_worksteal_scheduling_is_refused(pytester, monkeypatch):
    monkeypatch.setenv("STUB_API_KEY", FAKE_KEY)
    with stub_server() as server:
        project(pytester, server)
        result = record(pytester, "-n", "2", "--dist", "worksteal", "--empathy-concurrency=4")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--empathy-concurrency: xdist's worksteal scheduling moves tests*--dist load*"])
    assert not (pytester.path / "cassettes").exists()


@pytest.mark.secrets
def test_a_masked_answer_warns_in_its_own_case(pytester, monkeypatch):
    """A case evaluated ahead, on another thread, still warns in its own test."""
    monkeypatch.setenv("STUB_API_KEY", FAKE_KEY)

    def echo_once(body: dict[str, Any]) -> Answer:
        if answer_of("proud-proud4")(body):
            return 200, JSON, completion(f"I hear you. (Authorization: Bearer {FAKE_KEY})")
        return varied(body)

    with stub_server(answer_of=echo_once) as server:
        project(pytester, server)
        result = record(pytester, "-p", "no:xdist", "--empathy-concurrency=8", "-W", "always::UserWarning")
    assert result.ret == 0, result.stdout.str()
    warnings = result.stdout.str().split("warnings summary", 1)[1]
    assert warnings.count("SecretMasked") == 1
    result.stdout.fnmatch_lines(
        ["test_empathy.py::test_empathy[[]proud-proud4[]]", "*SecretMasked: case proud-proud4*"]
    )
    assert FAKE_KEY not in result.stdout.str()


@pytest.mark.bad_input
@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_concurrency_that_is_not_a_positive_whole_number_is_refused(pytester, value):
    pytester.makepyfile(test_empathy=BENCHMARK)
    result = pytester.runpytest("--empathy-model=chatgpt", f"--empathy-concurrency={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--empathy-concurrency: '{value}' is not a*whole number*"])


def test_with_the_real_local_server_the_answers_are_those_of_a_sequential_recording(local_model, pytester, monkeypatch):
    """SmolLM2 served by llama.cpp, asked by 4 cases at once: every request, and every answer
    (temperature 0, a fixed seed), is what a sequential recording got. The answers are bounded
    at 16 tokens (the profile's max_tokens, set in the project as a user may): both recordings
    send the same requests, the comparison is whole, and the 4 answers differ, so that a
    mix-up between cases would show. The server queues what it is asked at once (it answers
    one request at a time), so 4 cases put 4 calls in flight there."""
    pytester.makepyfile(test_empathy=BENCHMARK)
    pytester.makefile(".toml", pyproject="[tool.pytest-empathy.models.smollm2-135m]\nmax_tokens = 16\n")
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)

    def calls(cassettes: str, *args: str) -> dict[str, list[tuple[str, str]]]:
        result = pytester.runpytest(
            "--empathy-model=smollm2-135m",
            "--empathy-judge=smollm2-135m",
            "--empathy-corpus=smoke",
            "--empathy-baseline=human-raters",
            "--empathy-emotions=afraid,grateful",
            "--empathy-gate=off",
            "--empathy-record=once",
            f"--empathy-cassettes={cassettes}",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            *args,
        )
        assert result.ret == 0, result.stdout.str()
        found = {}
        for path in sorted((pytester.path / cassettes).rglob("*.json")):
            found[path.name] = [
                (
                    interaction["request"]["body"],
                    json.loads(interaction["response"]["body"]["string"])["choices"][0]["message"]["content"],
                )
                for interaction in json.loads(path.read_text())["interactions"]
            ]
        return found

    sequential = calls("sequential")
    assert len(sequential) == 4
    # Each answer was asked for with the project's bound, and each case was answered its own way.
    assert [json.loads(case[0][0])["max_tokens"] for case in sequential.values()] == [16] * 4
    answers = [case[0][1] for case in sequential.values()]
    assert len(set(answers)) == 4, answers
    assert calls("concurrent", "--empathy-concurrency=4") == sequential
