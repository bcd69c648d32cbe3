"""A calibration run's finish: the judge's agreement with the crowd measured and saved, when
it rated every selected response."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pytest_empathy.atomic import WriteError
from pytest_empathy.corpus.rows import HUMAN, Corpus, Row, rated_source
from pytest_empathy.models.judges import ModelJudge
from pytest_empathy.results import calibrations
from pytest_empathy.results.calibration_document import CalibrationDocument
from pytest_empathy.results.calibrations import JudgeKey
from pytest_empathy.results.case import CaseResult
from pytest_empathy.settings import SelectionSettings
from pytest_empathy.write_targets import OutsideRoot, confined


def finish_calibration(
    rows: Sequence[Row],
    results: Mapping[str, CaseResult],
    *,
    judge: ModelJudge,
    corpus: Corpus,
    selection: SelectionSettings,
    path: Path,
    shown_path: str,
) -> CalibrationDocument | str:
    """The calibration's document, saved to ``path``, when the judge rated every selected
    response (``results`` by case id); else why it was not measured: agreement on part of the
    responses is never kept. ``shown_path`` is ``path`` as the run's messages show it."""
    from pytest_empathy.analysis.agreement import Pair, calibrate

    if len(results) < len(rows):
        return (
            f"calibration not measured: the judge rated {len(results)} of {len(rows)} selected responses "
            f"(a run with -k or -m, failed or unrecorded cases); {shown_path} is unchanged"
        )
    by_prompt: dict[str, dict[str, Pair]] = {}
    for row in rows:
        result = results[row.case_id]
        assert result.baseline_rating is not None
        source, prompt = rated_source(row)
        by_prompt.setdefault(prompt, {})[source] = (result.baseline_rating, result.rating)
    prompts = list(by_prompt.values())
    document = calibrations.to_json(
        calibrate(prompts, human=HUMAN),
        prompts,
        JudgeKey(judge.name, judge.endpoint.profile.model, judge.rubric.sha256),
        corpus=corpus.name,
        corpus_sha256=corpus.sha256,
        selection={**selection.sampling_json(), "prompts": len(prompts), "sources": sorted(prompts[0])},
        human=HUMAN,
    )
    try:
        calibrations.save(document, confined(path, path.parent, "calibration file"))
    except (WriteError, OutsideRoot) as error:
        return f"calibration measured but not saved: {error}"
    return document
