"""The README's figures are the suite's: its Reliability table counts the tests marked for it."""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = {row: int(count) for row, count in re.findall(r"^\| (faults|bad inputs|secrets) \| (\d+) \|", readme, re.M)}
    markers = {"faults": "fault", "bad inputs": "bad_input", "secrets": "secrets"}
    assert set(table) == set(markers)
    with ThreadPoolExecutor(max_workers=3) as pool:
        counts = dict(zip(markers, pool.map(collected, markers.values()), strict=True))
    assert table == counts
