"""Crowd studies: rating sheets of a model's answers (``pytest-empathy crowd export``)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_empathy.corpus.rows import Row
from pytest_empathy.crowd.sheets import SHEET_COLUMNS, attention_checks, draw
from pytest_empathy.emotions import EMOTIONS as EMOTIONS_32
from pytest_empathy.models.crowd_judge import RATINGS_COLUMNS
from pytest_empathy.ratings import Rating

from .conftest import answer_of, cli, read_report, run, stub_cassette, synthetic_rows, write_corpus
from .stub_server import completion, default_answer, is_judge_request

EMOTIONS = ("afraid", "caring", "joyful", "sad")


def crowd(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cli("crowd", *args, cwd=cwd)


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def sha256(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus.csv", synthetic_rows(per_emotion=12, emotions=EMOTIONS))


def export(tmp_path: Path, *args: str, out: str = "sheets") -> subprocess.CompletedProcess[str]:
    return crowd("export", "--corpus", "corpus.csv", "--responder", "bot", "-o", out, *args, cwd=tmp_path)


def test_sheets_hold_each_sampled_answer_once_in_shuffled_batches_with_hidden_checks(tmp_path, corpus):
    done = export(tmp_path, "--sample", "5", "--seed", "3", "--checks", "2", "--batch-size", "10", "--per-batch")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == (
        "bot: 20 answers and 6 attention checks in 3 batches: sheets/sheet.csv, sheets/manifest.json"
    )
    sheet = read_csv(tmp_path / "sheets" / "sheet.csv")
    manifest = json.loads((tmp_path / "sheets" / "manifest.json").read_text())
    assert list(sheet[0]) == list(SHEET_COLUMNS)
    # The sheet says nothing of cases, emotions or checks; the manifest keeps it.
    items = manifest["items"]
    cases = [items[row["item"]]["case"] for row in sheet if items[row["item"]]["case"]]
    assert len(cases) == len(set(cases)) == 20
    assert Counter(case.split("-")[0] for case in cases) == dict.fromkeys(EMOTIONS, 5)
    assert all(case.split("-")[1] not in row["item"] for row in sheet for case in cases)
    answers = {f"{r['emotion']}-{r['id']}": r["response_bot"] for r in synthetic_rows(12, emotions=EMOTIONS)}
    assert all(row["response"] == answers[items[row["item"]]["case"]] for row in sheet if items[row["item"]]["case"])
    # Each case's answer is known by the sha256 of the text the sheet shows.
    assert manifest["schema"] == 2
    assert all(
        items[row["item"]]["answer_sha256"] == (sha256(row["response"]) if items[row["item"]]["case"] else None)
        for row in sheet
    )
    # Batches of at most 10, the cases dealt evenly, two checks in each, their answers hidden in
    # the manifest alone.
    batches = manifest["batches"]
    assert [len(b) for b in batches] == [9, 9, 8]
    assert [sum(items[i]["check"] is not None for i in b) for b in batches] == [2, 2, 2]
    checks = {c.response: c.expected.label for c in attention_checks()}
    assert all(checks[row["response"]] == items[row["item"]]["check"] for row in sheet if items[row["item"]]["check"])
    assert [[row["item"] for row in sheet if row["batch"] == str(n)] for n in (1, 2, 3)] == batches
    # Shuffled across and within batches: not in the corpus's order.
    assert cases != sorted(cases, key=list(answers).index)
    per_batch = [row for n in (1, 2, 3) for row in read_csv(tmp_path / "sheets" / f"batch-{n:03d}.csv")]
    assert per_batch == sheet
    assert manifest["seed"] == 3 and manifest["sample"] == 5 and manifest["checks_per_batch"] == 2


def test_the_same_seed_gives_the_same_sheets_and_another_seed_others(tmp_path, corpus):
    for out, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        assert export(tmp_path, "--seed", seed, out=out).returncode == 0
    read = {out: (tmp_path / out / "sheet.csv").read_bytes() for out in "abc"}
    assert read["a"] == read["b"] != read["c"]


def batches_of_each_emotion(manifest: dict) -> dict[str, list[int]]:
    """The batches (by number) each emotion's cases were dealt to, one entry per case."""
    found: dict[str, list[int]] = {}
    for number, batch in enumerate(manifest["batches"]):
        for item in batch:
            if manifest["items"][item]["case"]:
                found.setdefault(manifest["items"][item]["emotion"], []).append(number)
    return found


@pytest.mark.parametrize(
    ("per_emotion", "args", "batches"),
    [(2, (), 20), (62, ("--sample", "2"), 20), (62, ("--sample", "10"), 36), (62, (), 221)],
    ids=["smoke-sized", "release-sized, 2 per emotion", "release-sized, 10 per emotion", "release-sized, all"],
)
def test_the_default_export_gives_prediction_powered_inference_its_raters_and_says_how_many(
    tmp_path, per_emotion, args, batches
):
    write_corpus(tmp_path / "corpus.csv", synthetic_rows(per_emotion))
    for seed in ("0", "1", "2"):
        done = export(tmp_path, "--seed", seed, *args, out=f"sheets-{seed}")
        assert done.returncode == 0, done.stderr
        manifest = json.loads((tmp_path / f"sheets-{seed}" / "manifest.json").read_text())
        # One rater a batch: 20 batches at least (batches of 10 would make 8 of 64 cases), of
        # sizes that differ by one at most, and no emotion's cases in one batch.
        sizes = [len(batch) for batch in manifest["batches"]]
        assert len(sizes) == batches and max(sizes) - min(sizes) <= 1 and max(sizes) <= 10
        dealt = batches_of_each_emotion(manifest)
        assert all(len(set(numbers)) == len(numbers) for numbers in dealt.values()), dealt
        cases = sum(len(numbers) for numbers in dealt.values())
        assert done.stdout.splitlines()[1] == (
            "prediction-powered inference (--empathy-crowd) clusters its variance by rater, so it needs 20 raters or "
            f"more and each emotion's crowd ratings from 2 or more of them: have each of these {batches} batches rated "
            f"by a rater of its own ({batches} raters, {cases} ratings, each emotion's in "
            f"{min(len(n) for n in dealt.values())} or more batches), and a batch whose rater an attention check drops "
            "rated again"
        )


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=8),
    batch_size=st.one_of(st.none(), st.integers(2, 12)),
    checks=st.integers(0, 1),
    seed=st.integers(0, 10**6),
)
def test_an_emotion_s_cases_are_in_as_many_batches_as_they_can_be(sizes, batch_size, checks, seed):
    """Whatever the emotions' sizes and the batch size: as many batches as the size needs (and
    20 at least by default, the cases allowing), cases dealt evenly, and each emotion's cases in
    as many batches as there are of them or of batches."""
    emotions = dict(zip(EMOTIONS_32, sizes, strict=False))
    rows = [Row(f"{emotion}{i}", emotion, utterance="said") for emotion, n in emotions.items() for i in range(n)]
    drawn = draw(
        rows,
        dict.fromkeys((row.case_id for row in rows), "an answer"),
        responder="m",
        corpus="c",
        corpus_sha256="0" * 64,
        seed=seed,
        batch_size=batch_size,
        checks=checks,
    )
    per_batch = (batch_size or 10) - checks
    least = -(-len(rows) // per_batch)
    count = least if batch_size else max(least, min(20, len(rows)))
    assert len(drawn.batches) == count
    cases = [sum(item.case is not None for item in batch) for batch in drawn.batches]
    assert max(cases) - min(cases) <= 1 and max(cases) <= per_batch and sum(cases) == len(rows)
    for emotion, n in emotions.items():
        batches = {number for number, batch in enumerate(drawn.batches) for item in batch if item.emotion == emotion}
        assert len(batches) == min(n, count)


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (
            ("--batch-size", "10"),
            "these 8 batch(es), one a rater, are too few (20 batches need 20 answers or more and "
            "--batch-size at its default)",
        ),
        (
            ("--sample", "1"),
            "these sheets hold 1 answer of 32 emotion(s), afraid, angry, annoyed, ... (--sample 2 or more)",
        ),
    ],
)
def test_an_export_prediction_powered_inference_cannot_use_says_why(tmp_path, args, why):
    write_corpus(tmp_path / "corpus.csv", synthetic_rows(2))
    done = export(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[1] == (
        "prediction-powered inference (--empathy-crowd) clusters its variance by rater, so it needs 20 raters or more "
        f"and each emotion's crowd ratings from 2 or more of them: {why}"
    )


def test_sheets_of_a_run_s_answers(stub, pytester):
    assert run(pytester, "--empathy-record=once").ret == 0
    # A result keeps the answers only with a report that shows them.
    done = crowd("export", "--corpus", "corpus.csv", "--result", "report.json", "-o", "sheets", cwd=pytester.path)
    assert done.returncode == 2
    assert done.stderr == (
        "pytest-empathy: error: --result: report.json holds no answers; run with --empathy-html or "
        "--empathy-csv to keep them in the result\n"
    )
    assert run(pytester, "--empathy-csv=cases.csv").ret == 0
    done = crowd("export", "--corpus", "corpus.csv", "--result", "report.json", "-o", "sheets", cwd=pytester.path)
    assert done.returncode == 0, done.stderr
    sheet = read_csv(pytester.path / "sheets" / "sheet.csv")
    manifest = json.loads((pytester.path / "sheets" / "manifest.json").read_text())
    assert manifest["responder"] == "stub" and manifest["corpus"] == "corpus"
    answered = [row for row in sheet if manifest["items"][row["item"]]["case"]]
    assert len(answered) == 8 and {row["response"] for row in answered} == {
        "That sounds really hard; I am here for you."
    }


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--responder", "nobody"], "--responder: corpus corpus holds answers of bot, not 'nobody'"),
        (["--responder", "bot", "--checks", "10"], "a batch of 10 items cannot hold 10 attention check(s) and a case"),
        (["--result", "missing.json"], "*missing.json*"),
    ],
)
def test_bad_export_input_is_one_line_naming_it(tmp_path, corpus, args, message):
    done = crowd("export", "--corpus", "corpus.csv", "-o", "sheets", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1
    assert pytest.LineMatcher(done.stderr.splitlines()).fnmatch_lines([f"pytest-empathy: error: {message}"]) is None
    assert not (tmp_path / "sheets").exists()


def crowd_answers(tmp_path: Path, *, failing: int, skipping: int, okay: int = -1) -> tuple[list[dict[str, str]], dict]:
    """The crowd's answers to the sheets in tmp_path/sheets: one rater per batch, rating each
    case by a rule of its own and each check as expected, except the rater of batch
    ``failing`` (answers its check at the opposite extreme), of batch ``skipping`` (leaves out a
    case) and of batch ``okay`` (answers its check Okay, and is kept)."""
    manifest = json.loads((tmp_path / "sheets" / "manifest.json").read_text())
    rows = []
    for number, batch in enumerate(manifest["batches"]):
        rater = f"worker-{number}"
        cases = [item for item in batch if manifest["items"][item]["case"]]
        for item in batch:
            entry = manifest["items"][item]
            if entry["check"]:
                rating = entry["check"] if number != failing else ("good" if entry["check"] == "bad" else "bad")
                if number == okay:  # a rater of high standards: Okay on a check passes
                    rating = "okay"
            elif number == skipping and item == cases[0]:
                continue
            else:
                rating = str(1 + len(entry["case"]) % 3)  # any rule the test can compute again
            rows.append(
                {"item": item, "rater": rater, "rating": rating.title() if number % 2 else rating, "seconds": "12"}
            )
    return rows, manifest


def write_answers(path: Path, rows: list[dict[str, str]], columns=("item", "rater", "rating", "seconds")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_imported_ratings_are_the_crowd_s_without_the_raters_who_failed_a_check(tmp_path, corpus):
    assert export(tmp_path, "--seed", "5").returncode == 0
    rows, manifest = crowd_answers(tmp_path, failing=1, skipping=2, okay=3)
    write_answers(tmp_path / "answers.csv", rows)
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    kept = read_csv(tmp_path / "ratings.csv")
    expected = sorted(
        (
            manifest["items"][row["item"]]["case"],
            row["rater"],
            {"1": "bad", "2": "okay", "3": "good"}.get(row["rating"].lower(), row["rating"].lower()),
        )
        for row in rows
        if manifest["items"][row["item"]]["case"] and row["rater"] != "worker-1"
    )
    assert sorted((row["case"], row["rater"], row["rating"]) for row in kept) == expected
    assert all(row["seconds"] == "12" and row["emotion"] == row["case"].split("-")[0] for row in kept)
    # Self-describing: the answer each rating is of, and the export's design, in every row.
    assert list(kept[0]) == [
        "responder",
        "case",
        "emotion",
        "answer_sha256",
        "rater",
        "rating",
        "seconds",
        "corpus",
        "corpus_sha256",
        "sample",
        "seed",
    ]
    shown = {manifest["items"][row["item"]]["case"]: row["response"] for row in read_csv(tmp_path / "sheets/sheet.csv")}
    assert all(row["answer_sha256"] == sha256(shown[row["case"]]) for row in kept)
    design = {
        "corpus": "corpus",
        "corpus_sha256": sha256((tmp_path / "corpus.csv").read_bytes()),
        "sample": "",
        "seed": "5",
    }
    assert all(row.items() >= design.items() for row in kept)
    batches = manifest["batches"]
    cases = sum(1 for batch in batches for item in batch if manifest["items"][item]["case"])
    lost = sum(1 for item in batches[1] if manifest["items"][item]["case"]) + 1
    assert done.stdout == (
        f"{cases - lost} ratings of {cases - lost} cases by {len(batches) - 1} raters written to ratings.csv; "
        f"1 raters dropped for a failed or skipped attention check ({len(batches[1])} ratings); "
        f"0 repeated row(s) counted once; 1 batch(es) rated in part; {lost} case(s) without a rating\n"
    )


def ratings_file(path: Path, corpus: Path, ratings: list[tuple[str, str, str, str, str]]) -> Path:
    """A ratings file as 'crowd import' writes it, of an export of every case of ``corpus``:
    (responder, case, rater, rating, answer rated) per row."""
    design = {"corpus": corpus.stem, "corpus_sha256": sha256(corpus.read_bytes()), "sample": "", "seed": "0"}
    rows = [
        {
            "responder": responder,
            "case": case,
            "emotion": case.split("-")[0],
            "answer_sha256": sha256(answer),
            "rater": rater,
            "rating": rating,
            "seconds": "",
        }
        | design
        for responder, case, rater, rating, answer in ratings
    ]
    return write_answers(path, rows, columns=RATINGS_COLUMNS)


def flipped(rating: str) -> str:
    return "bad" if Rating.parse(rating) is Rating.GOOD else "good"


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda rows: rows.__setitem__(3, rows[3] | {"item": "i000000000000"}),
            "answers.csv, row 5: item 'i000000000000' is on none of the sheets of this manifest",
        ),
        (
            lambda rows: rows.__setitem__(0, rows[0] | {"rating": "great"}),
            "answers.csv, row 2: rating 'great' is not on the scale 1/2/3 or bad/okay/good",
        ),
        (
            lambda rows: rows.append(rows[4] | {"rating": flipped(rows[4]["rating"])}),
            "answers.csv, row *: rater 'worker-*' rated item * in row 6",
        ),
        (lambda rows: rows.__setitem__(2, rows[2] | {"rater": " "}), "answers.csv, row 4: no rater"),
        (
            lambda rows: rows[0].update(seconds="x" * 200_000),
            "answers.csv, row 2: malformed CSV (field larger than field limit (131072))",
        ),
        *(
            (lambda rows, value=value: rows[1].update(seconds=value), f"answers.csv, row 3: seconds {value!r} is not *")
            for value in ("soon", "-4", "inf")
        ),
    ],
)
def test_bad_returned_ratings_are_one_line_naming_the_row(tmp_path, corpus, damage, message):
    assert export(tmp_path).returncode == 0
    rows, _ = crowd_answers(tmp_path, failing=-1, skipping=-1)
    damage(rows)
    write_answers(tmp_path / "answers.csv", rows)
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert pytest.LineMatcher(done.stderr.splitlines()).fnmatch_lines([f"pytest-empathy: error: {message}"]) is None
    assert len(done.stderr.splitlines()) == 1 and not (tmp_path / "ratings.csv").exists()
    assert "Traceback" not in done.stderr


@pytest.mark.bad_input
def test_returned_ratings_without_a_column_or_a_manifest_are_refused(tmp_path, corpus):
    assert export(tmp_path).returncode == 0
    rows, _ = crowd_answers(tmp_path, failing=-1, skipping=-1)
    write_answers(tmp_path / "answers.csv", rows, columns=("item", "rating"))
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=tmp_path)
    assert done.returncode == 2 and "answers.csv: no column rater (it needs item, rater, rating" in done.stderr
    done = crowd("import", "answers.csv", "--manifest", "sheets/sheet.csv", "-o", "ratings.csv", cwd=tmp_path)
    assert done.returncode == 2 and "sheets/sheet.csv: not a manifest of crowd sheets" in done.stderr


@pytest.mark.bad_input
@pytest.mark.parametrize("schema", [1, 2])
def test_a_manifest_without_the_answers_hashes_is_refused(tmp_path, corpus, schema):
    """Schema 1, as an earlier export wrote it, or a manifest stripped of the hashes: the
    ratings could not be tied to the answers rated."""
    assert export(tmp_path).returncode == 0
    rows, manifest = crowd_answers(tmp_path, failing=-1, skipping=-1)
    write_answers(tmp_path / "answers.csv", rows)
    manifest["schema"] = schema
    for entry in manifest["items"].values():
        del entry["answer_sha256"]
    (tmp_path / "sheets" / "manifest.json").write_text(json.dumps(manifest))
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "pytest-empathy: error: sheets/manifest.json: written by an earlier 'crowd export' (no hashes of the "
        "answers rated): export again\n"
    )
    assert not (tmp_path / "ratings.csv").exists()


def judged_by_the_crowd(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A run of the answers of ``bot`` in corpus.csv, judged by the crowd's ratings.csv."""
    return pytester.runpytest(
        "--empathy-model=bot",
        "--empathy-judge=crowd:ratings.csv",
        "--empathy-corpus=corpus.csv",
        "--empathy-gate=off",
        "--empathy-report=report.json",
        "-p",
        "no:cacheprovider",
        *args,
    )


def test_export_crowd_answers_import_and_the_crowd_as_judge(pytester):
    """The round trip: sheets, a simulated crowd (a rater who fails a check and is replaced, a
    row sent twice), the import, and a run judged by the crowd's ratings, its statistics those
    of the ratings file."""
    write_corpus(pytester.path / "corpus.csv", synthetic_rows(per_emotion=12, emotions=EMOTIONS))
    assert export(pytester.path, "--seed", "11").returncode == 0
    rows, _ = crowd_answers(pytester.path, failing=1, skipping=-1)
    replacement, _ = crowd_answers(pytester.path, failing=-1, skipping=-1)
    rows += [row | {"rater": "worker-1b"} for row in replacement if row["rater"] == "worker-1"]
    rows.append(dict(rows[7]))
    write_answers(pytester.path / "answers.csv", rows)
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=pytester.path)
    assert done.returncode == 0, done.stderr
    assert "48 ratings of 48 cases by 20 raters" in done.stdout and "1 repeated row(s) counted once" in done.stdout

    result = judged_by_the_crowd(pytester, "-n", "2")
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=48)
    report = json.loads((pytester.path / "report.json").read_text())
    kept = read_csv(pytester.path / "ratings.csv")
    counts = Counter(row["rating"] for row in kept)
    assert report["overall"]["model"] == {label: counts[label] for label in ("bad", "okay", "good")}
    for emotion in EMOTIONS:
        mine = Counter(row["rating"] for row in kept if row["emotion"] == emotion)
        assert report["emotions"][emotion]["model"] == {label: mine[label] for label in ("bad", "okay", "good")}
    assert report["judge"] == "crowd:ratings.csv"
    assert report["overall"]["design_effect"]["raters"] == 20
    # Numbered, as a corpus's raters are: the platform's ids stay in the ratings file.
    assert {case["rater"] for case in report["cases"]} == {str(n) for n in range(1, 21)}


@pytest.mark.bad_input
def test_the_crowd_as_judge_of_another_responder_or_without_a_case_says_so(pytester):
    corpus = write_corpus(pytester.path / "corpus.csv", synthetic_rows(per_emotion=2, emotions=EMOTIONS))
    answer = "That sounds like a lot to carry, case 0."
    ratings_file(pytester.path / "other.csv", corpus, [("chatgpt", "afraid-afraid0", "w1", "good", answer)])
    ratings_file(pytester.path / "part.csv", corpus, [("bot", "afraid-afraid0", "w1", "good", answer)])
    base = ["--empathy-model=bot", "--empathy-corpus=corpus.csv", "--empathy-gate=off", "-p", "no:cacheprovider"]
    result = pytester.runpytest(*base, "--empathy-judge=crowd:other.csv")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --empathy-judge: *other.csv, row 2: the crowd rated answers of chatgpt, not of bot"]
    )
    result = pytester.runpytest(*base, "--empathy-judge=crowd:part.csv", "-k", "afraid")
    assert result.ret == 1
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*crowd:part.csv: the crowd rated no answer to case afraid-afraid1 (*part.csv)*"])


ANSWER = "That sounds hard; I am here for you."


def lenient_judge_and_strict_crowd(stub, pytester) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """64 cases; the judge rates three in four Good; the crowd rates 12 of each emotion's 16, two
    cases of different emotions a rater (24 raters), one in four Good."""
    write_corpus(pytester.path / "corpus.csv", synthetic_rows(per_emotion=16, emotions=EMOTIONS))
    judged = {f"{e}-{e}{i}": ("Good", "Good", "Good", "Okay")[i % 4] for e in EMOTIONS for i in range(16)}

    def answer(body):
        if not is_judge_request(body):
            return 200, {"content-type": "application/json"}, completion(ANSWER)
        emotion, case = re.search(r"feel (\w+) \(case (\d+)\)", body["messages"][0]["content"]).groups()
        return 200, {"content-type": "application/json"}, completion(judged[f"{emotion}-{emotion}{case}"])

    stub.answer_of = answer
    crowd_of = {
        f"{e}-{e}{i}": (("good", "okay", "bad", "bad")[i % 4], f"w{i + 12 * (k % 2)}")
        for k, e in enumerate(EMOTIONS)
        for i in range(12)
    }
    ratings_file(
        pytester.path / "crowd.csv",
        pytester.path / "corpus.csv",
        [("stub", case, rater, rating, ANSWER) for case, (rating, rater) in crowd_of.items()],
    )
    return judged, crowd_of


def test_a_judge_model_with_a_crowd_subset_gives_prediction_powered_estimates(stub, pytester):
    np = pytest.importorskip("numpy")
    from scipy.stats import t as student_t

    from pytest_empathy.analysis import ppi

    from .test_ppi import _by_hand

    judged, crowd_of = lenient_judge_and_strict_crowd(stub, pytester)
    assert len({rater for _, rater in crowd_of.values()}) == 24
    result = run(pytester, "--empathy-record=once", "--empathy-crowd=crowd.csv")
    assert result.ret == 0, result.stdout.str()[-2000:]
    report = read_report(pytester)
    found = report["prediction_powered"]
    assert found["not_estimated"] is None and found["crowd"] == 48 and found["judge_only"] == 16
    assert found["raters"] == 24 and found["outside_run"] == 0
    assert 0 < found["lam"] < 1  # the judge is informative and lenient: it is used, and corrected
    result.stdout.fnmatch_lines(
        [
            "on the crowd's scale by prediction-powered inference: Good *% [[]*%, *%] (95% CI)*48 crowd ratings by 24 "
            "raters and 16 judge-only cases*",
            "against the baseline on the crowd's scale: Good *% vs *%, * pts [[]*] (90% CI), one-sided p * with 23 df*",
        ]
    )
    # The estimate and its variance, computed here: each emotion weighted by its 16 of 64 cases;
    # the delete-one-rater jackknife written out.
    strata = []
    for emotion in EMOTIONS:
        cases = [case for case in judged if case.startswith(f"{emotion}-")]
        rated = [c for c in cases if c in crowd_of]
        strata.append(
            ppi.Stratum(
                np.array([[crowd_of[c][0] == "good"] for c in rated], dtype=float),
                np.array([[judged[c] == "Good"] for c in rated], dtype=float),
                np.array([[judged[c] == "Good"] for c in cases if c not in crowd_of], dtype=float),
                tuple(crowd_of[c][1] for c in rated),
            )
        )
    lam, variance, raters = _by_hand(strata)
    value = sum(0.25 * (lam * s.judged_only.mean() + (s.crowd - lam * s.judged).mean()) for s in strata)
    good = found["good"]
    assert found["lam"] == pytest.approx(lam, abs=1e-12)
    assert good["estimate"] == pytest.approx(value, abs=1e-12)
    assert good["standard_error"] == pytest.approx(float(np.sqrt(variance[0])), rel=1e-9)
    half = student_t.ppf(0.975, raters - 1) * np.sqrt(variance[0])
    assert good["interval"] == pytest.approx([value - half, value + half], abs=1e-12)
    # Against the baseline's counts (other prompts, independent): weighted alike, its variance
    # that of independent ratings within each emotion.
    versus = found["versus_baseline"]
    counts = {e: report["emotions"][e]["baseline"] for e in EMOTIONS}
    base = sum(0.25 * c["good"] / sum(c.values()) for c in counts.values())
    size = sum(sum(c.values()) for c in counts.values())
    base_variance = (
        size
        / (size - 1)
        * sum(
            0.25**2 * (c["good"] / sum(c.values())) * (1 - c["good"] / sum(c.values())) / (sum(c.values()) - 1)
            for c in counts.values()
        )
    )
    se = np.sqrt(variance[0] + base_variance)
    assert versus["baseline"] == pytest.approx(base, abs=1e-12)
    assert versus["standard_error"] == pytest.approx(se, rel=1e-9)
    assert versus["degrees_of_freedom"] == 23 and versus["paired"] is False and versus["baseline_raters"] is None
    assert versus["p_greater"] == pytest.approx(student_t.sf((value - base) / se, 23), rel=1e-9)


def test_the_gates_on_a_crowd_subset_decide_on_the_crowd_s_scale_where_the_judge_alone_would_pass(stub, pytester):
    """The judge rates three in four answers Good, the crowd one in four: against the crowd's
    baseline the judge alone says better; the crowd's scale says not."""
    lenient_judge_and_strict_crowd(stub, pytester)
    alone = run(pytester, "--empathy-record=once", "--empathy-gate=better")
    assert alone.ret == 0, alone.stdout.str()[-2000:]
    alone.stdout.fnmatch_lines(["PASSED better: mixed raters*better*"])
    powered = run(pytester, "--empathy-gate=better", "--empathy-crowd=crowd.csv")
    assert powered.ret == 1
    powered.stdout.fnmatch_lines(
        [
            "FAILED better: prediction-powered: the judge's ratings of every case corrected by a crowd's ratings of a "
            "random sample of them: on the crowd's scale, Good rate *% vs baseline *%: -* pts*; not shown better "
            "(one-sided t test, 23 df, p*, alpha 0.05)",
            "PASSED no-emotion-worse: prediction-powered*: on the judge's own ratings (prediction-powered inference "
            "covers the run*",
        ]
    )
    powered.stdout.fnmatch_lines(
        [
            "* no-more-bad: prediction-powered*: on the judge's own ratings (prediction-powered inference compares "
            "the Good rate with the baseline's, not the Bad rate): Bad rate *",
        ]
    )
    # Under the ordinal test better still decides on the crowd's scale's Good rate: its line says so.
    ordinal = run(pytester, "--empathy-gate=better", "--empathy-crowd=crowd.csv", "--empathy-test=ordinal")
    ordinal.stdout.fnmatch_lines(
        ["FAILED better: prediction-powered*; on the Good rate, not the ordinal test the run names: the crowd's *"]
    )
    # A merge of the shards cannot estimate it, and decides nothing on the crowd's scale.
    merged = cli("merge", "report.json", "-o", "merged.json", cwd=pytester.path)
    assert merged.returncode == 1, merged.stdout + merged.stderr
    gates = {g["name"]: g for g in json.loads((pytester.path / "merged.json").read_text())["gates"]}
    assert not gates["better"]["passed"]
    assert "not decided: no prediction-powered comparison (not estimated by a merge" in gates["better"]["detail"]


def test_the_release_workflow_records_exports_a_sample_imports_the_crowd_and_gates_on_its_scale(stub, pytester):
    """The crowd-study how-to's workflow end to end: record the model and the judge, export sheets of a
    random 12 of each emotion's 16 answers, a crowd rates them (24 raters, one failing a check),
    import, and the gates decide on the crowd's scale."""
    lenient_judge_and_strict_crowd(stub, pytester)
    assert run(pytester, "--empathy-record=once", "--empathy-csv=cases.csv").ret == 0
    done = crowd(
        "export",
        "--corpus",
        "corpus.csv",
        "--result",
        "report.json",
        "--sample",
        "12",
        "--seed",
        "4",
        "--batch-size",
        "3",
        "-o",
        "sheets",
        cwd=pytester.path,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((pytester.path / "sheets" / "manifest.json").read_text())
    rows = []
    for number, batch in enumerate(manifest["batches"]):
        for item in batch:
            entry = manifest["items"][item]
            if entry["check"]:
                rating = entry["check"] if number else {"bad": "good", "good": "bad"}[entry["check"]]
            else:
                rating = ("good", "okay", "bad", "bad")[int(entry["case"].rsplit(entry["emotion"], 1)[1]) % 4]
            rows.append({"item": item, "rater": f"worker-{number}", "rating": rating, "seconds": "9"})
    write_answers(pytester.path / "answers.csv", rows)
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=pytester.path)
    assert done.returncode == 0, done.stderr
    assert "46 ratings of 46 cases by 23 raters" in done.stdout and "1 raters dropped" in done.stdout
    result = run(pytester, "--empathy-gate=better", "--empathy-crowd=ratings.csv")
    assert result.ret == 1, result.stdout.str()[-2000:]
    found = read_report(pytester)["prediction_powered"]
    assert found["crowd"] == 46 and found["raters"] == 23 and found["judge_only"] == 18
    kept = read_csv(pytester.path / "ratings.csv")
    assert found["good"]["estimate"] < 0.5 < read_report(pytester)["overall"]["good_rate"]
    assert {row["case"] for row in kept} <= {c["id"] for c in read_report(pytester)["cases"]}
    result.stdout.fnmatch_lines(["FAILED better: prediction-powered*not shown better (one-sided t test, 22 df*"])


@pytest.mark.bad_input
def test_prediction_powered_estimates_need_a_judge_model_and_two_crowd_ratings_per_emotion(stub, pytester):
    answer = "That sounds really hard; I am here for you."
    ratings_file(
        pytester.path / "crowd.csv", pytester.path / "corpus.csv", [("stub", "afraid-afraid0", "w1", "good", answer)]
    )
    result = run(pytester, "--empathy-record=once", "--empathy-crowd=crowd.csv")
    assert result.ret == 0
    assert read_report(pytester)["prediction_powered"]["not_estimated"] == (
        "the crowd rated fewer than 2 of the run's cases of 4 emotion(s) (afraid, caring, joyful, sad); "
        "each emotion needs 2"
    )
    result = pytester.runpytest(
        "--empathy-model=stub",
        "--empathy-judge=crowd:crowd.csv",
        "--empathy-corpus=corpus.csv",
        "--empathy-crowd=crowd.csv",
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-crowd: the judge 'crowd:crowd.csv' is no model*"])
    result = run(pytester, "--empathy-crowd=crowd.csv", "--empathy-judge-correction")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-crowd: *--empathy-judge-correction would put them there*"])


# How each option takes a crowd's ratings file: as the judge, or beside a judge model for
# prediction-powered inference.
CROWD_OPTIONS = {
    "--empathy-judge": ["--empathy-judge=crowd:ratings.csv"],
    "--empathy-crowd": ["--empathy-judge=stub", "--empathy-baseline=human-raters", "--empathy-crowd=ratings.csv"],
}


def import_ratings(path: Path) -> list[dict[str, str]]:
    """The crowd's ratings of the sheets in ``path``/sheets, imported as ``path``/ratings.csv."""
    rows, _ = crowd_answers(path, failing=-1, skipping=-1)
    write_answers(path / "answers.csv", rows)
    done = crowd("import", "answers.csv", "--manifest", "sheets/manifest.json", "-o", "ratings.csv", cwd=path)
    assert done.returncode == 0, done.stderr
    return read_csv(path / "ratings.csv")


def damage(kind: str, path: Path, rows: list[dict[str, str]]) -> tuple[str, str]:
    """Damage the ratings file of one case per emotion drawn with seed 3 (``rows``) or its
    corpus, both in ``path``, as ``kind`` says: the corpus the run then reads, and what the
    refusal says after the file's name."""
    drawn = rows[0]["case"]
    undrawn = next(case for case in ("afraid-afraid0", "afraid-afraid1") if case != drawn)
    corpus, columns = "corpus.csv", RATINGS_COLUMNS
    match kind:
        case "earlier import":
            columns = ("responder", "case", "emotion", "rater", "rating", "seconds")
            refusal = (
                ": written by an earlier 'crowd import' (no design of the export, no hashes of the answers rated): "
                "import the crowd's ratings again"
            )
        case "two exports":
            rows[2]["seed"] = "4"
            refusal = ", row 4: seed '4', not '3' as in row 2: a ratings file holds the ratings of one export"
        case "another corpus":
            shutil.copy(path / "corpus.csv", path / "other.csv")
            corpus, refusal = "other.csv", ": the crowd rated answers to cases of corpus corpus, not other"
        case "changed corpus":
            before = sha256((path / "corpus.csv").read_bytes())
            changed = synthetic_rows(per_emotion=2, emotions=EMOTIONS)
            changed[-1]["situation"] = "Something else happened."
            after = sha256(write_corpus(path / "corpus.csv", changed).read_bytes())
            refusal = (
                f": corpus corpus changed since the export (sha256 {before[:12]} then, {after[:12]} now): "
                "export and rate again"
            )
        case "unknown case":
            rows[0]["case"] = "afraid-nowhere"
            refusal = ": case afraid-nowhere is not a case of corpus corpus"
        case "another emotion":
            rows[0]["emotion"] = "sad"
            refusal = f": case {drawn} is of emotion afraid in corpus corpus, not sad"
        case "outside the sample":
            rows[0]["case"] = undrawn
            refusal = (
                f": case {undrawn} is not among the 1 per emotion 'crowd export' drew with seed 3: the ratings are "
                "then not of the random sample the export drew, which prediction-powered inference needs"
            )
    write_answers(path / "ratings.csv", rows, columns=columns)
    return corpus, refusal


@pytest.mark.bad_input
@pytest.mark.parametrize("option", list(CROWD_OPTIONS))
@pytest.mark.parametrize(
    "kind",
    [
        "earlier import",
        "two exports",
        "another corpus",
        "changed corpus",
        "unknown case",
        "another emotion",
        "outside the sample",
    ],
)
def test_ratings_not_of_the_cases_the_export_drew_are_refused_naming_the_file(stub, pytester, option, kind):
    assert export(pytester.path, "--sample", "1", "--seed", "3").returncode == 0
    corpus, refusal = damage(kind, pytester.path, import_ratings(pytester.path))
    result = pytester.runpytest(
        "--empathy-model=bot",
        f"--empathy-corpus={corpus}",
        "--empathy-gate=off",
        "-p",
        "no:cacheprovider",
        *CROWD_OPTIONS[option],
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {option}: {pytester.path / 'ratings.csv'}{refusal}"])


def test_the_ratings_of_a_sample_judge_a_run_of_the_cases_the_export_drew(pytester):
    write_corpus(pytester.path / "corpus.csv", synthetic_rows(per_emotion=12, emotions=EMOTIONS))
    assert export(pytester.path, "--sample", "3", "--seed", "7").returncode == 0
    kept = import_ratings(pytester.path)
    assert {row["sample"] for row in kept} == {"3"} and {row["seed"] for row in kept} == {"7"}
    result = pytester.runpytest(
        "--empathy-model=bot",
        "--empathy-judge=crowd:ratings.csv",
        "--empathy-corpus=corpus.csv",
        "--empathy-sample=3",
        "--empathy-seed=7",
        "--empathy-gate=off",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == 0, result.stdout.str()[-2000:]
    result.assert_outcomes(passed=12)


@pytest.mark.bad_input
@pytest.mark.parametrize("option", list(CROWD_OPTIONS))
def test_a_case_whose_answer_changed_since_the_export_fails_saying_so(stub, pytester, option):
    """The crowd rated the answers of a run; one case is recorded anew with another answer:
    the crowd's rating is not of it, as the judge or for prediction-powered inference."""
    assert run(pytester, "--empathy-record=once", "--empathy-csv=cases.csv").ret == 0
    done = crowd("export", "--corpus", "corpus.csv", "--result", "report.json", "-o", "sheets", cwd=pytester.path)
    assert done.returncode == 0, done.stderr
    import_ratings(pytester.path)
    rated, changed = "That sounds really hard; I am here for you.", "Cheer up."
    asks_for_it = answer_of("afraid-afraid0")
    stub.answer_of = lambda body: (
        (200, {"content-type": "application/json"}, completion(changed)) if asks_for_it(body) else default_answer(body)
    )
    stub_cassette(pytester, "afraid-afraid0").unlink()
    result = pytester.runpytest(
        "--empathy-model=stub",
        "--empathy-corpus=corpus.csv",
        "--empathy-record=once",
        "--empathy-gate=off",
        "-p",
        "no:cacheprovider",
        *CROWD_OPTIONS[option],
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(
        [
            f"*{pytester.path / 'ratings.csv'}: the crowd rated another answer to case afraid-afraid0 "
            f"(sha256 {sha256(rated)[:12]}) than this run's (sha256 {sha256(changed)[:12]}): the answers changed "
            "since the export; export and rate again, or replay the cassettes the export was made from"
        ]
    )
    # Asking the judge again would not help: the run does not suggest it.
    assert "ask it again" not in result.stdout.str()


def test_the_export_says_what_it_did_within_the_terminal_s_width(tmp_path, corpus, monkeypatch):
    """Wrapped at 80 columns, word for word what a wide terminal reads on one line each."""
    wide = [export(tmp_path, *args, out="wide").stdout for args in [(), ("--sample", "1")]]
    monkeypatch.setenv("COLUMNS", "80")
    for args, whole in zip([(), ("--sample", "1")], wide, strict=True):
        done = export(tmp_path, *args)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert max(map(len, lines)) <= 80 and len(lines) > len(whole.splitlines()) == 2
        said = [line.strip() for line in lines]
        assert " ".join(said).replace("sheets/", "wide/") == " ".join(whole.split("\n")).strip()


def test_an_export_removes_the_batch_files_of_an_earlier_one_and_nothing_else(tmp_path, corpus):
    """Fewer batches than last time: the earlier export's extra batch-NNN.csv would be taken for
    part of this one (its manifest, which knew them, is replaced). They go, with a line saying
    how many; files of other names, and a folder of that name, stay."""
    assert export(tmp_path, "--per-batch").returncode == 0
    sheets = tmp_path / "sheets"
    before = len(list(sheets.glob("batch-*.csv")))
    kept = ["notes.txt", "batch-001.txt", "batch-01.csv", "batch-0001.csv.bak", "my-batch-002.csv"]
    for name in kept:
        (sheets / name).write_text("not the export's\n")
    (sheets / "batch-999.csv").mkdir()
    done = export(tmp_path, "--per-batch", "--sample", "1")
    assert done.returncode == 0, done.stderr
    batches = len(json.loads((sheets / "manifest.json").read_text())["batches"])
    assert 0 < batches < before
    assert sorted(p.name for p in sheets.glob("batch-*.csv") if p.is_file() and p.name not in kept) == [
        f"batch-{n:03d}.csv" for n in range(1, batches + 1)
    ]
    assert done.stdout.splitlines()[-1] == (
        f"removed {before - batches} batch file(s) of an earlier export that this one does not have: "
        f"batch-{batches + 1:03d}.csv, ..., batch-{before:03d}.csv"
    )
    assert all((sheets / name).read_text() == "not the export's\n" for name in kept)
    assert (sheets / "batch-999.csv").is_dir()
    # Without --per-batch, no batch file is this export's.
    done = export(tmp_path, "--sample", "1")
    assert done.returncode == 0 and f"removed {batches} batch file(s)" in done.stdout
    assert sorted(p.name for p in sheets.iterdir()) == sorted([*kept, "batch-999.csv", "manifest.json", "sheet.csv"])
    # And nothing to remove, nothing said.
    done = export(tmp_path, "--sample", "1")
    assert done.returncode == 0 and "removed" not in done.stdout
