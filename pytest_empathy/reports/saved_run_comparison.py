"""A run's comparison with a saved run as every report shows it (terminal, Markdown, HTML):
which saved run, its template hashes against this run's, the tests, one row of figures
per group, and the cases whose rating changed, each report laying them out its own way."""

from __future__ import annotations

from dataclasses import dataclass

from pytest_empathy.formatting import change, p_value, percent
from pytest_empathy.ratings import Rating
from pytest_empathy.reports.entries import cliffs_delta, one_sided_p, shares, verdict
from pytest_empathy.results.result_document import ChangedCase, ComparisonEntry, Counts, PairedEntry

TESTS = (
    "the Good rate's change, one-sided Tango score (paired), McNemar's exact where few cases changed and no "
    "raters are named, Holm across emotions; "
    "the ordinal effect (Cliff's delta case by case) and Stuart-Maxwell on the whole scale beside it"
)


def clustering(comparison: ComparisonEntry) -> str | None:
    """How the comparison accounts for its raters, when the runs name them: by how many, the
    design effect and the reference distribution; None when they name none."""
    design = comparison["overall"].get("design_effect")
    if not design:
        return None
    named = ((design["good_rate"], "Good rate"), (design["ordinal"], "ordinal"))
    effects = ", ".join(f"{effect:.2f} ({name})" for effect, name in named if effect is not None)
    return (
        f"clustered by {design['raters']} raters ({design['clusters']} on the side with fewer), this run's and the "
        f"saved run's, two-way where both name them: design effect {effects or 'n/a'}, cluster-robust (sandwich) "
        f"variance, tests and intervals on Student's t with {design['clusters'] - 1} dof"
    )


def saved_run(comparison: ComparisonEntry) -> str:
    """The saved run's name, or its path where it has none."""
    return str(comparison["saved_run"] or comparison["path"])


def provenance(comparison: ComparisonEntry) -> str:
    return f"model {comparison['model']}, judge {comparison['judge']}, saved {comparison['saved_at'] or '?'}"


def coverage(comparison: ComparisonEntry) -> str:
    return (
        f"{comparison['compared']} cases in both; {comparison['only_in_run']} only in this run, "
        f"{comparison['only_in_saved_run']} only in the saved run"
    )


@dataclass(frozen=True)
class Template:
    """A template's sha256 in the saved run and in this run; None where a side has none."""

    role: str
    saved: str | None
    run: str | None

    @property
    def changed(self) -> bool:
        return self.saved != self.run


def templates(comparison: ComparisonEntry) -> list[Template]:
    saved, run = comparison["templates"]["saved"], comparison["templates"]["run"]
    return [Template(role, saved.get(role), run.get(role)) for role in dict.fromkeys([*run, *saved])]


def short(sha: str | None) -> str:
    """A template's sha256 as the reports show it: its first 12 digits."""
    return (sha or "-")[:12]


@dataclass(frozen=True)
class Row:
    """One group's figures, formatted; ``missing`` stands where a test has no p-value."""

    group: str
    n: int
    saved_counts: str
    run_counts: str
    saved_shares: str
    run_shares: str
    saved_good: str
    run_good: str
    good_change: str
    p: str
    p_holm: str
    delta: str
    p_ordinal: str
    verdict: str
    whole_test: str
    whole_p: str


def summary_rows(comparison: ComparisonEntry, missing: str = "-") -> list[Row]:
    """Overall, and each polarity that has cases."""
    groups = [("overall", comparison["overall"])]
    groups += [(name, entry) for name, entry in comparison["polarity"].items() if entry["n"]]
    return [_row(name, entry, missing) for name, entry in groups]


def emotion_rows(comparison: ComparisonEntry, missing: str = "-") -> list[Row]:
    return [_row(name, entry, missing) for name, entry in comparison["emotions"].items()]


def declined(rows: list[Row]) -> list[Row]:
    """The rows whose Good rate is significantly lower than the saved run's (after Holm, for
    emotions)."""
    return [row for row in rows if row.verdict == "worse"]


def _row(group: str, entry: PairedEntry, missing: str) -> Row:
    return Row(
        group=group,
        n=entry["n"],
        saved_counts=_counts(entry["saved"]),
        run_counts=_counts(entry["run"]),
        saved_shares=shares(entry["saved"]),
        run_shares=shares(entry["run"]),
        saved_good=percent(entry["good_rate_saved"]),
        run_good=percent(entry["good_rate_run"]),
        good_change=change(entry["good_change"], entry["good_change_ci"]),
        p=p_value(one_sided_p(entry), missing),
        p_holm=p_value(one_sided_p(entry, holm=True), missing),
        delta=cliffs_delta(entry.get("ordinal")),
        p_ordinal=p_value(one_sided_p(entry, test="ordinal"), missing),
        verdict=verdict(entry),
        whole_test=str(entry["test"]),
        whole_p=p_value(entry["p_value"], missing),
    )


def _counts(counts: Counts) -> str:
    """Bad/Okay/Good as counts."""
    return f"{counts['bad']}/{counts['okay']}/{counts['good']}"


# How many changed cases the terminal names; every report says where the rest are.
TERMINAL_CASES = 3


@dataclass(frozen=True)
class ChangedCases:
    """The cases whose rating changed since the saved run, worst first, as the JSON lists
    them (all of them)."""

    count: int
    worse: int
    better: int
    cases: list[ChangedCase]

    @property
    def summary(self) -> str:
        return f"{self.count} case(s) changed rating since the saved run: {self.worse} worse, {self.better} better"

    @property
    def brief(self) -> str:
        """The count in a few words, where a line has little room (-q, a folded heading)."""
        return f"{self.count} cases changed ({self.worse} worse)"


def changed_cases(comparison: ComparisonEntry) -> ChangedCases | None:
    """The comparison's changed cases; None in a document that predates the listing."""
    found = comparison.get("changed_cases")
    return None if found is None else ChangedCases(found["count"], found["worse"], found["better"], found["cases"])


def transition(case: ChangedCase) -> str:
    """A changed case's ratings: ``good -> bad``."""
    return f"{case['saved']} -> {case['run']}"


def direction(case: ChangedCase) -> str:
    return "worse" if Rating.parse(case["run"]) < Rating.parse(case["saved"]) else "better"


def changed_lines(comparison: ComparisonEntry) -> list[str]:
    """The terminal's words on the changed cases: their count and the first few."""
    changed = changed_cases(comparison)
    if changed is None or not changed.count:
        return [] if changed is None else ["no case changed rating since the saved run"]
    first = ", ".join(f"{case['case_id']} ({transition(case)})" for case in changed.cases[:TERMINAL_CASES])
    more = changed.count - TERMINAL_CASES
    return [changed.summary, f"worst first: {first}" + (f"; {more} more in the JSON result" if more > 0 else "")]
