"""Hostile files for the commands and options that read one back: formulas in every CSV the
package writes, malformed crowd manifests and sheets, files beyond their size bound, damaged
calibrations and saved runs, deeply nested JSON, crowd raters' ids and Markdown injection."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from pytest_empathy.errors import InputError

from .conftest import cli, run, stub_cassette, synthetic_rows, write_corpus
from .test_crowd import (
    EMOTIONS,
    crowd,
    crowd_answers,
    export,
    judged_by_the_crowd,
    ratings_file,
    read_csv,
    write_answers,
)

pytestmark = pytest.mark.bad_input

MiB = 2**20

CALIBRATION = Path(__file__).parents[1] / "benchmarks" / "calibrations" / "smollm2-135m.json"
# Nesting deeper than Python's JSON parser goes: about 200 KB of arrays.
TOO_DEEP = "[" * 100_000 + "]" * 100_000
# Nesting the parser reads, but deeper than any free-form part of a file may be.
DEEP = json.loads("[" * 100 + "]" * 100)
FORMULAS = ('=HYPERLINK("http://x.example","y")', "@SUM(1+1)", "+1-2", "-3", "\tTAB", "'quoted")


def one_line_error(done: Any, *names: str) -> str:
    """The command's one-line error (exit status 2), which names each of ``names``."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("pytest-empathy: error: ")
    assert all(name in done.stderr for name in names), done.stderr
    return str(done.stderr)


# CSV files


def test_every_csv_the_package_writes_keeps_formulas_inert_and_reads_back_exactly(tmp_path):
    rows = synthetic_rows(per_emotion=3, emotions=EMOTIONS)
    for row, answer in zip(rows, FORMULAS, strict=False):
        row["response_bot"] = answer
    write_corpus(tmp_path / "corpus.csv", rows)
    assert export(tmp_path, "--seed", "-3", "--per-batch").returncode == 0
    manifest = json.loads((tmp_path / "sheets" / "manifest.json").read_text())
    for name in ("sheet.csv", "batch-001.csv"):
        cells = [cell for line in csv.reader(io.StringIO((tmp_path / "sheets" / name).read_text())) for cell in line]
        starts = [cell for cell in cells if cell.startswith(("=", "+", "-", "@", "\t", "\r"))]
        assert not starts, f"{name}: {starts}"
    shown = {row["item"]: row["response"] for row in read_csv(tmp_path / "sheets" / "sheet.csv")}
    assert {"'" + answer for answer in FORMULAS} <= set(shown.values())

    answers, _ = crowd_answers(tmp_path, failing=-1, skipping=-1)
    for row in answers:
        row["rater"] = "=cmd|' /C calc'!A0" if row["rater"] == "worker-0" else "@" + row["rater"]
    write_answers(tmp_path / "answers.csv", answers)
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    written = read_csv(tmp_path / "ratings.csv")
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in written for cell in row.values())
    assert {row["seed"] for row in written} == {"'-3"}

    # Read back, every cell is what was written: the answers' hashes, the seed, the raters.
    from pytest_empathy.csv_text import restored
    from pytest_empathy.models.crowd_judge import load

    crowd_file = load(tmp_path / "ratings.csv", responder="bot")
    assert crowd_file.design.seed == -3
    hashes = {item: entry["answer_sha256"] for item, entry in manifest["items"].items() if entry["case"]}
    assert all(hashlib.sha256(restored(shown[item]).encode()).hexdigest() == hashes[item] for item in hashes)
    assert len({rater for _, rater in crowd_file.ratings.values()}) == len({row["rater"] for row in answers})


def test_the_csv_of_cases_is_written_by_the_same_writer():
    from pytest_empathy.reports import case_table

    cases = [{"id": f"sad-{i}", "emotion": "sad", "rating": "good", "response": a} for i, a in enumerate(FORMULAS)]
    text = case_table.render({"cases": cases})
    read = list(csv.DictReader(io.StringIO(text)))
    assert [row["response"] for row in read] == ["'" + answer for answer in FORMULAS]
    assert list(read[0]) == ["id", "emotion", "polarity", "rating", "response"]


# Crowd manifests and sheets


def damaged_manifest(tmp_path: Path, damage: Any) -> None:
    path = tmp_path / "sheets" / "manifest.json"
    manifest = json.loads(path.read_text())
    damage(manifest)
    path.write_text(manifest if isinstance(manifest, str) else json.dumps(manifest))


def first_item(manifest: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = next(iter(manifest["items"].values()))
    return entry


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda m: m.update(items=list(m["items"])), "items: a list, not an object"),
        (lambda m: m.pop("batches"), "the top level: no batches"),
        (lambda m: first_item(m).update(check="maybe"), "check: 'maybe' is not one of bad, okay, good"),
        (lambda m: first_item(m).update(case=["afraid-afraid0"]), "case: a list, not a string"),
        (lambda m: m.update(seed="3"), "seed: '3' is not a whole number"),
        (lambda m: m.update(comment=DEEP), "comment: nested more than 32 levels deep"),
        (lambda m: m["batches"][0].append(m["batches"][1][0]), "is in batch 1 and in batch 2"),
        (lambda m: m["batches"][0].append("i000000000000"), "item 'i000000000000' of batch 1 is not among"),
        (lambda m: m["batches"].pop(), "is in no batch"),
        (lambda m: first_item(m).update(case=None, check=None), "neither a case with its emotion nor"),
    ],
)
def test_a_malformed_manifest_is_one_line_naming_the_file_and_the_place(tmp_path, corpus, damage, message):
    assert export(tmp_path).returncode == 0
    answers, _ = crowd_answers(tmp_path, failing=-1, skipping=-1)
    write_answers(tmp_path / "answers.csv", answers)
    damaged_manifest(tmp_path, damage)
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=tmp_path)
    one_line_error(done, "sheets/manifest.json", message)
    assert not (tmp_path / "ratings.csv").exists()


def test_a_manifest_nested_beyond_the_parser_is_one_line(tmp_path, corpus):
    assert export(tmp_path).returncode == 0
    (tmp_path / "sheets" / "manifest.json").write_text('{"kind": ' + TOO_DEEP + "}")
    write_answers(tmp_path / "answers.csv", [])
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=tmp_path)
    one_line_error(done, "sheets/manifest.json: not a manifest of crowd sheets (JSON nested too deeply")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus.csv", synthetic_rows(per_emotion=12, emotions=EMOTIONS))


# Sizes


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk; reading it whole would take ``size`` of memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.truncate(size)
    return path


def test_crowd_files_above_their_bound_are_refused_unread(tmp_path, corpus):
    assert export(tmp_path).returncode == 0
    huge = 8 * 2**30
    sparse(tmp_path / "answers.csv", huge)
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=tmp_path)
    one_line_error(done, "answers.csv: 8192 MiB, larger than any crowd file (64 MiB); not read")
    write_answers(tmp_path / "answers.csv", [])
    sparse(tmp_path / "sheets" / "manifest.json", 65 * MiB)
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=tmp_path)
    one_line_error(done, "manifest.json: 65 MiB, larger than any crowd file (64 MiB); not read")


@pytest.mark.parametrize(
    ("kind", "bound"),
    [("cassette", 16), ("judge calibration", 16), ("crowd file", 64), ("saved run", 512)],
)
def test_files_read_whole_are_refused_above_their_bound_before_reading(tmp_path, kind, bound):
    from pytest_empathy.cassettes.format import load as cassette
    from pytest_empathy.models.crowd_judge import load as crowd_file
    from pytest_empathy.results.calibrations import load as calibration
    from pytest_empathy.results.saved_runs import load as saved_run

    read = {
        "cassette": cassette,
        "judge calibration": calibration,
        "crowd file": lambda path: crowd_file(path, responder="bot"),
        "saved run": saved_run,
    }[kind]
    # Eight times the bound, never read: that would take gigabytes and seconds.
    path = sparse(tmp_path / "file.json", 8 * bound * MiB)
    with pytest.raises(InputError) as refused:
        read(path)
    assert str(refused.value) == f"{path}: {8 * bound} MiB, larger than any {kind} ({bound} MiB); not read"


# Calibrations


def calibration_with(tmp_path: Path, change: Any) -> Path:
    data = json.loads(CALIBRATION.read_text())
    change(data)
    path = tmp_path / "calibration.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_the_shipped_calibration_is_read():
    from pytest_empathy.results.calibrations import load

    assert load(CALIBRATION) == json.loads(CALIBRATION.read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["overall"].update(alpha_ordinal=math.inf),
            "overall.alpha_ordinal: inf is not a number in [-1, 1]",
        ),
        (lambda d: d["overall"].update(alpha_ordinal=1e9), "overall.alpha_ordinal: 1000000000.0 is not a number in"),
        (lambda d: d["overall"].update(alpha_ordinal=True), "overall.alpha_ordinal: true is not a number in [-1, 1]"),
        (lambda d: d["overall"].update(alpha_ordinal="0.95"), "overall.alpha_ordinal: '0.95' is not a number in"),
        (lambda d: d["sources"]["human"].update(kappa_linear=-1.5), "sources.human.kappa_linear: -1.5 is not"),
        (lambda d: d["overall"].pop("intervals"), "overall: no intervals"),
        (lambda d: d["overall"]["intervals"].update(exact=[0.2, 0.1]), "overall.intervals.exact: 0.2 is above 0.1"),
        (lambda d: d.update(judge=5), "judge: 5, not an object"),
        (lambda d: d["judge"].update(profile=5), "judge.profile: 5, not a string"),
        (lambda d: d.update(created="<img src=x>"), "created: '<img src=x>' is not a date (YYYY-MM-DD)"),
        (lambda d: d["overall"].update(n=-192), "overall.n: -192 is not a whole number of 1 or more"),
        (lambda d: d["overall"].update(n=192.5), "overall.n: 192.5 is not a whole number of 1 or more"),
        (lambda d: d["overall"]["confusion"].pop(), "overall.confusion: 2 entries, not 3"),
        (lambda d: d["overall"]["confusion"][0].__setitem__(1, -1), "overall.confusion[0][1]: -1 is not a whole"),
        (lambda d: d["overall"]["confusion"][0].__setitem__(0, 26), "overall.confusion: not the sum of the sources'"),
        (lambda d: d["sources"]["human"].update(exact=0.99), "sources.human.exact: 0.99, but its confusion matrix"),
        (lambda d: d["pairs"]["human"][0].__setitem__(0, 4), "pairs.human[0][0]: 4 is not a whole number in [1, 3]"),
        (lambda d: d["pairs"]["human"].pop(), "pairs: not one (crowd, judge) pair per prompt for every source"),
        (lambda d: d["selection"].update(deep=DEEP), "selection.deep: nested more than 32 levels deep"),
    ],
)
def test_a_calibration_whose_figures_are_of_the_wrong_type_or_range_is_refused(tmp_path, change, message):
    from pytest_empathy.results.calibrations import CalibrationError, load

    path = calibration_with(tmp_path, change)
    with pytest.raises(CalibrationError) as refused:
        load(path)
    assert str(refused.value).startswith(f"{path}: not a usable judge calibration ({message}")
    assert "\n" not in str(refused.value)


def test_a_calibration_nested_beyond_the_parser_is_refused(tmp_path):
    from pytest_empathy.results.calibrations import CalibrationError, load

    path = tmp_path / "calibration.json"
    path.write_text('{"overall": ' + TOO_DEEP + "}")
    with pytest.raises(CalibrationError, match="not a readable judge calibration \\(JSON nested too deeply"):
        load(path)


# Saved runs


@pytest.fixture
def saved(stub, pytester) -> Path:
    assert run(pytester, "--empathy-record=once", "--empathy-save=accepted").ret == 0
    return pytester.path / "benchmarks" / "saved-runs" / "accepted.json"


@pytest.fixture(scope="module")
def saved_runs() -> dict[str, str]:
    """The text of the saved run ``saved`` makes, once the first test that needs it has made it."""
    return {}


@pytest.fixture
def saved_copy(request, saved_runs, tmp_path) -> Path:
    """A copy of a saved run of its own for each test that damages one: the run behind it is
    recorded once in the module, not again for each damage."""
    if not saved_runs:
        saved_runs["accepted"] = request.getfixturevalue("saved").read_text()
    path = tmp_path / "accepted.json"
    path.write_text(saved_runs["accepted"])
    return path


SAVED_RUN_DAMAGE = [
    (lambda d: d.update(saved_run="accepted"), "saved_run: 'accepted', not an object"),
    (lambda d: d["cases"][0].update(id=["sad-sad0"]), "cases[0].id: a list, not a string"),
    (lambda d: d["cases"][0].update(rating=True), "cases[0].rating: true is not a rating"),
    (lambda d: d["cases"][1].update(emotion=3), "cases[1].emotion: 3 is not one of"),
    (lambda d: d.update(templates=["x"]), "templates: a list, not an object"),
    (lambda d: d.update(model={"name": "stub"}), "model: an object, not a string"),
    (lambda d: d["overall"].update(good_rate="100%"), "overall.good_rate: '100%' is not a number in [0, 1]"),
    (lambda d: d["gates"].append("passed"), "gates[1]: 'passed', not an object"),
    (lambda d: d["settings"].update(deep=DEEP), "settings.deep: nested more than 32 levels deep"),
    (lambda d: d.update(schema=1, settings="off"), "a saved run of schema 1 that cannot be read"),
]


@pytest.mark.parametrize(("damage", "message"), SAVED_RUN_DAMAGE)
def test_a_saved_run_of_the_wrong_shape_is_refused_in_one_line(saved_copy, damage, message):
    from pytest_empathy.results.saved_runs import SavedRunError, load

    document = json.loads(saved_copy.read_text())
    load(saved_copy)  # whole, it is read
    damage(document)
    saved_copy.write_text(json.dumps(document))
    with pytest.raises(SavedRunError) as refused:
        load(saved_copy)
    assert "\n" not in str(refused.value) and str(refused.value).startswith(f"{saved_copy}: ")
    assert message in str(refused.value)


def test_a_saved_run_with_a_case_id_as_a_list_is_a_usage_error_not_an_internal_error(saved, pytester):
    document = json.loads(saved.read_text())
    document["cases"][0]["id"] = ["sad-sad0"]
    saved.write_text(json.dumps(document))
    result = run(pytester, "--empathy-compare=accepted")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-compare: *accepted.json: *cases[[]0[]].id: a list, not a string*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    saved.write_text('{"schema": 5, "cases": ' + TOO_DEEP + "}")
    result = run(pytester, "--empathy-compare=accepted")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-compare: *accepted.json: not a readable saved run (JSON nested*"])


# Cassettes


def test_a_recorded_answer_nested_beyond_the_parser_fails_its_case_only(stub, pytester):
    assert run(pytester, "--empathy-record=once").ret == 0
    target = stub_cassette(pytester, "sad-sad0")
    cassette = json.loads(target.read_text())
    cassette["interactions"][0]["response"]["body"]["string"] = TOO_DEEP
    target.write_text(json.dumps(cassette))
    result = run(pytester)
    assert result.ret == 1
    result.assert_outcomes(passed=7, failed=1)
    assert "RecursionError" not in result.stdout.str() and "INTERNALERROR" not in result.stdout.str()


# Crowd raters


@pytest.mark.secrets
def test_crowd_raters_platform_ids_reach_no_result(pytester):
    corpus = write_corpus(pytester.path / "corpus.csv", synthetic_rows(per_emotion=2, emotions=EMOTIONS))
    answer = "That sounds like a lot to carry, case {}."
    ids = ("PROLIFIC-5f1e2d3c4b5a", "mturk-A1B2C3D4E5", "PROLIFIC-5f1e2d3c4b5a", "=evil()")
    ratings = [
        ("bot", f"{emotion}-{emotion}{i}", ids[(2 * k + i) % len(ids)], "good", answer.format(i))
        for k, emotion in enumerate(EMOTIONS)
        for i in range(2)
    ]
    ratings_file(pytester.path / "ratings.csv", corpus, ratings)
    result = judged_by_the_crowd(pytester, "--junitxml=junit.xml", "-p", "no:xdist")
    assert result.ret == 0, result.stdout.str()[-2000:]
    report = json.loads((pytester.path / "report.json").read_text())
    # Numbered in the order they first appear in the file, one number per platform id.
    first_seen = list(dict.fromkeys(rater for _, _, rater, _, _ in ratings))
    number = {rater: str(i) for i, rater in enumerate(first_seen, start=1)}
    assert {case["id"]: case["rater"] for case in report["cases"]} == {r[1]: number[r[2]] for r in ratings}
    for written in ("report.json", "junit.xml"):
        text = (pytester.path / written).read_text()
        assert not [rater for rater in ids if rater in text], written


# Markdown


HOSTILE = "![x](http://evil.example/i.png) <img src=x onerror=alert(1)> [link](http://evil.example) | @team\n# h"


def test_markdown_escapes_every_field_that_did_not_come_from_the_package(stub, pytester):
    assert run(pytester, "--empathy-record=once", "--empathy-save=accepted").ret == 0
    saved = pytester.path / "benchmarks" / "saved-runs" / "accepted.json"
    document = json.loads(saved.read_text())
    document["model"] = "stub" + HOSTILE
    document["saved_run"]["saved_at"] = HOSTILE
    saved.write_text(json.dumps(document))
    assert run(pytester, "--empathy-compare=accepted").ret == 0
    report = json.loads((pytester.path / "report.json").read_text())
    report["corpus"]["name"] = HOSTILE
    report["judge_standing"] = "calibrated judge (" + HOSTILE + ")"
    report["warnings"].append(HOSTILE)
    report["gates"][0]["detail"] = HOSTILE
    report["emotions"][HOSTILE] = report["emotions"].pop("sad")
    report["comparison"]["emotions"][HOSTILE] = report["comparison"]["emotions"].pop("sad")
    (pytester.path / "hostile.json").write_text(json.dumps(report))
    done = cli("report", "hostile.json", "--markdown", "hostile.md", cwd=pytester.path)
    assert done.returncode == 0, done.stderr
    markdown = (pytester.path / "hostile.md").read_text()
    assert markdown.count("evil.example") >= 6
    for markup in ("![", "](", "<img", "[link]", "\n# h", " @team"):
        assert not re.search(r"(?<!\\)" + re.escape(markup), markdown), markup
    # Every table row has the columns of its header: no cell was split by a "|" of a field.
    for table in markdown.split("\n\n"):
        lines = [line for line in table.splitlines() if line.startswith("|")]
        widths = {len(line.replace("\\|", "").split("|")) for line in lines}
        assert len(widths) <= 1, table
    from pytest_empathy.reports.markdown import escape

    assert escape(HOSTILE) in markdown


def test_markdown_escape_shows_text_literally():
    from pytest_empathy.reports.markdown import escape

    assert escape("a_b *c* `d` <e> [f](g) h|i @j $k$ ~l~ &amp; \\m\nn") == (
        "a\\_b \\*c\\* \\`d\\` \\<e\\> \\[f\\](g) h\\|i \\@j \\$k\\$ \\~l\\~ \\&amp; \\\\m n"
    )
