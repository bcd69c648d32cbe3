"""The docs' figures are the suite's: the Reliability page's table counts the tests marked for it, and the
study page's reproduction figures are the release's."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .conftest import page

ROOT = Path(__file__).parents[1]


def collected(marker: str) -> int:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tests", "-m", marker, "--collect-only", "-q", "-p", "no:randomly"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"^(\d+)/\d+ tests collected", done.stdout, re.MULTILINE)
    assert found, done.stdout[-2000:] + done.stderr[-2000:]
    return int(found.group(1))


def test_the_reliability_table_counts_the_marked_tests():
    readme = page("explanation/reliability.md")
    table = {row: int(count) for row, count in re.findall(r"^\| (faults|bad inputs|secrets) \| (\d+) \|", readme, re.M)}
    markers = {"faults": "fault", "bad inputs": "bad_input", "secrets": "secrets"}
    assert set(table) == set(markers)
    with ThreadPoolExecutor(max_workers=3) as pool:
        counts = dict(zip(markers, pool.map(collected, markers.values()), strict=True))
    assert table == counts


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
