"""The verdict written once: ``verdict`` without pytest decides as a pytest run does, and
plugins' gates and JSON fields join a run's finish and a merge of its shards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_empathy.analysis.gates import Completeness, GateResult
from pytest_empathy.analysis.versus_baseline import Summary
from pytest_empathy.evaluation.finish import verdict
from pytest_empathy.evaluation.merge import merge
from pytest_empathy.ratings import Rating
from pytest_empathy.results.case import CaseResult
from pytest_empathy.results.document import case_from_json
from pytest_empathy.settings import StatisticsSettings

from .conftest import paired_cases, read_report

# What a run decides, as against what it was of.
DECIDED = ("complete", "partial", "passed", "methods", "overall", "polarity", "emotions", "gates", "warnings")


def test_verdict_decides_the_release_as_the_plugin_does(run_benchmark, pytester):
    # Five emotions of the release, chosen with -k, which leaves the settings as verdict() has them:
    # the claim is that both decide alike, whatever the cases.
    selected = ("-k", "afraid or apprehensive or caring or joyful or sad")
    assert run_benchmark("--empathy-model=chatgpt-empathy", *selected, "-p", "no:xdist").ret == 0
    report = read_report(pytester)
    cases = [case_from_json(case) for case in report["cases"]]
    document = verdict(cases, model="chatgpt-empathy")
    assert {key: document[key] for key in DECIDED} == {key: report[key] for key in DECIDED}
    assert document["settings"] == report["settings"]


def test_verdict_takes_the_statistics_settings():
    cases = paired_cases("sad", [3] * 30 + [1] * 10, [2] * 30 + [1] * 10)
    strict = verdict(cases, model="m", statistics=StatisticsSettings(alpha=0.001, require_power=True))
    assert strict["settings"]["alpha"] == 0.001 and strict["settings"]["require_power"] is True
    assert [g["name"] for g in strict["gates"]][:2] == ["complete", "better"]


class Plugin:
    """A hand-written Extensions: one gate, one JSON field."""

    def __init__(self, name: str = "share-good", fields: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.fields = {"cases": None} if fields is None else dict(fields)
        self.seen: list[StatisticsSettings] = []

    def gates(
        self,
        cases: Sequence[CaseResult],
        summary: Summary | None,
        completeness: Completeness,
        statistics: StatisticsSettings,
    ) -> list[GateResult]:
        self.seen.append(statistics)
        good = sum(case.rating is Rating.GOOD for case in cases)
        return [GateResult(self.name, good * 2 > len(cases), f"{good} of {len(cases)} Good")]

    def json_fields(self, document: Mapping[str, Any]) -> dict[str, Any]:
        return {key: len(document["cases"]) if value is None else value for key, value in self.fields.items()}


def test_a_plugins_gate_follows_the_built_in_ones_and_its_fields_go_under_extra():
    cases = paired_cases("sad", [3] * 30 + [1] * 10, [2] * 30 + [1] * 10)
    plain = verdict(cases, model="m")
    plugin = Plugin()
    extended = verdict(cases, model="m", extensions=plugin)
    assert "extra" not in plain
    assert extended["extra"] == {"cases": 40}
    assert extended["gates"][:-1] == plain["gates"]
    assert extended["gates"][-1] == {"name": "share-good", "passed": True, "detail": "30 of 40 Good"}
    assert plugin.seen == [StatisticsSettings()]


def test_a_plugins_gate_may_not_take_a_built_in_name():
    cases = paired_cases("sad", [3] * 10, [2] * 10)
    plain = verdict(cases, model="m")
    taken = verdict(cases, model="m", extensions=Plugin("no-more-bad"))
    assert taken["gates"][:-1] == plain["gates"]
    assert taken["gates"][-1] == {
        "name": "plugin-no-more-bad",
        "passed": False,
        "detail": "a plugin's gate is named 'no-more-bad', the name of a built-in gate; rename it",
    }
    assert not taken["passed"]


def test_a_merge_keeps_the_plugins_fields_the_shards_agree_on():
    first = verdict(paired_cases("sad", [3] * 20, [2] * 20), model="m", extensions=Plugin(fields={"tag": "a"}))
    second = verdict(paired_cases("joyful", [3] * 20, [2] * 20), model="m", extensions=Plugin(fields={"tag": "a"}))
    other = verdict(paired_cases("joyful", [3] * 20, [2] * 20), model="m", extensions=Plugin(fields={"tag": "b"}))
    for shard in (first, second, other):
        shard["corpus"]["selected"] = 40
    assert merge([first, second], ["1.json", "2.json"])["extra"] == {"tag": "a"}
    assert "extra" not in merge([first, other], ["1.json", "2.json"])
    merged = merge([first, other], ["1.json", "2.json"], extensions=Plugin(fields={"count": None}))
    assert merged["extra"] == {"count": 40}
