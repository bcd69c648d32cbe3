"""The option table read without pytest: evaluation.options takes its values from any
OptionValues, the plugin's being pytest's config."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_empathy.errors import OptionError
from pytest_empathy.evaluation.options import GROUPS, OPTIONS, read_settings
from pytest_empathy.modes import GateMode, RecordMode
from pytest_empathy.settings import StatisticsSettings


@dataclass(frozen=True)
class Values:
    given: dict[str, object] = field(default_factory=dict)
    ini_file: dict[str, object] = field(default_factory=dict)
    rootpath: Path = Path("/root")
    invocation_dir: Path = Path("/here")
    ini_dir: Path = Path("/ini")

    def command_line(self, name: str) -> object:
        return self.given.get(name)

    def ini(self, name: str) -> object:
        return self.ini_file.get(name)


def test_no_option_gives_the_groups_defaults():
    settings = read_settings(Values())
    assert settings.statistics == StatisticsSettings()
    assert settings.selection.model is None and settings.selection.corpus == "welivita-pu-2024"
    assert settings.recording.record is RecordMode.NONE
    assert settings.recording.cassettes == Path("/root/cassettes")
    assert settings.storage.reports == {} and not settings.keeps_responses
    assert settings.document_settings() == {
        "emotions": None,
        "sample": None,
        "seed": 0,
        **StatisticsSettings().to_json(),
    }


def test_the_command_line_wins_over_the_ini_file_and_paths_resolve_where_they_were_given():
    values = Values(
        given={"empathy_model": "chatgpt", "empathy_template": "t.txt"},
        ini_file={"empathy_model": "human", "empathy_judge_template": "j.txt", "empathy_gate": "off"},
    )
    settings = read_settings(values)
    assert settings.selection.model == "chatgpt" and settings.selection.on_command_line
    assert settings.models.template == Path("/here/t.txt")
    assert settings.models.judge_template == Path("/ini/j.txt")
    assert settings.statistics.gate is GateMode.OFF


def test_a_bad_value_is_an_option_error_naming_where_it_came_from():
    with pytest.raises(OptionError, match=r"^empathy_alpha \(ini\): '0.7' is not below 0.5") as raised:
        read_settings(Values(ini_file={"empathy_alpha": "0.7"}))
    assert raised.value.source == "empathy_alpha (ini)"


def test_every_option_is_in_one_help_section_and_fills_a_setting():
    assert [o for group in GROUPS for o in group.options] == list(OPTIONS)
    assert len({o.flag for o in OPTIONS}) == len(OPTIONS)
    assert all(
        o.to.split(".")[0] in {"selection", "models", "statistics", "recording", "storage", "calibration", "crowd"}
        for o in OPTIONS
    )
