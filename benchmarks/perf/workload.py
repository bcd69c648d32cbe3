"""The work every performance figure is measured on: a corpus of synthetic cases, the stub
server's answers to them, and bare pytest with as many trivial tests."""

from __future__ import annotations

import csv
import hashlib
import random
from pathlib import Path
from typing import Any

from pytest_empathy.emotions import EMOTIONS
from tests.stub_server import JSON, Answer, completion, is_judge_request

CASES = 2000
LATENCY = 0.2
BENCHMARK = (Path(__file__).parents[1] / "test_empathy.py").read_text()

# Synthetic text, written for this benchmark.
PEOPLE = (
    "my sister",
    "an old friend",
    "my neighbour",
    "a colleague",
    "my father",
    "our coach",
    "my landlord",
    "a stranger on the bus",
)
EVENTS = (
    "called out of the blue",
    "forgot my birthday",
    "offered to help with the move",
    "told me some news",
    "left without a word",
    "asked to meet tomorrow",
    "sent a long letter",
    "finally answered my message",
)
AFTER = (
    "and I cannot stop thinking about it",
    "and I am not sure what to do next",
    "and it has been on my mind all week",
    "and I wanted to tell someone",
)
REPLIES = (
    "That sounds like a lot to hold; how are you doing with it?",
    "I can hear how much this matters to you.",
    "It makes sense to feel that way after something like this.",
    "Thank you for telling me; what would help right now?",
)


def write_corpus(path: Path, cases: int = CASES, distinct: int | None = None) -> None:
    """Cases in the generic schema, each with a crowd rating of a human response. Every row's
    text is its own (the day number), so that a tool caching by prompt, as the peers do,
    serves nothing from its cache on a first run; or, with ``distinct`` (a multiple of the
    32 emotions), row i has the text and emotion of row i % distinct, so that a large corpus
    can be replayed from the cassettes of its first ``distinct`` cases."""
    draw = random.Random(2406)
    texts = [
        (
            f"On day {i + 1} of my diary, {draw.choice(PEOPLE)} {draw.choice(EVENTS)}, and I felt {emotion}.",
            f"It happened again today, {draw.choice(AFTER)}.",
        )
        for i, emotion in ((i, EMOTIONS[i % len(EMOTIONS)]) for i in range(distinct or cases))
    ]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["id", "emotion", "situation", "utterance", "rating_human"])
        for i in range(cases):
            situation, utterance = texts[i % len(texts)]
            rating = draw.choices((1, 2, 3), weights=(20, 35, 45))[0]
            writer.writerow([case_id(i), EMOTIONS[i % len(EMOTIONS)], situation, utterance, rating])


def case_id(row: int) -> str:
    return f"c{row:06d}"


def stub_answer(body: dict[str, Any]) -> Answer:
    """A reply, or a rating drawn from the request's hash: mostly Good, rarely Bad, so that
    some emotions' tables have expected counts below 5 and take the exact test."""
    text = body["messages"][0]["content"]
    return 200, JSON, completion(rating_of(text) if is_judge_request(body) else reply_of(text))


def rating_of(text: str) -> str:
    draw = _digest(text) % 100
    return "Bad" if draw < 4 else "Okay" if draw < 30 else "Good"


def reply_of(text: str) -> str:
    return REPLIES[_digest(text) % len(REPLIES)]


def _digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def bare_module(tests: int) -> str:
    return f"import pytest\n\n\n@pytest.mark.parametrize('i', range({tests}))\ndef test_bare(i):\n    assert i >= 0\n"


def write_profile(work: Path, url: str) -> None:
    (work / "pyproject.toml").write_text(
        f'[tool.pytest.ini_options]\n\n[tool.pytest-empathy.models.stub]\nmodel = "stub-model"\nbase_url = "{url}"\n'
    )


def benchmark_args(*extra: str) -> list[str]:
    # The corpus has no human responses: the crowd's counts are the baseline, as before the
    # judge baseline became the default, so that figures stay comparable across versions.
    return [
        "--empathy-model=stub",
        "--empathy-judge=stub",
        "--empathy-corpus=corpus.csv",
        "--empathy-baseline=human-raters",
        *extra,
    ]
