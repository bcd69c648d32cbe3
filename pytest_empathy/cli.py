"""The ``pytest-empathy`` command: render reports from a JSON result, merge shards, audit
cassettes.

    pytest-empathy report RESULT.json [--html PATH] [--markdown PATH] [--csv PATH]
    pytest-empathy merge A.json B.json [...] -o OUT.json [--html PATH] [--markdown PATH] [--csv PATH]
    pytest-empathy audit-cassettes DIR
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import InputError
from .reports.registry import FORMATS


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytest-empathy", description="Reports of pytest-empathy results.")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="render reports from a saved JSON result, running nothing")
    report.add_argument("result", type=Path)
    merge = commands.add_parser("merge", help="merge the JSON results of disjoint shards of one benchmark")
    merge.add_argument("results", type=Path, nargs="+")
    merge.add_argument("-o", "--output", type=Path, required=True, help="where to write the merged JSON result")
    audit = commands.add_parser("audit-cassettes", help="find credentials in cassettes; exit 1 when any")
    audit.add_argument("directory", type=Path, help="the directory to search, recursively")
    audit.add_argument(
        "--reports",
        action="store_true",
        help="search the reports under DIRECTORY (JSON, HTML, CSV, Markdown, JUnit XML) instead of cassettes",
    )
    for command in (report, merge):
        for kind in FORMATS:
            if kind.name != "json":
                command.add_argument(f"--{kind.name}", type=Path, metavar="PATH", help=f"write the {kind.title}")
    options = parser.parse_args(argv)
    if options.command == "audit-cassettes":
        from .cassettes.audit import main as audit_main

        return audit_main(options.directory, reports=options.reports)

    from .reports.registry import write_reports
    from .results import document
    from .results import merge as merging

    try:
        if options.command == "report":
            result = merging.load(options.result)
            if result.get("statistics_dropped"):
                result = merging.recompute(result, str(options.result))
        else:
            inputs = {path.resolve() for path in options.results}
            if options.output.resolve() in inputs:
                raise merging.MergeError(f"{options.output} is one of the results to merge; write the merge elsewhere")
            result = merging.merge([merging.load(p) for p in options.results], [str(p) for p in options.results])
            document.write(result, options.output)
        paths = {kind.name: getattr(options, kind.name) for kind in FORMATS if kind.name != "json"}
        unwritten = write_reports(result, {name: path for name, path in paths.items() if path is not None})
    except InputError as error:
        print(f"pytest-empathy: error: {error}", file=sys.stderr)
        return 2
    for line in unwritten:
        print(f"pytest-empathy: error: {line}", file=sys.stderr)
    verdict = "passed" if result["passed"] else "FAILED"
    print(f"{result['model']}: {result['corpus']['rated']} of {result['corpus']['cases']} cases rated, {verdict}")
    for gate in result["gates"]:
        if not gate["passed"]:
            print(f"FAILED {gate['name']}: {gate['detail']}")
    return 2 if unwritten else 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
