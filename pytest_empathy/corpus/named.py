"""The choice between a named corpus (see ``names``) and a corpus file, and opening it.

Light on purpose: the release's download code is imported only when the release is opened.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING

from .names import RELEASE, SMOKE

if TYPE_CHECKING:
    from .rows import Corpus


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
