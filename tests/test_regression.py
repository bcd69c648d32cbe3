"""Saved runs, comparison with them, and the cassettes a template change or a full run leaves."""

from __future__ import annotations

import json

import pytest

from pytest_empathy.results.document import SCHEMA

from .conftest import BENCHMARK, llama_servers_of, read_report, run

USAGE_ERROR = pytest.ExitCode.USAGE_ERROR


def saved(pytester: pytest.Pytester, name: str) -> dict:
    return json.loads((pytester.path / "benchmarks" / "saved-runs" / f"{name}.json").read_text())


def test_a_saved_run_compared_with_itself_passes(run_benchmark, pytester):
    result = run_benchmark("--empathy-model=chatgpt-empathy", "--empathy-save=gpt4")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["saved run: benchmarks/saved-runs/gpt4.json"])
    saved_run = saved(pytester, "gpt4")
    assert saved_run["saved_run"]["name"] == "gpt4" and len(saved_run["cases"]) == 2000
    assert saved_run["corpus"]["sha256"] and saved_run["version"] and saved_run["templates"] == {}
    result = run_benchmark(
        "--empathy-model=chatgpt-empathy",
        "--empathy-compare",
        "--empathy-compare-fail=decline,emotion-decline,good-drop:1",
    )
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "compared with saved run gpt4 (model chatgpt-empathy, judge human, saved *): 2000 cases in both; "
            "0 only in this run, 0 only in the saved run",
            "overall * 2000 * 7/28/65 * 7/28/65 * +0.0 pts *n.s.*",
            "PASSED compare decline: *",
            "PASSED compare emotion-decline: no emotion's Good rate significantly lower than the saved run's "
            "after Holm; in its weakest emotion (57 cases) detects a drop of 19.4 pts or more (80% exact power of "
            "McNemar's z test at level 0.0016, clustered: n over the design effect 1.00, Student's t, 199 dof, at this "
            "run's discordance 0.0%: none, the best case, only falls)",
            "PASSED compare good-drop:1: Good rate changed by +0.0 pts, lower bound -0.1 pts (90% CI, paired) "
            "> -1 pts; with nothing changed, at this run's discordance 0.0%, about -0.1 pts, passing 100% of the time "
            "(exact)",
        ]
    )
    comparison = read_report(pytester)["comparison"]
    assert comparison["compared"] == 2000 and comparison["overall"]["p_value"] == 1.0
    # Nothing changed, yet no drop at all cannot be shown: the bound, not the estimate, is checked
    # (on two emotions of the saved run: the bound is what is checked at any size).
    result = run_benchmark(
        "--empathy-model=chatgpt-empathy",
        "--empathy-emotions=afraid,joyful",
        "--empathy-compare",
        "--empathy-compare-fail=good-drop:0",
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["FAILED compare good-drop:0: Good rate changed by +0.0 pts, lower bound -* <= -0 pts*"]
    )
    assert "Stuart-Maxwell" in comparison["tests"]


def test_another_responder_fails_where_it_should(run_benchmark, pytester):
    assert run_benchmark("--empathy-model=chatgpt-empathy", "--empathy-save=gpt4").ret == 0
    result = run_benchmark(
        "--empathy-model=human",
        "--empathy-gate=off",
        "--empathy-compare=gpt4",
        "--empathy-compare-fail=decline,emotion-decline,good-drop:20",
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "FAILED compare decline: Good rate 64.8% -> 49.3% on 2000 cases, -15.4 pts; significantly lower "
            "(one-sided Tango score (McNemar at no difference), p=1.2e-14); detects a drop of * pts or more "
            "(80% exact power of McNemar's z test at level 0.05, clustered: n over the design effect 1.40, "
            "Student's t, 199 dof, at this run's discordance *)",
            "FAILED compare emotion-decline: Good rate significantly lower after Holm: anxious (*), apprehensive (*), "
            "grateful (*), "
            "impressed (*), surprised (*); in its weakest emotion (63 cases) detects a drop of 38.0 pts or more *",
            "PASSED compare good-drop:20: Good rate changed by -15.4 pts, lower bound -18.5 pts (90% CI, paired) "
            "> -20 pts; with nothing changed, at this run's discordance *, about -*, passing *% of the time (exact)",
            "empathy gate failed: compare decline: *",
            "empathy gate failed: compare emotion-decline: *",
        ]
    )
    emotions = read_report(pytester)["comparison"]["emotions"]
    assert emotions["caring"]["direction"] == "better" and not emotions["caring"]["significant"]
    surprised = emotions["surprised"]["good_rate_test"]
    assert surprised["p_worse_holm"] >= surprised["p_worse"]


def test_comparison_counts_the_cases_each_side_lacks(run_benchmark, pytester):
    assert run_benchmark("--empathy-model=chatgpt", "--empathy-emotions=caring,sad", "--empathy-save=two").ret == 0
    result = run_benchmark(
        "--empathy-model=chatgpt", "--empathy-emotions=sad,afraid", "--empathy-gate=off", "--empathy-compare=two"
    )
    assert result.ret == 0
    comparison = read_report(pytester)["comparison"]
    assert (comparison["compared"], comparison["only_in_run"], comparison["only_in_saved_run"]) == (61, 62, 66)
    assert list(comparison["emotions"]) == ["sad"]


def test_saving_needs_a_complete_run_and_overwriting_a_flag(pytester, run_benchmark):
    args = ("--empathy-model=chatgpt", "--empathy-gate=off")
    assert run_benchmark(*args, "--empathy-emotions=sad", "--empathy-save=mine").ret == 0
    result = run_benchmark(*args, "--empathy-emotions=sad", "--empathy-save=mine")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-save: *mine.json exists; add --empathy-save-force to replace it"])
    pytester.makepyfile(
        test_empathy=BENCHMARK.replace(
            "    result = empathy_evaluate",
            "    assert empathy_case.id != 'hit:2179_conv:4359'\n    result = empathy_evaluate",
        )
    )
    before = saved(pytester, "mine")
    result = run_benchmark(*args, "--empathy-emotions=sad,guilty", "--empathy-save=mine", "--empathy-save-force")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["FAILED save: *mine.json not saved: only complete runs are saved (121 of 122 cases rated)"]
    )
    assert saved(pytester, "mine") == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--empathy-compare=nothing"], "--empathy-compare: *nothing.json: no such saved run"),
        (
            ["--empathy-compare"],
            "--empathy-compare: no saved run of 'chatgpt' in *saved-runs; save one with --empathy-save NAME",
        ),
        (["--empathy-compare-fail=decline"], "--empathy-compare-fail: name the saved run with --empathy-compare"),
        (["--empathy-save=../up"], "--empathy-save: '../up' is not a saved run's name*"),
        (
            ["--empathy-prune-cassettes", "-k", "sad"],
            "--empathy-prune-cassettes: refused for a run of part of the corpus*",
        ),
        (["--empathy-prune-cassettes", "--empathy-sample=3"], "--empathy-prune-cassettes: refused*"),
    ],
)
@pytest.mark.bad_input
def test_bad_comparison_options_are_usage_errors(run_benchmark, args, message):
    result = run_benchmark("--empathy-model=chatgpt", *args)
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: {message}"])


@pytest.mark.bad_input
def test_compare_fail_expressions_are_checked_when_arguments_are_parsed(run_benchmark, pytester):
    assert (
        run_benchmark("--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-gate=off", "--empathy-save=s").ret
        == 0
    )
    result = run_benchmark(
        "--empathy-model=chatgpt", "--empathy-compare=s", "--empathy-compare-fail=decline,less-empathy"
    )
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --empathy-compare-fail: 'less-empathy' is not a check: "
            "use decline, emotion-decline, good-drop:POINTS*"
        ]
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"schema": 1, "model": "chatgpt"', "not a readable saved run*"),
        (
            json.dumps(
                {
                    "schema": 1,
                    "model": "m",
                    "judge": "j",
                    "baseline": "b",
                    "corpus": {},
                    "templates": {},
                    "cases": [{"id": "sad-1", "emotion": "sad", "rating": None}],
                }
            ),
            "not a usable saved run (cases?0?.rating: null is not a rating (bad, okay, good))",
        ),
    ],
)
@pytest.mark.bad_input
def test_a_corrupt_saved_run_is_named(run_benchmark, pytester, content, message):
    saved_runs = pytester.path / "benchmarks" / "saved-runs"
    saved_runs.mkdir(parents=True)
    (saved_runs / "broken.json").write_text(content)
    result = run_benchmark("--empathy-model=chatgpt", "--empathy-compare=broken")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --empathy-compare: *broken.json: {message}"])


def test_the_whole_loop_with_the_real_local_server(local_model, pytester, monkeypatch):
    """Record and save; change the template; the replay fails its cases and says what to do; re-record
    only the affected calls; compare with the saved run; the gate decides. Answers are bounded
    at 16 tokens (the profile's max_tokens, set in the project as a user may): their length is
    not what is tested."""
    pytester.makepyfile(test_empathy=BENCHMARK)
    pytester.makefile(".toml", pyproject="[tool.pytest-empathy.models.smollm2-135m]\nmax_tokens = 16\n")
    marker = pytester.path / "tmp"
    marker.mkdir()
    monkeypatch.setenv("TMPDIR", str(marker))
    base = [
        "--empathy-model=smollm2-135m",
        "--empathy-judge=smollm2-135m",
        "--empathy-corpus=smoke",
        "--empathy-baseline=human-raters",
        "--empathy-emotions=lonely,proud",
        "--empathy-gate=off",
        "--empathy-report=report.json",
        "-p",
        "no:cacheprovider",
    ]

    def smollm2(*args: str) -> pytest.RunResult:
        return pytester.runpytest(*base, *args)

    assert smollm2("--empathy-record=once", "--empathy-save=accepted").ret == 0
    accepted = saved(pytester, "accepted")
    cassettes = sorted((pytester.path / "cassettes").rglob("*.json"))
    recorded = {p: p.read_text() for p in cassettes}
    assert len(cassettes) == 4

    template = pytester.path / "template.txt"
    template.write_text(
        "A friend tells you: {situation} They add: {utterance}\nAnswer them warmly and briefly, in about 30 words.\n"
    )
    result = smollm2(f"--empathy-template={template}")
    assert result.ret == 1
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "4 of 4 cases need (re-)recording, 4 because a template changed since their cassettes were recorded. "
            "Record exactly those (the rest is left untouched) with: pytest "
            "--empathy-model=smollm2-135m --empathy-judge=smollm2-135m --empathy-corpus=smoke "
            "--empathy-baseline=human-raters --empathy-template=template.txt --empathy-emotions=lonely,proud "
            "--empathy-record=new_episodes",
        ]
    )

    result = smollm2(f"--empathy-template={template}", "--empathy-record=new_episodes")
    assert result.ret == 0
    new_hash = read_report(pytester)["templates"]["response"]
    for path in cassettes:
        before = json.loads(recorded[path])["interactions"]
        after = json.loads(path.read_text())["interactions"]
        # The new template's answer and the judge's rating of it; the old answer and its
        # rating are gone (the rating of an answer the model no longer gives is never replayed).
        hashes = [i["request"]["headers"]["x-empathy-template"][0] for i in after]
        assert len(after) == 2 and hashes[0] == new_hash and hashes[1] == accepted["templates"]["judge"]
        assert before[0] not in after
    assert llama_servers_of(marker) == []

    result = smollm2(
        f"--empathy-template={template}",
        "--empathy-compare=accepted",
        "--empathy-compare-fail=decline,emotion-decline,good-drop:0",
    )
    report = read_report(pytester)
    comparison = report["comparison"]
    assert comparison["templates"]["saved"]["response"] == accepted["templates"]["response"]
    assert comparison["templates"]["run"]["response"] != accepted["templates"]["response"]
    result.stdout.fnmatch_lines(["response template: saved *, now * (CHANGED)", "judge template: * (unchanged)"])
    gates = {g["name"]: g["passed"] for g in report["gates"]}
    assert result.ret == (0 if all(gates.values()) else 1)
    assert gates["compare good-drop:0"] == (comparison["overall"]["good_change_ci"][0] >= 0)
    assert gates["compare decline"] == (comparison["overall"]["verdict"] != "worse")


def test_unused_cassettes_are_listed_after_a_full_run_and_pruned_on_request(stub, pytester):
    assert run(pytester, "--empathy-record=once").ret == 0
    recorded = (pytester.path / "cassettes" / "stub" / "sad" / "sad-sad0.json").read_text()
    stray = pytester.path / "cassettes" / "stub" / "sad" / "sad-gone.json"
    stray.write_text(recorded)
    # A cassette recorded for another corpus is never this corpus's to list or prune.
    other = pytester.path / "cassettes" / "stub" / "sad" / "sad-elsewhere.json"
    other.write_text(
        recorded.replace(
            '"x-empathy-corpus": [\n            "corpus"', '"x-empathy-corpus": [\n            "another-corpus"'
        )
    )
    assert other.read_text() != recorded
    # Nor one whose calls went to another model, or one in a folder of its own (a calibration).
    foreign = pytester.path / "cassettes" / "stub" / "sad" / "sad-foreign.json"
    foreign.write_text(recorded.replace('\\"model\\":\\"stub-model\\"', '\\"model\\":\\"other-model\\"'))
    assert foreign.read_text() != recorded
    nested = pytester.path / "cassettes" / "stub" / "calibration" / "sad" / "sad-human.x.json"
    nested.parent.mkdir(parents=True)
    nested.write_text(recorded)
    result = run(pytester)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [f"1 cassette(s) of stub not used by any case (--empathy-prune-cassettes deletes them): {stray}"]
    )
    assert read_report(pytester)["unused_cassettes"] == {"count": 1, "paths": [str(stray)], "pruned": False}
    result = run(pytester, "--empathy-emotions=sad")
    assert "not used by any case" not in result.stdout.str()
    # An incomplete run deletes nothing: a failed case may own a cassette.
    (pytester.path / "cassettes" / "stub" / "sad" / "sad-sad1.json").write_text("{ damaged")
    result = run(pytester, "--empathy-prune-cassettes")
    assert result.ret == 1 and stray.exists()
    assert read_report(pytester)["unused_cassettes"]["pruned"] is False
    (pytester.path / "cassettes" / "stub" / "sad" / "sad-sad1.json").write_text(recorded.replace("sad0", "sad1"))
    assert run(pytester, "--empathy-record=all", "-k", "sad-sad1").ret == 0
    result = run(pytester, "--empathy-prune-cassettes")
    assert result.ret == 0
    result.stdout.fnmatch_lines([f"1 cassette(s) of stub deleted: {stray}"])
    assert not stray.exists() and other.exists() and foreign.exists() and nested.exists()
    assert len(list((pytester.path / "cassettes").rglob("*.json"))) == 11


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("profile", "*[[]tool.pytest-empathy.models.../../escape]: a profile's name names its cassette folder*"),
        ("profile-dot", "*[[]tool.pytest-empathy.models..]: a profile's name names its cassette folder*"),
        ("option", "*--empathy-model: '../../pwned' is not a model's name: ASCII letters*"),
        ("column", "*column 'response_../../pwned': the responder's name must be ASCII letters*"),
    ],
)
@pytest.mark.bad_input
def test_names_that_would_write_outside_the_cassettes_are_refused(stub, pytester, where, message):
    pyproject = pytester.path / "pyproject.toml"
    args = ["--empathy-record=once"]
    if where == "profile":
        pyproject.write_text(pyproject.read_text() + '\n[tool.pytest-empathy.models."../../escape"]\nmodel = "m"\n')
        args.append("--empathy-model=stub")
    elif where == "profile-dot":
        pyproject.write_text(pyproject.read_text() + '\n[tool.pytest-empathy.models."."]\nmodel = "m"\n')
    elif where == "option":
        args = ["--empathy-model=../../pwned", "--empathy-record=once"]
    else:
        corpus = pytester.path / "corpus.csv"
        lines = corpus.read_text().splitlines()
        corpus.write_text("\n".join([lines[0] + ",response_../../pwned"] + [line + ",hi" for line in lines[1:]]) + "\n")
    result = (
        pytester.runpytest(
            *args, "--empathy-judge=stub", "--empathy-corpus=corpus.csv", "--empathy-baseline=human-raters"
        )
        if where == "option"
        else run(pytester, *args)
    )
    assert result.ret == 4
    result.stderr.fnmatch_lines([message])
    assert not (pytester.path.parent / "escape").exists() and not (pytester.path.parent / "pwned").exists()


@pytest.mark.bad_input
def test_the_renamed_saved_runs_option_says_its_new_name(run_benchmark):
    result = run_benchmark("--empathy-model=chatgpt", "--empathy-baseline-dir=old")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: --empathy-baseline-dir was renamed --empathy-saved-runs (ini: empathy_saved_runs)"]
    )


def test_a_saved_run_of_schema_1_is_migrated_and_compared(run_benchmark, pytester):
    saving = run_benchmark(
        "--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-gate=off", "--empathy-save=new"
    )
    assert saving.ret == 0
    saved_run = saved(pytester, "new")
    # What 0.1 wrote: schema 1, and the saved run's name under "snapshot".
    old = {k: v for k, v in saved_run.items() if k != "saved_run"} | {
        "schema": 1,
        "snapshot": saved_run["saved_run"],
    }
    old["snapshot"]["name"] = "old"
    (pytester.path / "benchmarks" / "saved-runs" / "old.json").write_text(json.dumps(old))
    result = run_benchmark(
        "--empathy-model=chatgpt",
        "--empathy-emotions=sad",
        "--empathy-gate=off",
        "--empathy-compare=old",
        "--empathy-saved-runs=benchmarks/saved-runs",
    )
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        ["compared with saved run old (model chatgpt, judge human, saved *): 61 cases in both*"]
    )
    comparison = read_report(pytester)["comparison"]
    assert (comparison["saved_run"], comparison["only_in_saved_run"], comparison["compared"]) == ("old", 0, 61)
    assert read_report(pytester)["schema"] == SCHEMA


@pytest.mark.fault
def test_a_save_that_another_run_made_first_is_not_overwritten(run_benchmark, pytester):
    """The name is free when the run starts and taken when it saves: the other run's save
    stands, this one fails saying so."""
    target = pytester.path / "benchmarks" / "saved-runs" / "same.json"
    pytester.makepyfile(
        test_other_run=f"""
        import pathlib

        def test_another_run_saves_first():
            path = pathlib.Path({str(target)!r})
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("the other run's save")
        """
    )
    result = run_benchmark(
        "--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-save=same", "-p", "no:randomly"
    )
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*FAILED save: *same.json not saved: another run saved 'same' meanwhile*"])
    assert "saved run:" not in result.stdout.str()
    assert target.read_text() == "the other run's save"


@pytest.mark.bad_input
def test_saved_runs_with_duplicate_or_miscounted_cases_or_too_large_are_refused(run_benchmark, pytester):
    run_benchmark("--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-gate=off", "--empathy-save=s")
    path = pytester.path / "benchmarks" / "saved-runs" / "s.json"
    saved = json.loads(path.read_text())
    for name, changed, message in (
        ("twice", saved | {"cases": saved["cases"] + saved["cases"][:1]}, "case * repeats the id *"),
        ("many", saved | {"corpus": saved["corpus"] | {"rated": 5000}}, "says 5000 cases were rated but holds *"),
    ):
        (path.parent / f"{name}.json").write_text(json.dumps(changed))
        result = run_benchmark("--empathy-model=chatgpt", "--empathy-emotions=sad", f"--empathy-compare={name}")
        assert result.ret == USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: --empathy-compare: *{name}.json: {message}"])
    huge = path.parent / "huge.json"
    with huge.open("wb") as out:
        out.truncate(600 * 2**20)  # sparse: no disk, and never read
    result = run_benchmark("--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-compare=huge")
    assert result.ret == USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-compare: *huge.json: 600 MiB, larger than any saved run*"])


def test_a_comparison_names_the_saved_run_by_its_file(run_benchmark, pytester):
    sad = ("--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-gate=off")
    run_benchmark(*sad, "--empathy-save=first")
    saved = pytester.path / "benchmarks" / "saved-runs"
    (saved / "renamed.json").write_text((saved / "first.json").read_text())
    (saved / "first.json").unlink()
    result = run_benchmark(
        "--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-gate=off", "--empathy-compare"
    )
    result.stdout.fnmatch_lines(["compared with saved run renamed (model chatgpt*"])
    assert read_report(pytester)["comparison"]["saved_run"] == "renamed"


@pytest.mark.bad_input
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("judge", "gpt-4o-mini", "rated by judge gpt-4o-mini on corpus welivita-pu-2024, this run by judge human"),
        ("corpus", "smoke", "rated by judge human on corpus smoke, this run by judge human on corpus welivita-pu-2024"),
    ],
)
def test_a_saved_run_of_another_judge_or_corpus_is_not_compared(run_benchmark, pytester, field, value, message):
    args = ["--empathy-model=chatgpt", "--empathy-emotions=sad", "--empathy-gate=off"]
    assert run_benchmark(*args, "--empathy-save=other").ret == 0
    path = pytester.path / "benchmarks" / "saved-runs" / "other.json"
    document = json.loads(path.read_text())
    if field == "corpus":
        document["corpus"]["name"] = value
    else:
        document[field] = value
    path.write_text(json.dumps(document))
    result = run_benchmark(*args, "--empathy-compare=other")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: --empathy-compare: *other.json was {message}*same judge and corpus"])


def test_an_incomplete_run_says_it_was_not_compared(stub, pytester):
    assert run(pytester, "--empathy-record=once", "--empathy-save=accepted").ret == 0
    (pytester.path / "cassettes" / "stub" / "sad" / "sad-sad0.json").unlink()
    result = run(pytester, "--empathy-compare=accepted", "--empathy-compare-fail=decline")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        ["FAILED compare: not compared with *accepted.json: the run is incomplete (7 of 8 cases rated)*"]
    )
