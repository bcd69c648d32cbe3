"""The docs' figures are the suite's: the Reliability page's table counts the tests marked for it, and the
study page's reproduction figures are the release's."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from .conftest import page

ROOT = Path(__file__).parents[1]

# One collection of the suite counts the tests of every marker (as `-m MARKER --collect-only`
# would, one collection each), in a fresh process: collecting tests/ inside this session would
# import its conftest twice.
COUNT_MARKED = """
import json, sys
import pytest

class Count:
    def pytest_collection_finish(self, session):
        self.found = {m: sum(any(item.iter_markers(m)) for item in session.items) for m in sys.argv[1:]}

count = Count()
status = pytest.main(["tests", "--collect-only", "-q", "-p", "no:randomly"], plugins=[count])
print(json.dumps(count.found) if status == 0 else f"collection failed: {status}")
"""


def collected(markers: list[str]) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", COUNT_MARKED, *markers], cwd=ROOT, capture_output=True, text=True, check=False
    )
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert last.startswith("{"), done.stdout[-2000:] + done.stderr[-2000:]
    found: dict[str, int] = json.loads(last)
    return found


def test_the_reliability_table_counts_the_marked_tests():
    reliability = page("explanation/reliability.md")
    table = {
        row: int(count) for row, count in re.findall(r"^\| (faults|bad inputs|secrets) \| (\d+) \|", reliability, re.M)
    }
    markers = {"faults": "fault", "bad inputs": "bad_input", "secrets": "secrets"}
    assert set(table) == set(markers)
    counts = collected(list(markers.values()))
    assert table == {row: counts[marker] for row, marker in markers.items()}


def test_the_study_page_states_the_release_s_figures():
    """Each row of the study page's reproduction table, recomputed from the shipped ratings by
    counting and scipy's chi-square test of independence, not through the plugin's analysis."""
    from scipy.stats import chi2_contingency

    from pytest_empathy.corpus import release
    from pytest_empathy.emotions import POLARITY
    from pytest_empathy.ratings import Rating

    rows = release.load_figures().rows
    study = page("explanation/study.md")

    def independence(responder: str, group: str) -> tuple[str, str, str]:
        chosen = [r for r in rows if group in ("overall", POLARITY[r.emotion])]
        table = [[sum(r.ratings[side] is rating for r in chosen) for rating in Rating] for side in (responder, "human")]
        statistic, p, _, _ = chi2_contingency(table, correction=False)
        # Cramer's V of a 2x3 table: sqrt(chi2 / N), N the ratings of both groups.
        return f"{statistic:.2f}", f"{p:.1e}", f"{(statistic / (2 * len(chosen))) ** 0.5:.3f}"

    for responder in ("chatgpt-empathy", "chatgpt"):
        good, human = (sum(r.ratings[side] is Rating.GOOD for r in rows) / len(rows) for side in (responder, "human"))
        overall, positive, negative = (independence(responder, group) for group in ("overall", "positive", "negative"))
        row = (
            f"(`{responder}`) | {good:.1%} | {human:.1%} | {good / human - 1:+.1%} | {' | '.join(overall)} | "
            f"{positive[0]}, {positive[2]} | {negative[0]}, {negative[2]} |"
        )
        assert row in study, row


def test_the_readme_is_short_and_reaches_every_page_in_one_click():
    """The README stays under 200 lines, and its table links every page of the site, each
    by a link that resolves to the file."""
    readme = page("README.md")
    assert len(readme.splitlines()) < 200
    linked = set(re.findall(r"\]\((docs/[^)#]+\.md)\)", readme))
    pages = {path.relative_to(ROOT).as_posix() for path in (ROOT / "docs").rglob("*.md")}
    assert pages <= linked, sorted(pages - linked)
