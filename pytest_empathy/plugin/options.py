"""The options on pytest's side: each option of ``evaluation.options`` added to ``pytest
--help`` with its ini twin (``--empathy-alpha`` and ``empathy_alpha``; the command line wins),
and pytest's config read as the options' values."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Literal

import pytest

from pytest_empathy.evaluation.options import GROUPS, OPTIONS, RENAMED, Kind, ini_name, read_settings
from pytest_empathy.settings import Settings

__all__ = ["GROUPS", "OPTIONS", "add_options", "settings_of"]


def add_options(parser: pytest.Parser) -> None:
    for section in GROUPS:
        group = parser.getgroup(section.name, section.title)
        for option in section.options:
            if option.kind is Kind.SWITCH:
                group.addoption(option.flag, action="store_true", default=None, help=option.help)
            elif option.kind is Kind.REPEATABLE:
                group.addoption(option.flag, metavar=option.metavar, action="append", default=None, help=option.help)
            elif option.kind is Kind.OPTIONAL:
                group.addoption(
                    option.flag,
                    metavar=option.metavar,
                    nargs="?",
                    const=option.bare_value,
                    default=None,
                    help=option.help,
                )
            else:
                group.addoption(option.flag, metavar=option.metavar, default=None, help=option.help)
            # The ini twin points to its option, whose help --help shows once, in its group.
            kind: Literal["bool", "string", "linelist"] = (
                "bool" if option.kind is Kind.SWITCH else "linelist" if option.kind is Kind.REPEATABLE else "string"
            )
            parser.addini(option.ini, f"as {option.flag}", type=kind, default=None)
    for old in RENAMED:
        parser.getgroup(GROUPS[0].name).addoption(old, default=None, help=argparse.SUPPRESS)
        parser.addini(ini_name(old), "renamed", default=None)


class ConfigValues:
    """pytest's config as the options' values (``evaluation.options.OptionValues``)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @property
    def rootpath(self) -> Path:
        return self.config.rootpath

    @property
    def invocation_dir(self) -> Path:
        return self.config.invocation_params.dir

    @property
    def ini_dir(self) -> Path:
        inifile = self.config.inipath
        return inifile.parent if inifile else self.config.rootpath

    def command_line(self, name: str) -> object:
        return self.config.getoption(name)

    def ini(self, name: str) -> object:
        return self.config.getini(name)


def settings_of(config: pytest.Config) -> Settings:
    """The run's settings; raises OptionError (the plugin's ``pytest_configure`` shows it as a
    usage error)."""
    return read_settings(ConfigValues(config))
