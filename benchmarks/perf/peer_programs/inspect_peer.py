"""pytest-empathy's work as an inspect_ai task: each case a sample, answered by the model
(``generate``) and rated by a judge model in the scorer, both with inspect_ai's cache. Run by
``benchmarks/perf/peers.py`` in a working folder beside ``corpus.csv`` and ``prompts.json``:

    PEER_BASE_URL=... python inspect_peer.py CALLS_IN_FLIGHT

Exits 1 unless every sample was answered and rated without an error.
"""

import csv
import json
import os
import sys
from pathlib import Path

from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import GenerateConfig, get_model
from inspect_ai.scorer import Score, Target, accuracy, scorer
from inspect_ai.solver import TaskState, generate

from pytest_empathy.models.templates import Template

BASE_URL, IN_FLIGHT = os.environ["PEER_BASE_URL"], int(sys.argv[1])
# pytest-empathy's own templates, filled as it fills them: the same prompts for every tool.
PROMPTS = {
    role: Template(text, "prompts.json")
    for role, text in json.loads(Path("prompts.json").read_text(encoding="utf-8")).items()
}
with open("corpus.csv", newline="", encoding="utf-8") as corpus:
    ROWS = list(csv.DictReader(corpus))


@scorer(metrics=[accuracy()])
def judge():
    model = get_model(
        "openai/stub-judge",
        base_url=BASE_URL,
        api_key="stub",
        config=GenerateConfig(max_connections=IN_FLIGHT),
        responses_api=False,
    )

    async def score(state: TaskState, target: Target) -> Score:
        text = state.metadata
        rated = await model.generate(PROMPTS["judge"].fill(**text, response=state.output.completion), cache=True)
        rating = rated.completion.strip()
        return Score(value=1 if rating == "Good" else 0, answer=rating)

    return score


samples = [
    Sample(
        id=row["id"],
        input=PROMPTS["response"].fill(situation=row["situation"], utterance=row["utterance"]),
        metadata={"situation": row["situation"], "utterance": row["utterance"]},
    )
    for row in ROWS
]
log = eval(
    Task(dataset=samples, solver=generate(cache=True), scorer=judge()),
    model="openai/stub-model",
    model_base_url=BASE_URL,
    # The chat completions API, as the other tools use: inspect_ai prefers the Responses API.
    model_args={"responses_api": False},
    max_connections=IN_FLIGHT,
    max_samples=IN_FLIGHT,
    display="none",
    log_dir="logs",
)[0]
rated = [
    s for s in log.samples or [] if not s.error and s.scores and s.scores["judge"].answer in {"Bad", "Okay", "Good"}
]
print(f"inspect_ai: {log.status}, {len(rated)} of {len(ROWS)} samples answered and rated")
sys.exit(0 if log.status == "success" and len(rated) == len(ROWS) else 1)
