"""The settings groups' JSON forms: every field written, and read back to the same settings."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import pytest

from pytest_empathy.modes import BaselineKind, GateMode, GateTest, RecordMode
from pytest_empathy.settings import (
    CalibrationSettings,
    CrowdSettings,
    ModelSettings,
    RecordingSettings,
    ReportOutput,
    SelectionSettings,
    Settings,
    StatisticsSettings,
    StorageSettings,
)

DEFAULTS = Settings(
    SelectionSettings("welivita-pu-2024"),
    ModelSettings(),
    StatisticsSettings(),
    RecordingSettings(Path("/root/cassettes")),
    StorageSettings(Path("/root"), Path("/root/benchmarks/saved-runs"), {}),
)
# A value other than the default in every field of every group.
GIVEN = Settings(
    SelectionSettings(
        Path("/data/corpus.csv"),
        model="chatgpt",
        corpus_text=Path("/data/text.csv"),
        emotions=("afraid", "sad"),
        sample=3,
        seed=7,
        shard=True,
        on_command_line=True,
    ),
    ModelSettings(
        judge="smollm2-135m",
        baseline=BaselineKind.JUDGE,
        template=Path("/t/answer.txt"),
        judge_template=Path("/t/rate.txt"),
        base_url="http://127.0.0.1:8080/v1",
        judge_base_url="http://127.0.0.1:8081/v1",
    ),
    StatisticsSettings(
        alpha=0.01,
        gate=GateMode.NOT_WORSE,
        test=GateTest.ORDINAL,
        min_good_gain=0.1,
        margin=4.0,
        bad_margin=3.0,
        require_power=True,
        allow_partial=True,
        judge_min_agreement=0.6,
        judge_correction=True,
        compare_detect=(8.0, 25.0),
    ),
    RecordingSettings(Path("/c"), RecordMode.NEW_EPISODES, prune_cassettes=True, concurrency=4, circuit_breaker=0),
    StorageSettings(
        Path("/r"),
        Path("/r/saved"),
        {"json": Path("/r/out.json"), "html": Path("/r/out.html")},
        reports_show_responses=True,
        outputs=(ReportOutput("verdict", Path("/r/verdict.txt"), "verdict=verdict.txt", "--empathy-output"),),
        save="main",
        save_force=True,
        compare="latest",
        compare_fail="decline,bad-rise",
    ),
    CalibrationSettings(calibrate=True, file=Path("/r/calibration.json")),
    CrowdSettings(Path("/r/crowd.csv")),
)


@pytest.mark.parametrize("settings", [DEFAULTS, GIVEN], ids=["defaults", "every-field-given"])
def test_settings_read_back_from_their_json_are_the_same(settings):
    entry = json.loads(json.dumps(settings.to_json()))
    assert Settings.from_json(entry) == settings


def test_every_field_of_every_group_is_in_its_json():
    entry = GIVEN.to_json()
    for group in fields(Settings):
        written = set(entry[group.name])
        assert {field.name for field in fields(getattr(GIVEN, group.name))} <= written, group.name


def test_a_named_corpus_and_a_corpus_file_stay_apart():
    named = SelectionSettings("smoke").to_json()
    file = SelectionSettings(Path("smoke")).to_json()
    assert (named["corpus"], named["corpus_file"]) == ("smoke", None)
    assert (file["corpus"], file["corpus_file"]) == (None, "smoke")
    assert SelectionSettings.from_json(file).corpus == Path("smoke")
    assert SelectionSettings.from_json(named).corpus == "smoke"


def test_the_statistics_keep_whether_the_drops_were_given():
    # The result's entry writes the drops the checks use; the settings' JSON what was given.
    assert StatisticsSettings().to_json()["compare_detect"] == [10.0, 30.0]
    assert DEFAULTS.to_json()["statistics"]["compare_detect"] is None
    assert GIVEN.to_json()["statistics"]["compare_detect"] == [8.0, 25.0]


def test_a_value_of_the_wrong_kind_is_refused():
    entry = json.loads(json.dumps(GIVEN.to_json()))
    entry["recording"]["concurrency"] = "4"
    with pytest.raises(TypeError, match="not a whole number: '4'"):
        Settings.from_json(entry)
