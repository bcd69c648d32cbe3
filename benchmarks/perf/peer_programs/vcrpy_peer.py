"""pytest-empathy's work in plain pytest-recording, vcrpy and the openai client: each case a
test with its own cassette, asking for an answer and then for the judge's rating. Copied into
a working folder as a test module by ``benchmarks/perf/peers.py``, beside ``corpus.csv`` and
``prompts.json``; recorded with ``--record-mode=once``, replayed with ``--record-mode=none``."""

import csv
import json
import os
from pathlib import Path

import openai
import pytest

from pytest_empathy.models.templates import Template

# pytest-empathy's own templates, filled as it fills them: the same prompts for every tool.
PROMPTS = {
    role: Template(text, "prompts.json")
    for role, text in json.loads(Path("prompts.json").read_text(encoding="utf-8")).items()
}
with open("corpus.csv", newline="", encoding="utf-8") as corpus:
    ROWS = list(csv.DictReader(corpus))
CLIENT = openai.OpenAI(base_url=os.environ["PEER_BASE_URL"], api_key="stub", max_retries=0)


def ask(model: str, prompt: str) -> str:
    completion = CLIENT.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}])
    return completion.choices[0].message.content or ""


@pytest.mark.vcr
@pytest.mark.parametrize("row", ROWS, ids=[row["id"] for row in ROWS])
def test_case(row: dict[str, str]) -> None:
    text = {"situation": row["situation"], "utterance": row["utterance"]}
    answer = ask("stub-model", PROMPTS["response"].fill(**text))
    rating = ask("stub-judge", PROMPTS["judge"].fill(**text, response=answer))
    assert rating in {"Bad", "Okay", "Good"}
