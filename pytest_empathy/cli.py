"""The ``pytest-empathy`` command: render reports from a JSON result, merge shards.

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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pytest-empathy", description="Reports of pytest-empathy results.")
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", help="render reports from a saved JSON result, running nothing")
    report.add_argument("result", type=Path)
    merge = commands.add_parser("merge", help="merge the JSON results of disjoint shards of one benchmark")
    merge.add_argument("results", type=Path, nargs="+")
    merge.add_argument("-o", "--output", type=Path, required=True, help="where to write the merged JSON result")
    audit = commands.add_parser("audit-cassettes", help="find credentials in cassettes; exit 1 when any")
    audit.add_argument("directory", type=Path)
    for command in (report, merge):
        command.add_argument("--html", type=Path, help="write the HTML report")
        command.add_argument("--markdown", type=Path, help="write the Markdown summary")
        command.add_argument("--csv", type=Path, help="write one row per case")
    options = parser.parse_args(argv)
    if options.command == "audit-cassettes":
        from .audit import main as audit_main

        return audit_main(options.directory)

    from . import merge as merging
    from .report import write_json, write_reports

    try:
        if options.command == "report":
            result = merging.load(options.result)
        else:
            result = merging.merge([merging.load(p) for p in options.results], [str(p) for p in options.results])
            write_json(result, options.output)
        write_reports(result, html=options.html, markdown_path=options.markdown, csv=options.csv)
    except InputError as error:
        print(f"pytest-empathy: error: {error}", file=sys.stderr)
        return 2
    verdict = "passed" if result["passed"] else "FAILED"
    print(f"{result['model']}: {result['corpus']['rated']} of {result['corpus']['cases']} cases rated, {verdict}")
    for gate in result["gates"]:
        if not gate["passed"]:
            print(f"FAILED {gate['name']}: {gate['detail']}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
