"""Named corpora, and the choice between a named corpus and a corpus file."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from . import release
from .corpus import Corpus, load_file

SMOKE = "smoke"
NAMED = (release.NAME, SMOKE)


def open_corpus(spec: str | Path, *, text: Path | None = None, need_text: bool = False) -> Corpus:
    """A named corpus or a corpus file. The release is read as figures only, unless its text
    is given or needed (then it is read from ``text`` or downloaded)."""
    if spec == release.NAME:
        return release.load_with_text(text) if text or need_text else release.load_figures()
    if spec == SMOKE:
        with as_file(files("pytest_empathy") / "data" / "smoke.jsonl") as path:
            return load_file(path, name=SMOKE)
    return load_file(spec)
