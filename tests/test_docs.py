"""The documentation site: its generated reference lists what the code has, its exit-code tables
hold, and it builds strict, which fails on a broken link, a missing anchor or an orphan page."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from pytest_empathy.cli import main
from pytest_empathy.corpus.names import RELEASE_TEXT_ENV
from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.errors import OptionError
from pytest_empathy.evaluation import options as options_module
from pytest_empathy.evaluation.options import OPTIONS, RENAMED, Kind, Option, default, read_settings
from pytest_empathy.settings import DROPS

from .conftest import BENCHMARK, FAKE_KEY, ROOT, page, require, synthetic_rows, write_corpus


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference_hook", ROOT / "docs" / "hooks" / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = load_hook()


def sections(markdown: str) -> dict[str, str]:
    """A page's level-2 sections by heading."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def table(text: str) -> list[list[str]]:
    """The rows of the first Markdown table in ``text``, header and rule left out."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    # A cell ends at a | that is not escaped and not in a code span (an even number of ` follow).
    end = r"(?<!\\)\|(?=(?:[^`]*`[^`]*`)*[^`]*$)"
    return [[cell.strip() for cell in re.split(end, row)[1:-1]] for row in rows[2:]]


# The options page


def help_sections(pytester: pytest.Pytester) -> tuple[list[list[str]], dict[str, str]]:
    """What ``pytest --help`` shows: the plugin's option groups, each's flags in order, and
    each ini key's line."""
    out = pytester.runpytest_inprocess("--help").stdout.lines
    groups: list[list[str]] = []
    for line in out:
        if line.startswith("pytest-empathy: "):
            groups.append([])
        elif groups and re.match(r"  --empathy-", line):
            groups[-1].append(line.split()[0].split("=")[0])
        elif groups and line and not line.startswith(" "):
            break
    ini = dict(re.findall(r"^  (empathy_\w+) \(\w+\):\s+as (\S+)", "\n".join(out), flags=re.MULTILINE))
    return groups, ini


def test_the_options_page_lists_every_option_of_pytest_help_in_its_group_with_its_ini_key(pytester):
    groups, ini = help_sections(pytester)
    page_groups = [table(text) for text in sections(hook.options()).values()]
    assert [[row[0].strip("`").split()[0] for row in rows] for rows in page_groups] == groups
    rows = [row for rows in page_groups for row in rows]
    assert len(rows) == len(OPTIONS)
    assert {row[1].split("<br>")[0].strip("`"): row[0].strip("`").split()[0] for row in rows} == ini
    for row, option in zip(rows, OPTIONS, strict=True):
        assert hook._help(option.help) in row[4].replace("&lt;", "<").replace("\\|", "|")


class Nothing:
    """Option values of a run given no option at all."""

    rootpath = invocation_dir = ini_dir = Path("/project")

    def command_line(self, name: str) -> object:
        return None

    def ini(self, name: str) -> object:
        return None


def setting(settings: object, to: str) -> object:
    """The setting at ``to``, "group.field" or "group.field.key" (a key of a mapping, absent
    when not given)."""
    for name in to.split("."):
        settings = settings.get(name) if isinstance(settings, dict) else getattr(settings, name)
    return settings


def option_rows() -> dict[str, list[str]]:
    return {row[0].strip("`").split()[0]: row for rows in map(table, sections(hook.options()).values()) for row in rows}


def test_each_default_on_the_options_page_is_what_a_run_given_nothing_takes(monkeypatch):
    monkeypatch.delenv(RELEASE_TEXT_ENV, raising=False)
    settings = read_settings(Nothing())
    rows = option_rows()
    shown = 0
    for option in OPTIONS:
        value = default(option)
        # What the run takes: the effective setting, where the field is only what was given.
        taken = setting(settings, option.effective or option.to)
        if value is None:
            # "-": unset, or other options decide it; never a value the run takes regardless.
            assert rows[option.flag][3] == "-"
            assert taken is None, option.flag
            continue
        shown += 1
        assert taken == (Nothing.rootpath / value if isinstance(value, Path) else value), option.flag
        assert rows[option.flag][3] == hook._default(value)
    # Not a vacuous check: a third of the options have a default of their own.
    assert shown >= len(OPTIONS) // 3


def test_the_compare_detect_default_on_the_page_is_the_drops_a_run_takes():
    (option,) = [option for option in OPTIONS if option.flag == "--empathy-compare-detect"]
    assert read_settings(Nothing()).statistics.drops == DROPS
    assert option_rows()[option.flag][3] == ", ".join(f"`{drop:g}`" for drop in DROPS)


def test_an_option_read_from_the_environment_says_so_on_the_page(monkeypatch, tmp_path):
    monkeypatch.setenv(RELEASE_TEXT_ENV, str(tmp_path / "text.csv"))
    assert read_settings(Nothing()).selection.corpus_text == tmp_path / "text.csv"
    (row,) = [row for row in table(sections(hook.options())["What to run"]) if "--empathy-corpus-text" in row[0]]
    assert f"environment: `${RELEASE_TEXT_ENV}`" in row[1]


def test_the_options_page_shows_no_value_of_the_environment_that_builds_it(monkeypatch, tmp_path):
    monkeypatch.delenv(RELEASE_TEXT_ENV, raising=False)
    unset = hook.options()
    monkeypatch.setenv(RELEASE_TEXT_ENV, str(tmp_path / "text.csv"))
    assert hook.options() == unset
    assert str(tmp_path) not in unset
    (option,) = [option for option in OPTIONS if option.env]
    assert default(option) is None
    # A reader reads only the variable its option declares: an option with the same reader
    # and no env= neither shows nor takes the variable's value.
    undeclared = dataclasses.replace(option, env=None)
    assert default(undeclared) is None
    assert read_settings(Nothing()).selection.corpus_text == tmp_path / "text.csv"
    assert options_module._read(undeclared, Nothing()) is None


# A value of each shape an option takes with a relative path in it.
RELATIVE_VALUES = ("x.csv", "crowd:x.csv", "fmt=x.csv")


class OneGiven(Nothing):
    """Option values of a run given one option, on the command line in /invoked."""

    invocation_dir = Path("/invoked")

    def __init__(self, option: Option, value: str) -> None:
        self.option, self.value = option, value

    def command_line(self, name: str) -> object:
        if name != self.option.ini:
            return None
        return [self.value] if self.option.kind is Kind.REPEATABLE else self.value


def resolved_against_where_given(option: Option) -> bool:
    """Whether a relative path in the option's value is read against where it was given."""
    for value in RELATIVE_VALUES:
        try:
            read = options_module._read(option, OneGiven(option, value))
        except OptionError:
            continue
        if "/invoked/" in repr(read):
            return True
    return False


def test_the_kind_column_says_relative_for_exactly_the_options_read_relative_to_where_given():
    rows = option_rows()
    relative = {option.flag for option in OPTIONS if resolved_against_where_given(option)}
    assert {flag for flag, row in rows.items() if "relative to where it is given" in row[2]} == relative
    # The report files, the corpus and the release text are among them, not only the PATH kind's.
    named = {"--empathy-report", "--empathy-html", "--empathy-corpus", "--empathy-corpus-text", "--empathy-output"}
    assert named < relative


def test_the_docs_name_no_option_the_table_does_not_have():
    known = {option.flag for option in OPTIONS} | set(RENAMED)
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "docs").rglob("*.yml"))]
    named = {(path.name, flag) for path in pages for flag in re.findall(r"--empathy-[a-z-]*[a-z]", path.read_text())}
    assert {(name, flag) for name, flag in named if flag not in known} == set()
    assert len(named) > len(OPTIONS)


def test_a_code_block_inside_a_list_item_is_indented_four_spaces():
    """Python-Markdown continues a list item at four spaces: a fence at one to three ends the
    list there, shows the block outside it and numbers every later step 1."""
    pages = sorted((ROOT / "docs").rglob("*.md"))
    short = [
        f"{path.name}:{n}"
        for path in pages
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.match(r" {1,3}```", line)
    ]
    assert short == []


# The command-line page


def command_help(capsys: pytest.CaptureFixture[str], *command: str) -> str:
    with pytest.raises(SystemExit) as exit:
        main([*command, "--help"])
    assert exit.value.code == 0
    return capsys.readouterr().out


def test_the_command_line_page_has_every_subcommand_and_each_of_its_flags(capsys):
    pages = sections(hook.cli())
    found = []
    pending: list[tuple[str, ...]] = [()]
    while pending:
        command = pending.pop(0)
        text = command_help(capsys, *command)
        found.append(command)
        usage = text.split("\n\n")[0]
        if (choices := re.search(r"\{([a-z,-]+)\}", usage)) is not None:
            pending += [(*command, name) for name in choices[1].split(",")]
        section = pages[f"`{' '.join(('pytest-empathy', *command))}`"]
        # The flags --help lists, each at the start of its line or after another's.
        listed = [line.strip() for line in text.splitlines() if line.startswith("  -")]
        flags = {flag for line in listed for flag in re.findall(r"(?:^|, )(--?[a-z][a-z-]*)", line)} - {"-h", "--help"}
        assert {flag for flag in flags if f"`{flag}" not in section} == set(), command
    assert sorted(f"`{' '.join(('pytest-empathy', *command))}`" for command in found) == sorted(pages)
    assert len(found) == 7


def test_an_unknown_marker_fails_the_build_instead_of_showing():
    with pytest.raises(ValueError, match="no generated part named 'option'"):
        hook.on_page_markdown("<!-- generated: option -->")


def test_each_argument_of_a_required_choice_says_so_on_the_command_line_page():
    pages = sections(hook.cli())
    marked = 0
    for name, command in hook.commands():
        rows = {row[0]: row[1] for row in table(pages[f"`{name}`"])}
        for group in command._mutually_exclusive_groups:
            flags = [action.option_strings[0] for action in group._group_actions]
            for action in group._group_actions:
                (meaning,) = [meaning for row, meaning in rows.items() if f"`{action.option_strings[0]} " in row]
                assert (f"(required: one of {', '.join(flags)})" in meaning) == group.required, (name, flags)
                marked += group.required
    # crowd export's --responder | --result, at least.
    assert marked >= 2


def test_a_group_heading_keeps_the_case_of_its_title_but_its_first_letter():
    assert hook._heading("pytest-empathy: the HTML and CSV reports (more)") == "The HTML and CSV reports"
    headings = list(sections(hook.options()))
    assert headings[-1] == "The judge's calibration and a crowd's ratings"
    assert all(heading[0].isupper() for heading in headings)


def test_a_marker_in_a_code_block_is_shown_as_written_and_one_outside_replaced():
    marker = "<!-- generated: cli -->"
    fenced = [
        f"```markdown\n{marker}\n```\n",
        f"~~~\n{marker}\n~~~\n",
        # A longer fence holds a shorter one: the marker after ``` is still inside.
        f"````text\n```\n{marker}\n````\n",
        # In a list item, indented four spaces.
        f"- item\n\n    ```\n    {marker}\n    ```\n",
    ]
    for block in fenced:
        page = f"Prose.\n\n{block}\n{marker}\n"
        shown = hook.on_page_markdown(page)
        assert shown == f"Prose.\n\n{block}\n{hook.cli()}\n", block


# The exit codes page


# Enough for a gate to decide: all Good against all Bad is significant at 8 cases a side.
CASES = 8


def rated_corpus(pytester: pytest.Pytester, model: int, human: int) -> None:
    """The benchmark over CASES synthetic cases of one emotion, each rated ``model`` for the
    responder bot and ``human`` for the human answer."""
    pytester.makepyfile(test_empathy=BENCHMARK)
    rows = synthetic_rows(per_emotion=CASES, rating=lambda emotion, i: (model, human), emotions=EMOTIONS[:1])
    write_corpus(pytester.path / "corpus.csv", rows)


def benchmark(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess(
        "--empathy-model=bot", "--empathy-judge=human", "--empathy-corpus=corpus.csv", "-p", "no:cacheprovider", *args
    )


def winning(*args: str) -> Callable[[pytest.Pytester], int]:
    """A run with ``args`` of cases the model wins."""

    def run(pytester: pytest.Pytester) -> int:
        rated_corpus(pytester, 3, 1)
        return benchmark(pytester, *args).ret

    return run


def losing(pytester):
    rated_corpus(pytester, 1, 3)
    result = benchmark(pytester)
    # Only the gate failed.
    result.assert_outcomes(passed=CASES)
    return result.ret


def unrecorded(pytester):
    rated_corpus(pytester, 3, 1)
    pytester.makefile(
        ".toml",
        pyproject='[tool.pytest-empathy.models.absent]\nmodel = "absent"\nbase_url = "http://127.0.0.1:9/v1"\n'
        'api_key_env = "ABSENT_API_KEY"\n',
    )
    result = pytester.runpytest_inprocess(
        "--empathy-model=absent",
        "--empathy-judge=absent",
        "--empathy-baseline=human-raters",
        "--empathy-corpus=corpus.csv",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(failed=CASES)
    return result.ret


def uncollectable(pytester):
    pytester.makepyfile(test_broken="def test_broken(:\n")
    return winning()(pytester)


# The runs that make each code of the page's pytest table happen.
RUNS: dict[int, dict[str, Callable[[pytest.Pytester], int]]] = {
    0: {"winning": winning()},
    1: {"losing": losing, "unrecorded": unrecorded, "unwritable-report": winning("--empathy-html=corpus.csv/r.html")},
    2: {"uncollectable": uncollectable},
    4: {
        "bad-value": winning("--empathy-alpha=7"),
        "contradicting": winning("--empathy-gate=not-worse"),
        "no-corpus": winning("--empathy-corpus=absent.csv"),
        "unknown-model": winning("--empathy-model=nobody"),
    },
    5: {"none-selected": winning("-k", "no_such_case")},
}


@pytest.mark.parametrize(("code", "scenario"), [(code, name) for code, runs in RUNS.items() for name in runs])
def test_a_run_exits_with_the_code_the_exit_codes_page_gives(pytester, code, scenario):
    codes = {int(row[0]): row[1] for row in table(sections(page("reference/exit-codes.md"))["`pytest`"])}
    assert sorted(codes) == sorted(RUNS)
    assert RUNS[code][scenario](pytester) == code == int(pytest.ExitCode[codes[code].strip("`")])


def results(pytester: pytest.Pytester) -> None:
    """passed.json and failed.json: the JSON results of a run whose gates passed, and of one
    whose gate failed."""
    for model, human, name in ((3, 1, "passed"), (1, 3, "failed")):
        rated_corpus(pytester, model, human)
        benchmark(pytester, f"--empathy-report={name}.json")


def crowd_import(manifest_path: str) -> list[str]:
    """``crowd import`` of answers.csv, the crowd's answers to the sheets an export wrote: every
    case rated Good and each attention check as expected."""
    assert main([*EXPORT, "--responder", "bot"]) == 0
    manifest = json.loads(Path("sheets/manifest.json").read_text(encoding="utf-8"))
    lines = ["item,rater,rating"]
    for number, batch in enumerate(manifest["batches"]):
        lines += [f"{item},rater-{number},{manifest['items'][item]['check'] or 'good'}" for item in batch]
    Path("answers.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["crowd", "import", "answers.csv", "--manifest", manifest_path, "-o", "ratings.csv"]


def cassette(credential: str) -> Path:
    folder = Path(f"cassettes-{len(credential)}")
    folder.mkdir()
    headers = {"authorization": [credential]} if credential else {"content-type": ["application/json"]}
    interaction = {"request": {"headers": headers}, "response": {"headers": {}}}
    (folder / "case.json").write_text(json.dumps({"interactions": [interaction]}), encoding="utf-8")
    return folder


EXPORT = ("crowd", "export", "--corpus", "corpus.csv", "-o", "sheets")
# The command lines that make each code of the page's pytest-empathy table happen.
COMMANDS: dict[tuple[str, int], Callable[[], list[str]]] = {
    ("report", 0): lambda: ["report", "passed.json"],
    ("report", 1): lambda: ["report", "failed.json"],
    ("report", 2): lambda: ["report", "absent.json"],
    ("merge", 0): lambda: ["merge", "passed.json", "-o", "merged.json"],
    ("merge", 1): lambda: ["merge", "failed.json", "-o", "merged.json"],
    ("merge", 2): lambda: ["merge", "absent.json", "-o", "merged.json"],
    ("audit-cassettes", 0): lambda: ["audit-cassettes", str(cassette(""))],
    ("audit-cassettes", 1): lambda: ["audit-cassettes", str(cassette(f"Bearer {FAKE_KEY}"))],
    ("audit-cassettes", 2): lambda: ["audit-cassettes", "absent"],
    ("crowd export", 0): lambda: [*EXPORT, "--responder", "bot"],
    ("crowd export", 2): lambda: [*EXPORT, "--responder", "nobody"],
    ("crowd import", 0): lambda: crowd_import("sheets/manifest.json"),
    ("crowd import", 2): lambda: crowd_import("absent.json"),
}


def test_each_command_exits_with_the_code_the_exit_codes_page_gives(pytester):
    rows = table(sections(page("reference/exit-codes.md"))["`pytest-empathy`"])
    listed = {(command.strip("`"), int(code)) for commands, code, _ in rows for command in commands.split(", ")}
    assert listed == set(COMMANDS)
    results(pytester)
    for (command, code), args in COMMANDS.items():
        assert main(args()) == code, (command, code)


# The build


def mkdocs(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)},
    )


@pytest.fixture
def mkdocs_installed() -> None:
    require(importlib.util.find_spec("mkdocs") is not None, "mkdocs is not installed: pip install -e '.[docs]'")


def test_the_site_builds_strict_with_the_reference_generated(mkdocs_installed, tmp_path):
    built = mkdocs("--site-dir", str(tmp_path))
    assert built.returncode == 0, built.stderr
    # The build warns of nothing: no warning, no banner, only its progress lines.
    assert [line for line in built.stderr.splitlines() if not line.startswith("INFO")] == [], built.stderr
    options = (tmp_path / "reference" / "options" / "index.html").read_text(encoding="utf-8")
    assert "generated:" not in options
    assert all(f"<code>{option.flag}" in options for option in OPTIONS)
    assert not (tmp_path / "hooks").exists()
    # The workflow files the pages link to are served beside them.
    examples = sorted(path.name for path in (ROOT / "docs" / "examples").iterdir())
    assert examples and all((tmp_path / "examples" / name).is_file() for name in examples)


def test_a_broken_link_a_missing_anchor_or_an_orphan_page_fails_the_build(mkdocs_installed, tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    (docs / "orphan.md").write_text("# Left out of the nav\n", encoding="utf-8")
    with (docs / "reference" / "exit-codes.md").open("a", encoding="utf-8") as out:
        out.write("\n[a page](absent.md) and [an anchor](cli.md#absent)\n")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    config = config.replace("docs_dir: docs", f"docs_dir: {docs}").replace("docs/hooks/", f"{docs}/hooks/")
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    built = mkdocs("-f", str(tmp_path / "mkdocs.yml"), "--site-dir", str(tmp_path / "site"))
    assert built.returncode == 1
    assert "orphan.md" in built.stderr
    assert "contains a link 'absent.md'" in built.stderr
    assert "does not contain an anchor '#absent'" in built.stderr
