"""The names of the named corpora, read by the release and by the choice of a corpus alike.

Light on purpose: pytest reads these names in every run, with or without a benchmark.
"""

from __future__ import annotations

RELEASE = "welivita-pu-2024"
SMOKE = "smoke"
NAMED = (RELEASE, SMOKE)
# Where the release's text file may be named instead of downloading it.
RELEASE_TEXT_ENV = "PYTEST_EMPATHY_CORPUS_TEXT"
