"""A run's verdict: from its rated cases to its result and JSON document.

The pytest session, ``pytest-empathy merge`` and ``verdict`` all end here, so the pipeline is
written once: statistics and gates, the plugins' gates, the comparison with a saved run, the
save, the unused cassettes, the result and its document.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_empathy.analysis.gates import NO_MORE_BAD, Completeness, Decision, GateResult, decide
from pytest_empathy.analysis.saved_run_checks import BAD_RISE, DECLINE, EMOTION_DECLINE, GOOD_DROP, Check
from pytest_empathy.atomic import WriteError
from pytest_empathy.cassettes.format import CaseCassettes
from pytest_empathy.cassettes.pruning import prune, unused
from pytest_empathy.corpus.rows import Row
from pytest_empathy.modes import BaselineKind, GateMode
from pytest_empathy.ratings import Counts, Rating
from pytest_empathy.results import saved_runs
from pytest_empathy.results.case import CaseResult, Usage, total_usage
from pytest_empathy.results.document import to_json
from pytest_empathy.results.result_document import ResultDocument
from pytest_empathy.results.run_result import RecordingStatus, RunIdentity, RunResult, SavedRun, SavedRunVersus
from pytest_empathy.settings import SelectionSettings, StatisticsSettings

from .extensions import NO_EXTENSIONS, Extensions

if TYPE_CHECKING:
    from pytest_empathy.analysis.ppi import RunEstimate

# The names of the gates the package decides itself, which a plugin's gate may not take.
BUILT_IN_GATES = frozenset(
    {
        "complete",
        *(mode.value for mode in GateMode),
        NO_MORE_BAD,
        "min-good-gain",
        "no-emotion-worse",
        "power",
        "judge-agreement",
        "compare",
        DECLINE,
        EMOTION_DECLINE,
        GOOD_DROP,
        BAD_RISE,
        "save",
        "prune",
    }
)
# The statistics and gates a run has when no option changes them.
DEFAULT_STATISTICS = StatisticsSettings()


@dataclass(frozen=True)
class SaveTarget:
    """Where a complete run is saved, under which name, and whether it may replace a run."""

    path: Path
    name: str
    replace: bool = False


@dataclass(frozen=True)
class CassetteFolder:
    """The run's cassettes, to list those no selected case uses, and to delete them."""

    cassettes: CaseCassettes
    rows: Sequence[Row]
    corpus: str
    models: frozenset[str]
    prune: bool = False


@dataclass(frozen=True)
class Finished:
    """A run's result and its JSON document; ``save_failed`` when saving it failed (its
    document then has the failed save gate)."""

    result: RunResult
    document: ResultDocument
    save_failed: bool = False


def finish(
    identity: RunIdentity,
    cases: Sequence[CaseResult],
    completeness: Completeness,
    statistics: StatisticsSettings,
    *,
    compare: SavedRun | None = None,
    checks: Sequence[Check] = (),
    save: SaveTarget | None = None,
    cassettes: CassetteFolder | None = None,
    pruned: bool = False,
    recording: RecordingStatus | None = None,
    usage: Mapping[str, Usage] | None = None,
    prediction_powered: RunEstimate | None = None,
    extensions: Extensions = NO_EXTENSIONS,
) -> Finished:
    """The run's verdict: its gates decided, compared with ``compare`` by ``checks``, saved
    to ``save`` when complete, its unused ``cassettes`` listed (and pruned). ``pruned`` says
    the run asked for pruning; ``usage`` defaults to the cases' own."""
    decision = decide(
        cases,
        completeness,
        statistics,
        identity.per_emotion_baseline,
        mixed_raters=identity.mixed_raters,
        judge=identity.judge_standing,
        baseline_judged=identity.baseline_judged,
        prediction_powered=prediction_powered,
    )
    gates, warnings = decision.gates, decision.warnings
    gates += _extension_gates(extensions, cases, decision, completeness, statistics)
    versus = _compared(compare, checks, decision, cases, completeness, statistics)
    if versus is not None:
        gates += versus.gates
        warnings += versus.warnings
    if save is not None and not completeness.complete:
        gates.append(GateResult("save", False, _not_saved(save, completeness)))
    unused_cassettes: tuple[str, ...] = ()
    if cassettes is not None and completeness.expected == len(cassettes.rows):
        unused_cassettes, refused = _unused_cassettes(cassettes, completeness)
        gates += [GateResult("prune", False, why) for why in refused]
    result = RunResult(
        identity=identity,
        completeness=completeness,
        summary=decision.summary,
        gates=tuple(gates),
        cases=tuple(cases),
        recording=recording,
        versus_saved_run=None if versus is None else versus.versus,
        unused_cassettes=unused_cassettes,
        pruned=pruned and completeness.complete,
        usage=total_usage(cases) if usage is None else dict(usage),
        warnings=tuple(warnings),
        judge_correction=decision.correction,
        prediction_powered=prediction_powered,
    )
    if save is None or not completeness.complete:
        return Finished(result, _document(result, extensions))
    return _saved(result, save, extensions)


def verdict(
    cases: Sequence[CaseResult],
    *,
    model: str,
    statistics: StatisticsSettings = DEFAULT_STATISTICS,
    per_emotion_baseline: Mapping[str, Counts] | None = None,
    judge: str = "human",
    baseline: str = BaselineKind.HUMAN_RATERS.value,
    corpus: str = "",
    extensions: Extensions = NO_EXTENSIONS,
) -> ResultDocument:
    """The JSON result of rated cases, decided as a pytest run of them decides it: the
    Python entry point to the verdict, without pytest. Each case needs its baseline rating,
    or ``per_emotion_baseline`` the baseline's counts per emotion."""
    identity = RunIdentity(
        model=model,
        judge=judge,
        judge_description=judge,
        baseline=baseline,
        baseline_description=baseline,
        corpus=corpus,
        corpus_sha256="",
        selected=len(cases),
        templates={},
        settings={**SelectionSettings(corpus).sampling_json(), **statistics.to_json()},
        per_emotion_baseline=per_emotion_baseline,
    )
    completeness = Completeness(expected=len(cases), rated=len(cases))
    return finish(identity, cases, completeness, statistics, extensions=extensions).document


def prediction_powered(
    cases: Sequence[CaseResult],
    completeness: Completeness,
    crowd: Mapping[str, tuple[Rating, str]],
    *,
    per_emotion_baseline: Mapping[str, Counts] | None,
    baseline_judged: bool,
) -> RunEstimate:
    """The crowd's Good rate and shares of the run, from the judge's ratings of every case
    and the crowd's of part of them; on a complete run only."""
    from pytest_empathy.analysis import ppi

    if not completeness.complete:
        return ppi.not_estimated(
            f"not estimated: the run is incomplete ({completeness.rated} of {completeness.expected} cases rated)"
        )
    not_comparable = None
    if baseline_judged:
        not_comparable = (
            "the baseline is the judge's ratings of the human responses, not a crowd's; the gates compare the "
            "judge with itself (--empathy-baseline human-raters compares the crowds)"
        )
    return ppi.for_run(cases, crowd, per_emotion_baseline=per_emotion_baseline, not_comparable=not_comparable)


@dataclass(frozen=True)
class _Versus:
    """A comparison with a saved run (None when the run has no statistics) and the gates
    and warnings it adds."""

    versus: SavedRunVersus | None
    gates: list[GateResult]
    warnings: list[str]


def _compared(
    compare: SavedRun | None,
    checks: Sequence[Check],
    decision: Decision,
    cases: Sequence[CaseResult],
    completeness: Completeness,
    statistics: StatisticsSettings,
) -> _Versus | None:
    if compare is None:
        return None
    if decision.summary is None:
        return _Versus(None, [GateResult("compare", False, saved_runs.not_compared(compare, completeness))], [])
    versus, checked = saved_runs.compare(compare, cases, statistics=statistics, checks=checks)
    return _Versus(versus, list(checked.gates), list(checked.warnings))


def _extension_gates(
    extensions: Extensions,
    cases: Sequence[CaseResult],
    decision: Decision,
    completeness: Completeness,
    statistics: StatisticsSettings,
) -> list[GateResult]:
    """The plugins' gates; one named as a built-in gate would read as it, so it fails the run
    under a name of its own, saying why, rather than end it without a verdict."""
    return [
        GateResult(
            f"plugin-{gate.name}",
            False,
            f"a plugin's gate is named {gate.name!r}, the name of a built-in gate; rename it",
        )
        if gate.name in BUILT_IN_GATES
        else gate
        for gate in extensions.gates(cases, decision.summary, completeness, statistics)
    ]


def _not_saved(save: SaveTarget, completeness: Completeness) -> str:
    return (
        f"{save.path} not saved: only complete runs are saved "
        f"({completeness.rated} of {completeness.expected} cases rated)"
    )


def _unused_cassettes(folder: CassetteFolder, completeness: Completeness) -> tuple[tuple[str, ...], list[str]]:
    """The cassettes no case uses (left after pruning, when asked), and why any of them
    could not be deleted."""
    found = unused(folder.cassettes, folder.rows, folder.corpus, folder.models)
    refused: list[str] = []
    # Pruning deletes only after a complete run: a case that failed may own a cassette.
    if folder.prune and completeness.complete:
        refused = prune(folder.cassettes, found)
        found = [p for p in found if not p.exists()]
    return tuple(str(p) for p in found), refused


def _saved(result: RunResult, save: SaveTarget, extensions: Extensions) -> Finished:
    """The complete run saved; when that fails, its result and document with the failed
    save gate."""
    document = _document(result, extensions)
    try:
        saved_runs.save(document, save.path, save.name, replace=save.replace)
    except (saved_runs.SavedRunError, WriteError) as error:
        result = replace(result, gates=(*result.gates, GateResult("save", False, str(error))))
        return Finished(result, _document(result, extensions), save_failed=True)
    return Finished(result, document)


def _document(result: RunResult, extensions: Extensions) -> ResultDocument:
    """The result's JSON document, with the plugins' fields under ``extra`` when they add
    any (so a run without plugins writes what it always wrote)."""
    document = to_json(result)
    extra = extensions.json_fields(document)
    if extra:
        document["extra"] = extra
    return document
