"""Which benchmark runs: the project's own module, or the plugin's built-in one (the rule in
pytest_empathy/plugin/collection.py); the built-in module under -p no:xdist, -n 0 and -n 2, as
each worker collects it too."""

from __future__ import annotations

import json

import pytest

from pytest_empathy.plugin.collection import NODE_ID

from .conftest import BENCHMARK
from .release_figures import release_cases, release_counts

PLAIN_TEST = "def test_unit():\n    assert 1 + 1 == 2\n"
# Which module is collected does not depend on the corpus: two emotions of the release, not 2,000 cases.
EMOTIONS = ("afraid", "joyful")
SELECTED = f"--empathy-emotions={','.join(EMOTIONS)}"


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", "-rA", *args)


def ran(result: pytest.RunResult) -> list[str]:
    """Node ids of the tests that passed, from the -rA summary."""
    return [line.split(" ", 1)[1] for line in result.stdout.lines if line.startswith("PASSED ") and "::" in line]


def test_a_project_with_only_its_configuration_runs_the_built_in_benchmark(pytester, xdist_mode):
    pytester.makepyprojecttoml('[project]\nname = "model-repo"\nversion = "0"\n')
    result = run(pytester, "--empathy-model=chatgpt-empathy", SELECTED, "--empathy-report=report.json", *xdist_mode)
    assert result.ret == 0
    result.assert_outcomes(passed=release_cases(EMOTIONS))
    assert all(nodeid.startswith(f"{NODE_ID}::test_empathy[") for nodeid in ran(result))
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["complete"] and report["passed"]
    assert report["overall"]["model"] == release_counts("chatgpt-empathy", EMOTIONS)


def test_k_and_m_select_among_the_built_in_tests(pytester):
    pytester.makepyfile(test_unit=PLAIN_TEST)
    result = run(pytester, "--empathy-model=chatgpt-empathy", "--empathy-gate=off", "-k", "caring")
    assert result.ret == 0
    result.assert_outcomes(passed=66)
    assert all("[caring-" in nodeid for nodeid in ran(result))


def test_a_project_with_its_own_benchmark_module_keeps_it(pytester):
    pytester.makepyfile(test_my_benchmark=BENCHMARK.replace("def test_empathy", "def test_my_empathy"))
    result = run(pytester, "--empathy-model=chatgpt-empathy", SELECTED)
    assert result.ret == 0
    result.assert_outcomes(passed=release_cases(EMOTIONS))
    assert {nodeid.split("[")[0] for nodeid in ran(result)} == {"test_my_benchmark.py::test_my_empathy"}


def test_a_model_set_in_the_ini_file_stays_out_of_unrelated_test_paths(pytester):
    pytester.makeini("[pytest]\nempathy_model = chatgpt-empathy\n")
    pytester.mkdir("benchmark").joinpath("test_empathy.py").write_text(BENCHMARK)
    pytester.mkdir("unit").joinpath("test_unit.py").write_text(PLAIN_TEST)
    result = run(pytester, "unit")
    assert result.ret == 0
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "pytest-empathy: model chatgpt-empathy (set in the ini file) ran no case: no selected test "
            "takes empathy_case, * only when the option is on the command line: "
            "pytest --empathy-model=chatgpt-empathy"
        ]
    )
    benchmark = run(pytester, "benchmark", "--empathy-sample=1")
    assert benchmark.ret == 0
    benchmark.assert_outcomes(passed=32)


def test_a_selection_that_leaves_no_case_says_so(pytester):
    pytester.makepyfile(test_unit=PLAIN_TEST)
    result = run(pytester, "--empathy-model=chatgpt-empathy", "-k", "no-such-case")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    result.stdout.fnmatch_lines(
        ["pytest-empathy: model chatgpt-empathy ran no case: none was selected (-k, -m, --deselect or --lf *)"]
    )


def test_pyargs_collects_the_built_in_module_by_name_with_the_same_node_ids(pytester):
    result = run(pytester, "--pyargs", "pytest_empathy.plugin.benchmark", "--empathy-model=chatgpt-empathy", SELECTED)
    assert result.ret == 0
    result.assert_outcomes(passed=release_cases(EMOTIONS))
    assert all(nodeid.startswith(f"{NODE_ID}::test_empathy[") for nodeid in ran(result))


def test_last_failed_reruns_the_built_in_cases_that_failed(pytester):
    pytester.makepyfile(test_unit="def test_unit():\n    assert False\n")
    first = pytester.runpytest("--empathy-model=chatgpt-empathy", "--collect-only", "-q")
    case = next(line for line in first.stdout.lines if line.startswith(f"{NODE_ID}::"))
    cache = pytester.path / ".pytest_cache" / "v" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / "lastfailed").write_text(json.dumps({"test_unit.py::test_unit": True, case: True}))
    result = pytester.runpytest("--empathy-model=chatgpt-empathy", "--empathy-gate=off", "--lf", "-rA")
    result.assert_outcomes(failed=1, passed=1, deselected=1999)
    assert ran(result) == [case]


DECOY = "def test_decoy():\n    raise AssertionError('collected from the cassettes directory')\n"


@pytest.mark.parametrize("where", [None, "recorded/here"])
def test_the_cassettes_directory_is_not_walked_for_tests(pytester, where):
    """A cassettes directory holds thousands of files and no tests: pytest skips it, the
    default one or the one named, with a model or without."""
    pytester.makepyfile(test_unit=PLAIN_TEST)
    cassettes = pytester.path / (where or "cassettes")
    cassettes.mkdir(parents=True)
    (cassettes / "test_decoy.py").write_text(DECOY)
    named = [f"--empathy-cassettes={where}"] if where else []
    result = run(pytester, *named)
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert ran(result) == ["test_unit.py::test_unit"]
    result = run(pytester, "--empathy-model=chatgpt-empathy", "--empathy-gate=off", "-k", "caring or decoy", *named)
    assert result.ret == 0, result.stdout.str()[-2000:]
    result.assert_outcomes(passed=66)
    # A directory of the same name elsewhere is not the cassettes directory.
    (pytester.path / "nested" / "cassettes").mkdir(parents=True)
    (pytester.path / "nested" / "cassettes" / "test_decoy.py").write_text(DECOY.replace("raise AssertionError(", "("))
    result = run(pytester, *named)
    assert sorted(ran(result)) == ["nested/cassettes/test_decoy.py::test_decoy", "test_unit.py::test_unit"]
