"""Calibrating a judge model against the crowd: the run, its cassettes, its file, and what
later runs with that judge say; with stub judges of known behaviour behind a real HTTP
server and the openai client."""

from __future__ import annotations

import html
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from pytest_empathy.emotions import EMOTIONS
from pytest_empathy.formatting import agreement
from pytest_empathy.ratings import Rating
from pytest_empathy.reports.markdown import escape

from .conftest import read_report, write_corpus
from .stub_server import Answer, completion, default_answer, is_judge_request

SOURCES = ("human", "chatgpt", "chatgpt-empathy")
MARK = re.compile(r"<<([a-z-]+)\|([a-z0-9]+)>>")
CALIBRATION = Path("benchmarks/calibrations/stub.json")


def calibration_corpus(path: Path, per_emotion: int, seed: int = 7) -> dict[tuple[str, str], int]:
    """A corpus written for these tests, every source's response marked with its source and
    row, crowd ratings drawn from a seeded generator; returns them by (source, row id)."""
    rng = random.Random(seed)
    crowd: dict[tuple[str, str], int] = {}
    rows = []
    for emotion in EMOTIONS:
        for i in range(per_emotion):
            row: dict[str, object] = {
                "id": f"{emotion}{i}",
                "emotion": emotion,
                "situation": f"A day that left me {emotion} (row {i}).",
                "utterance": f"I cannot stop thinking about it ({i}).",
            }
            for source in SOURCES:
                crowd[source, f"{emotion}{i}"] = rating = rng.choice((1, 2, 2, 3, 3))
                row[f"response_{source}"] = f"<<{source}|{emotion}{i}>> That sounds hard."
                row[f"rating_{source}"] = rating
            rows.append(row)
    write_corpus(path, rows)
    return crowd


def judging(rate: Callable[[str, int, str], int], crowd: dict[tuple[str, str], int]) -> Callable[..., Answer]:
    """A stub judge: ``rate(source, crowd rating, row id)`` for the marked response it is shown."""

    def answer(body: dict[str, Any]) -> Answer:
        marked = MARK.search(body["messages"][0]["content"])
        if not is_judge_request(body) or marked is None:
            # A benchmark run's own model answer, and the judge's rating of it.
            return default_answer(body)
        source, row_id = marked.groups()
        label = Rating(rate(source, crowd[source, row_id], row_id)).label
        return 200, {"content-type": "application/json"}, completion(json.dumps({"rating": label}))

    return answer


def calibrate(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "--empathy-judge=stub",
        "--empathy-calibrate",
        "--empathy-corpus=calibration.csv",
        "-p",
        "no:cacheprovider",
        *args,
    )


def corrected(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """A benchmark judged by the stub, its gates decided on the crowd's scale."""
    return pytester.runpytest(
        "--empathy-judge=stub",
        "--empathy-corpus=calibration.csv",
        "--empathy-record=once",
        "--empathy-judge-correction",
        "--empathy-report=report.json",
        "-p",
        "no:cacheprovider",
        *args,
    )


def saved(pytester: pytest.Pytester) -> dict[str, Any]:
    return json.loads((pytester.path / CALIBRATION).read_text())


def pairs_from_cassettes(root: Path, crowd: dict[tuple[str, str], int]) -> list[tuple[str, int, int]]:
    """(source, crowd, judge) of every calibration cassette, read straight from the files."""
    found = []
    for path in sorted(root.glob("*/*.json")):
        interactions = json.loads(path.read_text())["interactions"]
        answer = json.loads(interactions[-1]["response"]["body"]["string"])["choices"][0]["message"]["content"]
        source, row_id = MARK.search(json.loads(interactions[-1]["request"]["body"])["messages"][0]["content"]).groups()
        found.append((source, crowd[source, row_id], int(Rating.parse(json.loads(answer)["rating"]))))
    return found


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_a_judge_that_copies_the_crowd_agrees_fully_recorded_and_replayed(stub, pytester, workers):
    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=1)
    stub.answer_of = judging(lambda source, rating, row: rating, crowd)
    recorded = calibrate(pytester, "--empathy-record=once", *workers)
    assert recorded.ret == 0, recorded.stdout.str()
    recorded.assert_outcomes(passed=3 * len(EMOTIONS))
    found = saved(pytester)
    overall = found["overall"]
    assert (overall["n"], overall["exact"], overall["kappa_linear"], overall["alpha_ordinal"]) == (96, 1, 1, 1)
    assert found["source_bias"]["value"] == 0
    assert found["judge"]["profile"] == "stub" and found["judge"]["model"] == "stub-model"
    recorded.stdout.fnmatch_lines(["*calibrating judge stub against the crowd*96 crowd-rated responses*", "*saved*"])
    cassettes = pytester.path / "cassettes/stub/calibration"
    assert len(list(cassettes.glob("*/*.json"))) == 96
    assert (cassettes / "afraid" / "afraid-chatgpt-empathy.afraid0.json").is_file()

    # Offline: the server forgets everything, the cassettes answer.
    stub.answer_of = lambda body: (500, {}, b"the stub is gone")
    (pytester.path / CALIBRATION).unlink()
    replayed = calibrate(pytester, *workers)
    assert replayed.ret == 0, replayed.stdout.str()
    again = saved(pytester)
    assert {k: v for k, v in again.items() if k != "created"} == {k: v for k, v in found.items() if k != "created"}


def test_a_judge_that_rates_llm_answers_a_level_up_shows_a_source_bias_of_that_size(stub, pytester):
    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=2)
    stub.answer_of = judging(lambda source, rating, row: rating if source == "human" else min(rating + 1, 3), crowd)
    result = calibrate(pytester, "--empathy-record=once")
    assert result.ret == 0, result.stdout.str()
    bias = saved(pytester)["source_bias"]
    # The injected shift: one level on every LLM response the scale lets rise.
    llm = [rating for (source, _), rating in crowd.items() if source != "human"]
    injected = sum(rating < 3 for rating in llm) / len(llm)
    assert bias["value"] == pytest.approx(injected, abs=1e-12)
    assert bias["interval"][0] < injected < bias["interval"][1] and bias["interval"][0] > 0
    assert saved(pytester)["sources"]["human"]["kappa_quadratic"] == 1
    result.stdout.fnmatch_lines(
        [f"source bias (mean shift on LLM-written responses minus on human ones): +{injected:.3f}*"]
    )


def test_a_random_judge_agrees_no_better_than_chance(stub, pytester):
    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=3)
    stub.answer_of = judging(lambda source, rating, row: random.Random(f"{source}{row}").randint(1, 3), crowd)
    assert calibrate(pytester, "--empathy-record=once").ret == 0
    overall = saved(pytester)["overall"]
    low, high = overall["intervals"]["alpha_ordinal"]
    assert abs(overall["alpha_ordinal"]) < 0.15 and low < 0 < high


def test_the_printed_figures_are_an_independent_computation_from_the_cassettes(stub, pytester):
    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=2)
    stub.answer_of = judging(lambda source, rating, row: random.Random(row + source).choice((rating, 2, 3)), crowd)
    result = calibrate(pytester, "--empathy-record=once")
    assert result.ret == 0
    pairs = pairs_from_cassettes(pytester.path / "cassettes/stub/calibration", crowd)
    found = saved(pytester)
    for source in (None, *SOURCES):
        chosen = [(c, j) for s, c, j in pairs if source in (None, s)]
        crowd_side, judge_side = ([p[k] for p in chosen] for k in (0, 1))
        entry = found["overall"] if source is None else found["sources"][source]
        table = np.zeros((3, 3), dtype=int)
        for c, j in chosen:
            table[c - 1, j - 1] += 1
        assert entry["confusion"] == table.tolist()
        for weights in ("linear", "quadratic"):
            expected = cohen_kappa_score(crowd_side, judge_side, weights=weights)
            assert entry[f"kappa_{weights}"] == pytest.approx(expected, abs=1e-9)
        alpha = krippendorff.alpha(reliability_data=[crowd_side, judge_side], level_of_measurement="ordinal")
        assert entry["alpha_ordinal"] == pytest.approx(alpha, abs=1e-9)
    shift = {s: np.mean([j - c for t, c, j in pairs if t == s]) for s in SOURCES}
    llm = np.mean([j - c for t, c, j in pairs if t != "human"])
    assert found["source_bias"]["value"] == pytest.approx(llm - shift["human"], abs=1e-12)
    overall = found["overall"]
    result.stdout.fnmatch_lines(
        [
            f"overall*{len(pairs)}*{100 * overall['exact']:.1f}%*{overall['kappa_linear']:.3f}*"
            f"{overall['kappa_quadratic']:.3f}*{overall['alpha_ordinal']:.3f}*",
            "confusion matrices*",
            "  overall *" + "*|*".join("*".join(str(c) for c in row) for row in overall["confusion"]),
        ]
    )


# A benchmark run of the calibration corpus with the calibrated judge, writing every report.
BENCHMARK_WITH_THE_JUDGE = (
    "--empathy-model=stub",
    "--empathy-judge=stub",
    "--empathy-corpus=calibration.csv",
    "--empathy-record=once",
    "--empathy-gate=off",
    "--empathy-report=report.json",
    "--empathy-markdown=summary.md",
    "--empathy-html=report.html",
    "-p",
    "no:cacheprovider",
)


def test_later_runs_name_the_calibration_in_force_and_gate_on_it(stub, pytester):
    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=1)
    stub.answer_of = judging(lambda source, rating, row: rating, crowd)
    assert calibrate(pytester, "--empathy-record=once").ret == 0
    benchmark = BENCHMARK_WITH_THE_JUDGE
    result = pytester.runpytest(*benchmark, "--empathy-judge-min-agreement=0.8")
    assert result.ret == 0, result.stdout.str()
    report = read_report(pytester)
    standing = report["judge_standing"]
    assert standing.startswith("measured: good agreement with the crowd, Krippendorff's alpha (ordinal) 1.000")
    assert report["judge_calibration"]["path"] == str(CALIBRATION) and report["judge_calibration"]["stale"] is None
    result.stdout.fnmatch_lines(["empathy: judge stub: measured: good agreement*", "*judge-agreement*1.000 >= 0.8*"])
    assert not any("agree poorly" in warning for warning in report["warnings"])
    assert escape(standing) in (pytester.path / "summary.md").read_text()
    assert html.escape(standing) in (pytester.path / "report.html").read_text()
    # The calibration cassettes are the judge's, not unused cassettes of the model stub.
    assert report["unused_cassettes"]["count"] == 0

    # A changed rubric makes the calibration stale: the judge is uncalibrated again, and the gate fails.
    rubric = pytester.path / "rubric.txt"
    rubric.write_text("Rate how empathetic the reply is: Bad, Okay or Good.\n{situation}\n{utterance}\n{response}\n")
    stale = pytester.runpytest(*benchmark, "--empathy-judge-template=rubric.txt", "--empathy-judge-min-agreement=0.8")
    assert stale.ret == 1
    report = read_report(pytester)
    assert report["judge_standing"].startswith(f"stale calibration: {CALIBRATION} was measured for another rubric")
    assert "uncalibrated judge" in report["judge_standing"]
    gate = next(g for g in report["gates"] if g["name"] == "judge-agreement")
    assert not gate["passed"] and "stale calibration" in gate["detail"]


def test_a_constant_judges_kappa_is_undefined_and_every_output_says_why(stub, pytester):
    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=1)
    stub.answer_of = judging(lambda source, rating, row: 3, crowd)
    result = calibrate(pytester, "--empathy-record=once")
    assert result.ret == 0, result.stdout.str()
    overall = saved(pytester)["overall"]
    assert overall["kappa_quadratic"] is None and overall["intervals"]["kappa_quadratic"] is None
    reason = overall["undefined"]["kappa_quadratic"]
    assert reason.startswith("the judge rated every response Good")
    result.stdout.fnmatch_lines([f"kappa linear, kappa quadratic undefined in overall, chatgpt, *human: {reason}"])
    assert "0.000 [0.000, 0.000]" not in result.stdout.str()
    later = pytester.runpytest(*BENCHMARK_WITH_THE_JUDGE)
    report = read_report(pytester)
    assert f"quadratic kappa undefined ({reason})" in report["judge_standing"]
    assert report["judge_calibration"]["kappa_quadratic"] is None
    assert report["judge_calibration"]["undefined"]["kappa_quadratic"] == reason
    later.stdout.fnmatch_lines([f"*quadratic kappa undefined ({reason})*"])
    assert escape(report["judge_standing"]) in (pytester.path / "summary.md").read_text()
    assert html.escape(report["judge_standing"]) in (pytester.path / "report.html").read_text()


def test_a_judge_that_disagrees_with_the_crowd_is_named_poor_everywhere_and_the_run_warns(stub, pytester):
    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=1)
    # The judge turns every rating around: Bad for Good, Good for Bad.
    stub.answer_of = judging(lambda source, rating, row: 4 - rating, crowd)
    assert calibrate(pytester, "--empathy-record=once").ret == 0
    pairs = [(rating, 4 - rating) for rating in crowd.values()]
    alpha = krippendorff.alpha(reliability_data=np.array(pairs).T, level_of_measurement="ordinal")
    assert alpha < 0.667
    result = pytester.runpytest(*BENCHMARK_WITH_THE_JUDGE)
    report = read_report(pytester)
    standing = report["judge_standing"]
    assert standing.startswith(
        f"measured: poor agreement with the crowd, Krippendorff's alpha (ordinal) {alpha:.3f} ["
    ), standing
    result.stdout.fnmatch_lines([f"judge stub: {standing}"])
    assert escape(standing) in (pytester.path / "summary.md").read_text()
    assert html.escape(standing) in (pytester.path / "report.html").read_text()
    (warning,) = [w for w in report["warnings"] if "agree poorly" in w]
    assert f"Krippendorff's alpha (ordinal) {alpha:.3f}, below the 0.667" in warning
    result.stdout.fnmatch_lines([f"WARNING {warning}"])


@pytest.mark.parametrize(
    ("alpha", "band"),
    [(1.0, "good"), (0.8, "good"), (0.7999, "tentative"), (0.667, "tentative"), (0.6669, "poor"), (-0.717, "poor")],
)
def test_agreement_is_read_in_krippendorffs_bands(alpha, band):
    assert agreement(alpha) == f"{band} agreement"
    assert agreement(None) == "undefined agreement"


def test_a_changed_rubric_fails_the_calibrations_cases_and_says_once_what_to_record(stub, pytester):
    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=1)
    stub.answer_of = judging(lambda source, rating, row: rating, crowd)
    assert calibrate(pytester, "--empathy-record=once").ret == 0
    saved = (pytester.path / CALIBRATION).read_text()
    rubric = pytester.path / "rubric.txt"
    rubric.write_text("Rate the reply, Bad, Okay or Good.\n{situation}\n{utterance}\n{response}\n")
    result = calibrate(pytester, f"--empathy-judge-template={rubric}")
    assert result.ret == 1
    result.assert_outcomes(failed=96)
    (line,) = [line for line in result.stdout.lines if "need (re-)recording" in line]
    assert line == (
        "96 of 96 cases need (re-)recording, 96 because a template changed since their cassettes were recorded. "
        "Record exactly those (the rest is left untouched) with: pytest --empathy-calibrate --empathy-judge=stub "
        "--empathy-corpus=calibration.csv --empathy-judge-template=rubric.txt --empathy-record=new_episodes"
    )
    result.stdout.fnmatch_lines(["stub: no recording of this call: the judge template changed since the cassette*"])
    assert (pytester.path / CALIBRATION).read_text() == saved


def test_a_calibration_of_part_of_the_responses_is_not_measured_or_saved(stub, pytester):
    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=1)
    stub.answer_of = judging(lambda source, rating, row: rating, crowd)
    result = calibrate(pytester, "--empathy-record=once", "-k", "afraid")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*calibration not measured: the judge rated 3 of 96 selected responses*unchanged*"])
    assert not (pytester.path / CALIBRATION).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "*--empathy-calibrate: name the judge model to calibrate with --empathy-judge*"),
        (["--empathy-judge=stub", "--empathy-model=stub"], "*--empathy-calibrate: *drop --empathy-model*"),
        (["--empathy-judge=human"], "*--empathy-calibrate: name the judge model*"),
    ],
)
@pytest.mark.bad_input
def test_a_calibration_names_what_it_cannot_use(stub, pytester, args, message):
    calibration_corpus(pytester.path / "calibration.csv", per_emotion=1)
    result = pytester.runpytest("--empathy-calibrate", "--empathy-corpus=calibration.csv", *args)
    assert result.ret == 4
    result.stderr.fnmatch_lines([message])


@pytest.mark.bad_input
def test_a_corpus_without_rated_llm_responses_cannot_calibrate(stub, pytester):
    result = calibrate(pytester, "--empathy-corpus=corpus.csv")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*needs crowd-rated human responses and at least one other crowd-rated source*"])


@pytest.mark.bad_input
def test_a_damaged_calibration_file_is_named(stub, pytester):
    calibration_corpus(pytester.path / "calibration.csv", per_emotion=1)
    (pytester.path / "benchmarks/calibrations").mkdir(parents=True)
    (pytester.path / CALIBRATION).write_text("{ not json")
    result = pytester.runpytest("--empathy-model=stub", "--empathy-judge=stub", "--empathy-corpus=calibration.csv")
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"*--empathy-calibration: *{CALIBRATION}: not a readable judge calibration*"])


def release_ratings(release: Path) -> dict[tuple[str, str], int]:
    """The crowd's rating of each (source, dialog id) in the release file, read with pandas."""
    import pandas as pd

    frame = pd.read_csv(release)
    return {
        (source, dialog): int(rating)
        for source in SOURCES
        for dialog, rating in zip(frame["dialog_id"], frame[f"rating_{source.replace('-', '_')}"], strict=True)
    }


def test_the_shipped_smollm2_calibration_replays_offline_to_an_independent_computation(release_file, pytester):
    repository = Path(__file__).parents[1]
    cassettes = repository / "cassettes" / "smollm2-135m" / "calibration"
    committed = json.loads((repository / "benchmarks/calibrations/smollm2-135m.json").read_text())
    pytester.makepyfile(test_empathy=(repository / "benchmarks/test_empathy.py").read_text())
    result = pytester.runpytest(
        "--empathy-judge=smollm2-135m",
        "--empathy-calibrate",
        "--empathy-sample=2",
        f"--empathy-corpus-text={release_file}",
        f"--empathy-cassettes={repository / 'cassettes'}",
        "--empathy-calibration=replayed.json",
        "-p",
        "no:cacheprovider",
        "-n",
        "2",
    )
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=192)
    replayed = json.loads((pytester.path / "replayed.json").read_text())
    assert {k: v for k, v in replayed.items() if k != "created"} == {
        k: v for k, v in committed.items() if k != "created"
    }

    # From the files alone: the judge's answer in each cassette, the crowd's rating in the release.
    crowd = release_ratings(release_file)
    pairs = []
    for path in sorted(cassettes.glob("*/*.json")):
        source, dialog = path.stem.split("-", 1)[1].split(".", 1)
        answer = json.loads(path.read_text())["interactions"][-1]["response"]["body"]["string"]
        label = json.loads(json.loads(answer)["choices"][0]["message"]["content"])["rating"]
        pairs.append((source, crowd[source, dialog], int(Rating.parse(label))))
    assert len(pairs) == 192 and {s for s, _, _ in pairs} == set(SOURCES)
    crowd_side, judge_side = [c for _, c, _ in pairs], [j for _, _, j in pairs]
    overall = replayed["overall"]
    table = np.zeros((3, 3), dtype=int)
    for c, j in zip(crowd_side, judge_side, strict=True):
        table[c - 1, j - 1] += 1
    assert overall["confusion"] == table.tolist()
    # The judge answers Bad throughout: scikit-learn's kappa is 0 by construction, undefined here.
    assert set(judge_side) == {1} and cohen_kappa_score(crowd_side, judge_side, weights="quadratic") == 0
    assert overall["kappa_quadratic"] is None and overall["intervals"]["kappa_quadratic"] is None
    assert overall["undefined"]["kappa_quadratic"].startswith("the judge rated every response Bad")
    alpha = krippendorff.alpha(reliability_data=[crowd_side, judge_side], level_of_measurement="ordinal")
    assert overall["alpha_ordinal"] == pytest.approx(alpha, abs=1e-9)
    shift = {s: np.mean([j - c for t, c, j in pairs if t == s]) for s in SOURCES}
    llm = np.mean([j - c for t, c, j in pairs if t != "human"])
    assert replayed["source_bias"]["value"] == pytest.approx(llm - shift["human"], abs=1e-12)
    result.stdout.fnmatch_lines(
        [
            f"overall*192*{100 * overall['exact']:.1f}%*{overall['alpha_ordinal']:.3f}*",
            "  overall *" + "*|*".join("*".join(str(c) for c in row) for row in table.tolist()),
            f"measured: poor agreement with the crowd, Krippendorff's alpha (ordinal) {alpha:.3f} [[]*",
            f"source bias*{replayed['source_bias']['value']:+.3f}*",
        ]
    )


def test_the_shipped_calibration_cassettes_quote_nothing_of_the_release(release_file):
    """The release's text may not be passed on: its cassettes keep request hashes only."""
    import pandas as pd

    cassettes = Path(__file__).parents[1] / "cassettes" / "smollm2-135m" / "calibration"
    text = "\n".join(path.read_text() for path in cassettes.glob("*/*.json"))
    frame = pd.read_csv(release_file)
    used = {path.stem.split(".", 1)[1] for path in cassettes.glob("*/*.json")}
    rows = frame[frame["dialog_id"].isin(used)]
    assert len(rows) == 64
    columns = ["situation", "speaker_uttr", "response_human", "response_chatgpt", "response_chatgpt_empathy"]
    quoted = [s for column in columns for s in rows[column] if isinstance(s, str) and s.strip()[:40] in text]
    assert quoted == []


def test_a_judge_of_known_errors_is_corrected_onto_the_crowds_scale(stub, pytester):
    from .test_correction import ERRORS, optimum

    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=4)
    rows = sorted({row for _, row in crowd})
    truth = {row: random.Random(f"truth:{row}").choices((1, 2, 3), (0.1, 0.3, 0.6))[0] for row in rows}
    crowd |= {("model", row): rating for row, rating in truth.items()}

    def erring(source: str, rating: int, row: str) -> int:
        return random.Random(f"{source}{row}").choices((1, 2, 3), ERRORS[rating - 1])[0]

    judge = judging(erring, crowd)

    def answer(body: dict[str, Any]) -> Answer:
        if is_judge_request(body):
            return judge(body)
        emotion, i = re.search(r"left me ([a-z]+) \(row (\d+)\)", body["messages"][0]["content"]).groups()
        return 200, {"content-type": "application/json"}, completion(f"<<model|{emotion}{i}>> I hear you.")

    stub.answer_of = answer
    assert calibrate(pytester, "--empathy-record=once").ret == 0
    result = corrected(pytester, "--empathy-model=stub", "--empathy-alpha=0.005")
    report = read_report(pytester)
    correction = report["judge_correction"]
    assert correction["decides"] and not correction["assumption"]["rejected"], result.stdout.str()
    overall = correction["groups"]["overall"]
    low, high = overall["good_rate_ci"]
    # One run of 128 cases: its 99% interval holds the crowd's truth (coverage over many
    # seeded runs is checked in test_correction).
    assert low <= np.mean([r == 3 for r in truth.values()]) <= high
    assert overall["baseline_corrected"]
    # The point estimate is the maximum likelihood: scipy's optimizer on the calibration's errors.
    pairs = np.array([p for scores in saved(pytester)["pairs"].values() for p in scores])
    counts = np.zeros((3, 3))
    np.add.at(counts, (pairs[:, 0] - 1, pairs[:, 1] - 1), 1)
    judged = np.bincount([Rating.parse(c["rating"]) for c in report["cases"]], minlength=4)[1:]
    expected = optimum(judged.astype(float), counts / counts.sum(axis=1, keepdims=True))
    assert [overall["model"][k] for k in ("bad", "okay", "good")] == pytest.approx(expected, abs=1e-5)
    assert report["mixed_raters"] is None
    assert all(g["detail"].startswith("calibrated: ") for g in report["gates"])
    better = next(g for g in report["gates"] if g["name"] == "better")
    assert "on the crowd's scale, Good rate" in better["detail"]
    # The correction gives no interval of the Bad rate's difference: no-more-bad says where it stays.
    no_more_bad = next(g for g in report["gates"] if g["name"] == "no-more-bad")
    assert no_more_bad["detail"].startswith(
        "calibrated: the judge's ratings corrected onto the crowd's scale by its calibration: on the judge's own "
        "ratings (the correction gives the Good rate's difference an interval, not the Bad rate's): Bad rate "
    )
    result.stdout.fnmatch_lines(["empathy: CALIBRATED*", "on the crowd's scale, overall: model B/O/G*"])


def test_a_correction_needs_a_calibration_in_force(stub, pytester):
    calibration_corpus(pytester.path / "calibration.csv", per_emotion=1)
    result = pytester.runpytest(
        "--empathy-model=stub", "--empathy-judge=stub", "--empathy-corpus=calibration.csv", "--empathy-judge-correction"
    )
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--empathy-judge-correction: needs a calibration in force for the judge 'stub'*"])


def test_gates_on_the_crowds_scale_fail_undecided_when_the_judge_errs_by_source(stub, pytester):
    from .test_correction import ERRORS

    crowd = calibration_corpus(pytester.path / "calibration.csv", per_emotion=3)

    # Kinder to LLM-written answers the crowd found Okay: half of them become Good.
    kinder = np.array([ERRORS[0], [0.05, 0.45, 0.5], ERRORS[2]])

    def erring(source: str, rating: int, row: str) -> int:
        errors = ERRORS if source == "human" else kinder
        return random.Random(f"{source}{row}").choices((1, 2, 3), errors[rating - 1])[0]

    stub.answer_of = judging(erring, crowd)
    assert calibrate(pytester, "--empathy-record=once").ret == 0
    result = corrected(pytester, "--empathy-model=chatgpt")
    assert result.ret == 1, result.stderr.str()
    report = read_report(pytester)
    assert report["judge_correction"]["assumption"]["rejected"]
    better = next(g for g in report["gates"] if g["name"] == "better")
    assert (
        not better["passed"] and "not decided: the calibration rejects the correction's assumption" in better["detail"]
    )
    result.stdout.fnmatch_lines(["THE CORRECTION'S ASSUMPTION IS REJECTED*"])
