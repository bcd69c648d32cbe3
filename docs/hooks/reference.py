"""An MkDocs hook: the reference pages' generated parts, made from the code at build time.

A page holds its prose and a marker (``<!-- generated: options -->``); the site shows the
marker replaced by what the option table or the command's parser holds, so the reference
cannot drift from the code.
"""

from __future__ import annotations

import argparse
import enum
import functools
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from pytest_empathy.cli import parser
from pytest_empathy.evaluation.options import GROUPS, Kind, Option, default

USAGE_WIDTH = 88
MARKER = re.compile(r"<!-- generated: (?P<name>[a-z-]+) -->")
# A fenced code block's opening line: three or more ` or ~, indented as a list item's may be.
FENCE = re.compile(r"[ \t]*(?P<fence>`{3,}|~{3,})")
RELATIVE = "relative to where it is given"
_KINDS = {
    Kind.VALUE: "value",
    Kind.SWITCH: "switch (ini: true or false)",
    Kind.PATH: f"path, {RELATIVE}",
    Kind.OPTIONAL: "value, optional",
    Kind.REPEATABLE: "repeatable (ini: one a line)",
}


def on_page_markdown(markdown: str, **_: object) -> str:
    """MkDocs' event: each marker outside a fenced code block replaced by its generated
    Markdown (a page may show a marker in a code block, as the contributors' docs do)."""
    lines = []
    fence: str | None = None
    for line in markdown.splitlines(keepends=True):
        if fence is None:
            opening = FENCE.match(line)
            if opening:
                fence = opening["fence"]
            else:
                line = MARKER.sub(lambda found: generated(found["name"]), line)
        elif re.fullmatch(rf"[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*\n?", line):
            fence = None
        lines.append(line)
    return "".join(lines)


def generated(name: str) -> str:
    try:
        make = GENERATED[name]
    except KeyError:
        raise ValueError(f"no generated part named {name!r} (known: {', '.join(GENERATED)})") from None
    return make()


def options() -> str:
    """Every option of the table, in the groups of ``pytest --help``."""
    lines = []
    for group in GROUPS:
        lines += [f"## {_cell(_heading(group.title))}", ""]
        lines += ["| option | ini key | kind | default | meaning |", "| --- | --- | --- | --- | --- |"]
        lines += [_option_row(option) for option in group.options]
        lines.append("")
    return "\n".join(lines)


def _heading(title: str) -> str:
    """A group's title of ``pytest --help`` as a heading: its first letter upper case, the
    rest as written (an acronym stays one)."""
    title = title.removeprefix("pytest-empathy: ").split(" (")[0]
    return title[:1].upper() + title[1:]


def _option_row(option: Option) -> str:
    flag = f"`{option.flag} {option.metavar}`" if option.metavar else f"`{option.flag}`"
    ini = f"`{option.ini}`" + (f"<br>environment: `${option.env}`" if option.env else "")
    return _row(flag, ini, _kind(option), _default(default(option)), _cell(_help(option.help)))


def _kind(option: Option) -> str:
    """What the option takes; where its reader resolves a path in it, that the path is
    relative to where it is given (Option.relative), whatever its kind."""
    kind = _KINDS[option.kind]
    if option.relative and option.kind is Kind.VALUE and option.metavar == "PATH":
        kind = _KINDS[Kind.PATH]
    elif option.relative and RELATIVE not in kind:
        kind += f"; a path in it {RELATIVE}"
    return kind + (f"; alone: `{option.bare_value}`" if option.bare_value else "")


def _default(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Path):
        return f"`{value}/` at the rootdir"
    if isinstance(value, enum.Enum):
        return f"`{value.value}`"
    if isinstance(value, float):
        return f"`{value:g}`"
    if isinstance(value, tuple):
        return ", ".join(_default(item) for item in value) or "none"
    return f"`{value}`"


def cli() -> str:
    """The ``pytest-empathy`` command and each of its subcommands: usage, arguments, help."""
    return "\n".join(_command_section(name, command) for name, command in commands())


def commands() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The command and every subcommand, depth first, each with its full name."""

    def walk(name: str, command: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        yield name, command
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from walk(f"{name} {sub_name}", sub)

    return walk("pytest-empathy", parser())


def _command_section(name: str, command: argparse.ArgumentParser) -> str:
    # As wide as the page's code block, whatever the terminal that builds the site.
    command.formatter_class = functools.partial(argparse.HelpFormatter, width=USAGE_WIDTH)
    lines = [f"## `{name}`", "", _cell(_help(command.description or "")), "", "```text", command.format_usage().strip()]
    lines += ["```", "", "| argument | meaning |", "| --- | --- |"]
    # An argument of a required group of alternatives: the others it is one of.
    alternatives = {
        action: group._group_actions
        for group in command._mutually_exclusive_groups
        if group.required
        for action in group._group_actions
    }
    for action in command._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        meaning = _help(action.help or "")
        if isinstance(action, argparse._SubParsersAction):
            meaning = "one of the subcommands below: " + ", ".join(f"`{sub}`" for sub in action.choices)
        elif action.required and action.option_strings:
            meaning += " (required)"
        elif action in alternatives:
            meaning += f" (required: one of {', '.join(alt.option_strings[0] for alt in alternatives[action])})"
        lines.append(_row(_argument(action), _cell(meaning)))
    return "\n".join([*lines, ""])


def _argument(action: argparse.Action) -> str:
    if isinstance(action, argparse._SubParsersAction):
        return "`COMMAND`"
    if not action.option_strings:
        shown = action.metavar if isinstance(action.metavar, str) else action.dest
        return f"`{shown} ...`" if action.nargs in ("+", "*") else f"`{shown}`"
    metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
    value = "" if action.nargs == 0 else f" {metavar}"
    return ", ".join(f"`{flag}{value}`" for flag in action.option_strings)


def _help(text: str) -> str:
    """argparse's help text as it prints it (``%%`` is its escape of ``%``)."""
    return text.replace("%%", "%")


def _cell(text: str) -> str:
    """Plain text kept as text in a Markdown table cell: a ``|`` is no column's end, a
    ``<judge>`` no HTML tag. (In a code span both are text already.)"""
    return text.replace("|", "\\|").replace("<", "&lt;")


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


GENERATED: dict[str, Callable[[], str]] = {"options": options, "cli": cli}
