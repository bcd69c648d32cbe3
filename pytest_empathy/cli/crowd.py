"""``pytest-empathy crowd``: rating sheets of a model's answers for a crowd platform
(``export``), and the crowd's ratings read back and checked (``import``)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from pytest_empathy.analysis.clusters import FEW_RATERS
from pytest_empathy.crowd.sheets import LARGEST_BATCH
from pytest_empathy.errors import InputError
from pytest_empathy.reports.layout import wrap
from pytest_empathy.write_targets import check_not_inputs


def add_parser(commands: Any) -> None:
    crowd = commands.add_parser(
        "crowd",
        help="crowd studies: rating sheets of a model's answers",
        description="Crowd studies: rating sheets of a model's answers for a crowd platform (export), and the "
        "crowd's ratings read back and checked (import).",
    )
    crowd.set_defaults(run=run)
    actions = crowd.add_subparsers(dest="crowd_command", required=True)
    export = actions.add_parser(
        "export",
        help="write rating sheets (sheet.csv, manifest.json) of a responder's answers; exit 2 on bad input",
        description="Write rating sheets of a responder's answers, as the study collected its ratings: batches "
        "of items, one rater per batch, shuffled from a seed, with attention checks hidden among them. The "
        "manifest keeps what the sheets hide, for 'crowd import'.",
    )
    export.add_argument("--corpus", required=True, help="the corpus: a named one (smoke, welivita-pu-2024) or a file")
    export.add_argument("--corpus-text", type=Path, metavar="FILE", help="the release's text (welivita-pu-2024)")
    source = export.add_mutually_exclusive_group(required=True)
    source.add_argument("--responder", help="a responder whose answers the corpus holds (a response_<name> column)")
    source.add_argument(
        "--result",
        type=Path,
        metavar="RESULT",
        help="a run's JSON result holding its answers (a run with --empathy-html or --empathy-csv)",
    )
    export.add_argument("--sample", type=_positive, metavar="N", help="N cases per emotion, drawn with --seed")
    export.add_argument("--seed", type=int, default=0, help="seed of the sample and the shuffles (default 0)")
    export.add_argument(
        "--batch-size",
        type=_positive,
        metavar="N",
        help=f"at most N items per batch (default {LARGEST_BATCH}, and fewer where that makes fewer than the "
        f"{FEW_RATERS} batches, one a rater, that --empathy-crowd needs)",
    )
    export.add_argument(
        "--checks", type=int, default=1, metavar="N", help="attention checks among each batch's items (default 1)"
    )
    export.add_argument("--per-batch", action="store_true", help="also write one batch-NNN.csv per batch")
    export.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="where to write the sheets")
    returned = actions.add_parser(
        "import",
        help="check the crowd's ratings against the sheets' manifest and write the ratings file; exit 2 on bad input",
        description="Read the crowd's ratings (a CSV with columns item, rater, rating as 1/2/3 or Bad/Okay/Good, "
        "and optionally seconds), check them against the manifest of 'crowd export', drop the raters who failed "
        "or skipped an attention check, and write the ratings of the cases, for --empathy-judge crowd:FILE.",
    )
    returned.add_argument("ratings", type=Path, help="the crowd's ratings, a CSV file from the crowd platform")
    returned.add_argument("--manifest", type=Path, required=True, help="the manifest.json 'crowd export' wrote")
    returned.add_argument("-o", "--output", type=Path, required=True, help="where to write the ratings file (CSV)")


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def run(options: argparse.Namespace) -> int:
    if options.crowd_command == "import":
        return _import(options)
    from pytest_empathy.corpus.named import open_corpus
    from pytest_empathy.crowd import sheets

    corpus = open_corpus(options.corpus, text=options.corpus_text, need_text=True)
    rows = corpus.select(sample=options.sample, seed=options.seed)
    if options.responder is not None:
        responder = options.responder
        if responder not in corpus.responders:
            raise InputError(
                f"--responder: corpus {corpus.name} holds answers of {', '.join(corpus.responders) or 'no one'}, "
                f"not {responder!r}"
            )
        responses = {row.case_id: row.responses.get(responder, "") for row in rows}
    else:
        responder, responses = _answers_of(options.result, corpus.name)
    drawn = sheets.draw(
        rows,
        responses,
        responder=responder,
        corpus=corpus.name,
        corpus_sha256=corpus.sha256,
        seed=options.seed,
        sample=options.sample,
        batch_size=options.batch_size,
        checks=options.checks,
    )
    written = sheets.sheet_files(drawn, options.output, per_batch=options.per_batch)
    stale = sheets.stale_batch_files(options.output, written)
    inputs = [("--corpus", Path(options.corpus)), ("--corpus-text", options.corpus_text), ("--result", options.result)]
    check_not_inputs([("-o", path) for path in [*written, *stale]], inputs)
    sheets.write(written)
    # Only once the new set is written whole: a failed write leaves the earlier export as it was.
    sheets.remove(stale)
    shown = list(written)
    items = sum(len(batch) for batch in drawn.batches)
    _say(
        f"{responder}: {items - len(drawn.batches) * drawn.checks} answers and {len(drawn.batches) * drawn.checks} "
        f"attention checks in {len(drawn.batches)} batches: {', '.join(str(p) for p in shown[:2])}"
    )
    _say(sheets.crowd_needed(drawn))
    if stale:
        names = [path.name for path in stale]
        shown_names = ", ".join(names if len(names) <= 3 else [names[0], "...", names[-1]])
        _say(f"removed {len(stale)} batch file(s) of an earlier export that this one does not have: {shown_names}")
    return 0


def _say(text: str) -> None:
    """A line of the command's output, wrapped to the terminal's width ($COLUMNS; 80 columns
    when the output is no terminal)."""
    print("\n".join(wrap(text, shutil.get_terminal_size().columns)))


def _answers_of(path: Path, corpus: str) -> tuple[str, dict[str, str]]:
    from pytest_empathy.evaluation import merge

    result = merge.load(path)
    if result["corpus"]["name"] != corpus:
        raise InputError(f"--result: {path} is a run on corpus {result['corpus']['name']}, not {corpus}")
    answers = {case["id"]: case.get("response") or "" for case in result["cases"]}
    if not any(answers.values()):
        raise InputError(
            f"--result: {path} holds no answers; run with --empathy-html or --empathy-csv to keep them in the result"
        )
    return str(result["model"]), answers


def _import(options: argparse.Namespace) -> int:
    from pytest_empathy.crowd import returned

    check_not_inputs(
        [("-o", options.output)], [("the crowd's ratings", options.ratings), ("--manifest", options.manifest)]
    )
    checked = returned.check(options.ratings, returned.read_manifest(options.manifest))
    returned.write(checked, options.output)
    cases = len({row["case"] for row in checked.kept})
    _say(
        f"{len(checked.kept)} ratings of {cases} cases by {checked.raters} raters written to {options.output}; "
        f"{len(checked.dropped_raters)} raters dropped for a failed or skipped attention check "
        f"({checked.dropped_ratings} ratings); {checked.duplicates} repeated row(s) counted once; "
        f"{checked.incomplete_batches} batch(es) rated in part; "
        f"{checked.cases_without_rating} case(s) without a rating"
    )
    return 0
