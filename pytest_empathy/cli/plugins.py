"""The plugins the ``pytest-empathy`` command runs with: those installed under the entry-point
group ``pytest_empathy``, their ``pytest_empathy_*`` hooks taken as pytest takes a plugin's,
with or without a marker."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING

import pluggy

from pytest_empathy import hookspec
from pytest_empathy.evaluation.extensions import PluginExtensions

if TYPE_CHECKING:
    from pytest_empathy.evaluation.extensions import Extensions

ENTRY_POINTS = "pytest_empathy"


class EmpathyPlugins(pluggy.PluginManager):
    def __init__(self) -> None:
        super().__init__("pytest")
        self.add_hookspecs(hookspec)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> pluggy.HookimplOpts | None:
        marked = super().parse_hookimpl_opts(plugin, name)
        if marked is not None or not name.startswith("pytest_empathy_"):
            return marked
        if not inspect.isroutine(inspect.getattr_static(plugin, name, None)):
            return None
        return pluggy.HookimplOpts(
            wrapper=False, hookwrapper=False, optionalhook=False, tryfirst=False, trylast=False, specname=None
        )


def installed_extensions() -> Extensions:
    plugins = EmpathyPlugins()
    plugins.load_setuptools_entrypoints(ENTRY_POINTS)
    return PluginExtensions(plugins.hook)
