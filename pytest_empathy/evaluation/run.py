"""A benchmark run as one process holds it: the corpus, the selected cases, the responder,
the judge, the baseline and the cassettes (built by ``assemble``), and a case evaluated."""

from __future__ import annotations

import os
import shlex
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from pathlib import Path

from pytest_empathy.analysis.gates import JudgeStanding
from pytest_empathy.cassettes.format import CaseCassettes
from pytest_empathy.cassettes.miss_reasons import Miss, diagnose
from pytest_empathy.corpus.names import RELEASE
from pytest_empathy.corpus.rows import Corpus, Row
from pytest_empathy.models import CROWD_FILE
from pytest_empathy.models.baselines import Baseline
from pytest_empathy.models.crowd_judge import CrowdFile
from pytest_empathy.models.endpoint import NotRecorded, masked_answers
from pytest_empathy.models.judges import Judge, ModelJudge, Unrated
from pytest_empathy.models.profiles import KeyNotMasked, KeyStripped
from pytest_empathy.models.responders import ModelResponder, Responder
from pytest_empathy.modes import RecordMode
from pytest_empathy.results.case import CaseResult
from pytest_empathy.results.result_document import CalibrationSummary
from pytest_empathy.secrets import MASK, SHORTEST_MASKED, SecretMasked
from pytest_empathy.settings import Settings

# The parts of a run that call a model through an endpoint.
MODEL_CALLERS = (ModelResponder, ModelJudge)


@dataclass(frozen=True)
class CaseOutcome:
    """A case's result, and the warning its test gives when a model's answer carried a
    credential (given by the test, not where the case was evaluated: that may be a thread
    evaluating it ahead, while another test runs)."""

    result: CaseResult
    masked: SecretMasked | None = None


class CaseNotRecorded(Exception):
    """A case whose calls have no recording; the message says where and how to record."""

    def __init__(self, message: str, reason: Miss) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class BenchmarkRun:
    """What one process needs to run cases; the same on the controller and every xdist worker."""

    settings: Settings
    corpus: Corpus
    cases: tuple[Row, ...]
    responder: Responder
    judge: Judge
    baseline: Baseline
    # The case cassettes: a Replayer in record mode none, else a vcrpy Recorder.
    cassettes: CaseCassettes | None
    templates: dict[str, str]
    # A judge model's standing against the crowd, and the JSON summary of its calibration
    # file when there is one; None for the crowd.
    judge_standing: JudgeStanding | None = None
    judge_calibration: CalibrationSummary | None = None
    # A crowd's ratings of part of the cases (--empathy-crowd), for prediction-powered estimates.
    crowd: CrowdFile | None = None

    @property
    def calibrating(self) -> bool:
        return self.settings.calibration.calibrate

    def calibration_path(self) -> Path:
        return self.settings.calibration_path(self.judge.name)

    def evaluate(self, row: Row) -> CaseOutcome:
        """The responder answers the case and the judge rates the answer (and, for the
        ``judge`` baseline, the human response), all in the case's cassette."""
        masked = masked_answers()
        with self.cassettes.cassette(row) if self.cassettes else nullcontext({}) as usage:
            try:
                response = self.responder.answer(row)
                rating = self.judge.rate(row, self.responder.name, response)
                baseline_rating = self.baseline.rate(row)
            except NotRecorded as error:
                raise self._not_recorded(row, error) from None
            except Unrated as error:
                raise self._unrated(row, error) from None
        cassette = None if self.cassettes is None else self.shown_path(self.cassettes.location(row))
        warning = None
        if masked_answers() > masked:
            warning = SecretMasked(
                f"case {row.case_id}: a model's answer carried a credential of this run; it is masked as "
                f"{MASK} in the answer, the judge's prompt, every report and the cassette {cassette}"
            )
        if self.crowd is not None:
            # Outside the cassette's try: asking the judge again cannot make the crowd's rating one of this answer.
            self.crowd.check_rated_answer(row, response)
        result = CaseResult(
            row.case_id,
            row.emotion,
            rating,
            baseline_rating,
            response,
            cassette,
            usage,
            rater=self.judge.rater(row, self.responder.name),
            baseline_rater=self.baseline.rater(row),
        )
        return CaseOutcome(result, warning)

    def models(self) -> set[str]:
        """The model names this run's calls go to (the responder's and the judge's)."""
        return {part.endpoint.profile.model for part in (self.responder, self.judge) if isinstance(part, MODEL_CALLERS)}

    def key_warnings(self) -> list[UserWarning]:
        """A warning for each key this run sends that had whitespace around it, or that is too
        short to be masked, naming its variable, never the key."""
        sent = {
            part.endpoint.profile
            for part in (self.responder, self.judge)
            if isinstance(part, MODEL_CALLERS) and part.endpoint.replayer is None and part.endpoint.profile.api_key_env
        }
        found: list[UserWarning] = []
        for profile in sorted(sent, key=lambda p: str(p.api_key_env)):
            variable, length = profile.api_key_env, profile.key_length()
            if profile.key_padded():
                found.append(
                    KeyStripped(
                        f"${variable} holds whitespace around its key (a pasted line end?); it is sent without it"
                    )
                )
            if 0 < length < SHORTEST_MASKED:
                found.append(
                    KeyNotMasked(
                        f"${variable} holds a key of {length} character(s), too short to tell from ordinary text: it "
                        "is sent but not masked in cassettes, logs or reports (a provider's key is far longer; a "
                        "placeholder for a server that checks none, such as EMPTY, needs no masking)"
                    )
                )
        return list({str(w): w for w in found}.values())

    def close(self) -> None:
        """Cancel the calls still out, then close the live clients of this process's endpoints."""
        endpoints = [part.endpoint for part in (self.responder, self.judge) if isinstance(part, MODEL_CALLERS)]
        with ExitStack() as closing:
            for endpoint in endpoints:
                closing.callback(endpoint.close)
            for endpoint in endpoints:
                endpoint.calls.cancel()

    def shown_path(self, path: str | Path) -> str:
        """A path as results show it: relative to the rootdir when inside it, so that a saved
        run does not depend on where the repository was checked out."""
        return shown_path(self.settings.storage.rootpath, path)

    def _unrated(self, row: Row, error: Unrated) -> Unrated:
        """The judge gave no rating: say how to ask it again when the answers were recorded. A
        crowd's ratings file is not asked: it says the same again."""
        if (
            self.cassettes is None
            or not self.judge.calls_model
            or self.settings.recording.record in (RecordMode.NEW_EPISODES, RecordMode.ALL)
        ):
            return error
        return Unrated(
            f"{error}. Its answers are recorded in {self.shown_path(self.cassettes.path(row))}; ask it again with: "
            f"{self.record_command()} -k {shlex.quote(row.case_id)}"
        )

    def _not_recorded(self, row: Row, error: NotRecorded) -> CaseNotRecorded:
        assert self.cassettes is not None
        path = self.cassettes.path(row)
        reason, why = diagnose(path, error.template_sha256, self.templates)
        return CaseNotRecorded(
            f"{error}: {why}. Cassette: {self.shown_path(path)}. Record it with: {self.record_command()} "
            f"-k {shlex.quote(row.case_id)}",
            reason,
        )

    def record_command(self) -> str:
        """The command that records the missing calls of this run's selection, to be run from
        the rootdir: its paths are shown from there, as every path the plugin shows."""
        selection, models, recording = self.settings.selection, self.settings.models, self.settings.recording
        words = ["pytest", f"--empathy-model={selection.model}" if selection.model else "--empathy-calibrate"]
        words += [f"--empathy-judge={self._judge_named(models.judge)}"] if models.judge else []
        words += [f"--empathy-corpus={self.shown_path(selection.corpus)}"] if selection.corpus != RELEASE else []
        words += [f"--empathy-baseline={models.baseline}"] if models.baseline is not None else []
        words += [f"--empathy-template={self.shown_path(models.template)}"] if models.template else []
        if models.judge_template:
            words.append(f"--empathy-judge-template={self.shown_path(models.judge_template)}")
        if recording.cassettes != self.settings.storage.rootpath / "cassettes":
            words.append(f"--empathy-cassettes={self.shown_path(recording.cassettes)}")
        words += [f"--empathy-emotions={','.join(selection.emotions)}"] if selection.emotions else []
        if selection.sample:
            words += [f"--empathy-sample={selection.sample}", f"--empathy-seed={selection.seed}"]
        words.append(f"--empathy-record={RecordMode.NEW_EPISODES}")
        return " ".join(shlex.quote(w) for w in words)

    def _judge_named(self, judge: str) -> str:
        """The judge as --empathy-judge names it: a crowd's ratings file by its path."""
        if judge.startswith(CROWD_FILE):
            return CROWD_FILE + self.shown_path(judge[len(CROWD_FILE) :])
        return judge


def shown_path(rootpath: Path, path: str | Path) -> str:
    # By text: cheaper than pathlib, and this runs once per case.
    return str(path).removeprefix(f"{rootpath}{os.sep}")
