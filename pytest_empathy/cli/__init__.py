"""The ``pytest-empathy`` command: render reports from a JSON result, merge shards, audit
cassettes.

    pytest-empathy report RESULT.json [--html PATH] [--markdown PATH] [--csv PATH] [--write NAME=PATH]
    pytest-empathy merge A.json B.json [...] -o OUT.json [--compare SAVED.json [--compare-fail CHECKS]]
                         [--html PATH] [--markdown PATH] [--csv PATH] [--write NAME=PATH]
    pytest-empathy audit-cassettes [--reports] [--log FILE] PATH [PATH ...]
    pytest-empathy crowd export --corpus SPEC (--responder NAME | --result RESULT.json) -o DIR [...]

report and merge exit 0 when the result passed, 1 when a gate failed, 2 on input they
cannot use or a report they cannot write. audit-cassettes exits 0 when it finds nothing,
1 when it finds a possible credential, 2 when a path is no file or directory.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_empathy.errors import InputError
from pytest_empathy.reports.registry import FORMATS

__all__ = ["main"]

if TYPE_CHECKING:
    from pytest_empathy.analysis.saved_run_checks import Check
    from pytest_empathy.evaluation.extensions import Extensions
    from pytest_empathy.results.result_document import ResultDocument
    from pytest_empathy.results.run_result import SavedRun


def main(argv: Sequence[str] | None = None) -> int:
    options = parser().parse_args(argv)
    command: Callable[[argparse.Namespace], int] = options.run
    try:
        return command(options)
    except InputError as error:
        print(f"pytest-empathy: error: {error}", file=sys.stderr)
        return 2


def parser() -> argparse.ArgumentParser:
    """The command's parser, with every subcommand (the docs' command-line reference is made from it)."""
    root = argparse.ArgumentParser(prog="pytest-empathy", description="Reports of pytest-empathy results.")
    commands = root.add_subparsers(dest="command", required=True)
    exit_status = "exit status: 0 passed, 1 a gate failed, 2 bad input or a report that could not be written"
    report = commands.add_parser(
        "report",
        help=f"render reports from a saved JSON result, running nothing; {exit_status}",
        description=f"Render reports from a saved JSON result, running nothing; {exit_status}.",
    )
    report.add_argument("result", type=Path, help="a JSON result (--empathy-report, a saved run or a merge)")
    report.set_defaults(run=_report)
    merge = commands.add_parser(
        "merge",
        help=f"merge the JSON results of disjoint shards of one benchmark; {exit_status}",
        description=f"Merge the JSON results of disjoint shards of one benchmark; {exit_status}.",
    )
    merge.add_argument("results", type=Path, nargs="+", help="the shards' JSON results (--empathy-shard runs)")
    merge.add_argument("-o", "--output", type=Path, required=True, help="where to write the merged JSON result")
    merge.add_argument(
        "--compare",
        type=Path,
        metavar="SAVED_RUN",
        help="compare the merged cases with this saved run's (a file of --empathy-save, such as "
        "benchmarks/saved-runs/accepted.json), as --empathy-compare does in a run",
    )
    merge.add_argument(
        "--compare-fail",
        metavar="CHECKS",
        help="comparison checks that fail the merge, as --empathy-compare-fail: decline, emotion-decline, "
        "good-drop:POINTS, bad-rise, comma-separated",
    )
    merge.set_defaults(run=_merge)
    _add_audit(commands)
    from pytest_empathy.cli.crowd import add_parser as add_crowd

    add_crowd(commands)
    for command in (report, merge):
        for kind in FORMATS:
            if kind.name != "json":
                command.add_argument(f"--{kind.name}", type=Path, metavar="PATH", help=f"write the {kind.title}")
        command.add_argument(
            "--write",
            action="append",
            default=[],
            metavar="NAME=PATH",
            help="write the report format NAME (one an installed plugin adds) to PATH; may be repeated",
        )
    return root


def _add_audit(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser(
        "audit-cassettes",
        help="find credentials in cassettes; exit 1 when any",
        description="Find credentials in cassettes (or reports); exit status: 0 none found, 1 some found, "
        "2 a path that is no file or directory.",
    )
    audit.add_argument(
        "paths",
        type=Path,
        nargs="*",
        metavar="PATH",
        help="a cassette file, or a directory searched recursively for cassettes",
    )
    audit.add_argument(
        "--reports",
        action="store_true",
        help="audit reports (JSON, HTML, CSV, Markdown, JUnit XML; the files named and those under the "
        "directories named) instead of cassettes",
    )
    audit.add_argument(
        "--log",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="also audit a saved terminal log (what CI publishes), line by line; may be repeated",
    )
    audit.set_defaults(run=_audit, usage_error=audit.error)


def _audit(options: argparse.Namespace) -> int:
    from pytest_empathy.cassettes.audit import main as audit_main

    if not options.paths and not options.log:
        options.usage_error("name a PATH to audit, or a --log FILE")
    return audit_main(options.paths, reports=options.reports, logs=options.log)


def _report(options: argparse.Namespace) -> int:
    from pytest_empathy.evaluation import merge as merging
    from pytest_empathy.evaluation.extensions import Extensions

    extensions = Extensions.installed()
    paths = _report_paths(options, extensions)
    _check_not_inputs(options, paths)
    result = merging.load(options.result)
    if result.get("statistics_dropped"):
        result = merging.recompute(result, str(options.result))
    return _write_reports(result, paths, extensions)


def _merge(options: argparse.Namespace) -> int:
    from pytest_empathy.evaluation import merge as merging
    from pytest_empathy.evaluation.extensions import Extensions
    from pytest_empathy.results import document

    extensions = Extensions.installed()
    paths = _report_paths(options, extensions)
    _check_not_inputs(options, paths)
    result = merging.merge(
        [merging.load(p) for p in options.results],
        [str(p) for p in options.results],
        compare_with=_saved_run(options.compare, options.compare_fail),
        checks=_checks(options.compare_fail),
        extensions=extensions,
    )
    document.write(result, options.output)
    return _write_reports(result, paths, extensions)


def _write_reports(result: ResultDocument, paths: dict[str, Path], extensions: Extensions) -> int:
    """The reports written, and the verdict said; the exit status."""
    from pytest_empathy.reports.registry import write_reports

    unwritten = write_reports(result, paths, extensions=extensions)
    for line in unwritten:
        print(f"pytest-empathy: error: {line}", file=sys.stderr)
    verdict = "passed" if result["passed"] else "FAILED"
    print(f"{result['model']}: {result['corpus']['rated']} of {result['corpus']['cases']} cases rated, {verdict}")
    for gate in result["gates"]:
        if not gate["passed"]:
            print(f"FAILED {gate['name']}: {gate['detail']}")
    return 2 if unwritten else 0 if result["passed"] else 1


def _report_paths(options: argparse.Namespace, extensions: Extensions) -> dict[str, Path]:
    """Format name to path, of the reports asked for: the built-in flags', then ``--write``'s."""
    from pytest_empathy.reports.registry import named_output

    paths = {kind.name: getattr(options, kind.name) for kind in FORMATS if kind.name != "json"}
    written = {name: path for name, path in paths.items() if path is not None}
    for value in options.write:
        try:
            report, path = named_output(value, extensions)
        except InputError as error:
            raise InputError(f"--write: {error}") from None
        written[report.name] = path
    return written


def _check_not_inputs(options: argparse.Namespace, reports: dict[str, Path]) -> None:
    """No output of a report or a merge is one of its inputs, or another output."""
    from pytest_empathy.write_targets import check_not_inputs

    builtin = {kind.name for kind in FORMATS}
    outputs: list[tuple[str, Path | None]] = [
        (f"--{name}" if name in builtin else f"--write {name}", path) for name, path in reports.items()
    ]
    if options.command == "report":
        inputs = [("the result to report", options.result)]
    else:
        outputs.insert(0, ("-o", options.output))
        inputs = [("a result to merge", path) for path in options.results]
        inputs.append(("--compare", options.compare))
    check_not_inputs(outputs, inputs)


def _saved_run(path: Path | None, checks: str | None) -> SavedRun | None:
    if path is None:
        if checks is not None:
            raise InputError("--compare-fail: name the saved run to compare with, with --compare SAVED_RUN")
        return None
    from pytest_empathy.results import saved_runs
    from pytest_empathy.results.run_result import SavedRun

    return SavedRun(saved_runs.load(path), path)


def _checks(checks: str | None) -> tuple[Check, ...]:
    if checks is None:
        return ()
    from pytest_empathy.analysis.saved_run_checks import parse_checks

    try:
        return parse_checks(checks)
    except InputError as error:
        raise InputError(f"--compare-fail: {error}") from None
