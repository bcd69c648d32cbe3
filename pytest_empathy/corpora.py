"""Named corpora, and the choice between a named corpus and a corpus file."""

from __future__ import annotations

from pathlib import Path

from . import release
from .corpus import Corpus, load_file

NAMED = (release.NAME,)


def open_corpus(spec: str | Path, *, text: Path | None = None) -> Corpus:
    """A named corpus or a corpus file. The release is read as figures only, unless a file
    with its text is given."""
    if spec == release.NAME:
        return release.load_with_text(text) if text else release.load_figures()
    return load_file(spec)
