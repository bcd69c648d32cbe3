"""Named corpora, and the choice between a named corpus and a corpus file.

Light on purpose (the release's download code is imported only when it is opened): pytest
reads these names in every run, with or without a benchmark.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .rows import Corpus

RELEASE = "welivita-pu-2024"
SMOKE = "smoke"
NAMED = (RELEASE, SMOKE)
# Where the release's text file may be named instead of downloading it.
RELEASE_TEXT_ENV = "PYTEST_EMPATHY_CORPUS_TEXT"


def open_corpus(spec: str | Path, *, text: Path | None = None, need_text: bool = False) -> Corpus:
    """A named corpus or a corpus file. The release is read as figures only, unless its text
    is given or needed (then it is read from ``text`` or downloaded)."""
    from .reader import load_file

    if spec == RELEASE:
        from . import release

        return release.load_with_text(text) if text or need_text else release.load_figures()
    if spec == SMOKE:
        with as_file(files(__package__) / "data" / "smoke.jsonl") as path:
            return load_file(path, name=SMOKE)
    return load_file(spec)
