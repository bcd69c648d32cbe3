"""The named corpus ``welivita-pu-2024``: the study's released ratings.

The package ships only the figures of the release (ids, emotions, polarity, crowd ratings).
The text (situations, utterances, responses) is read from a path the user gives, or downloaded
once from a pinned URL, checked against its sha256 and cached.
"""

from __future__ import annotations

import hashlib
import os
import sys
import urllib.error
import urllib.request
from dataclasses import replace
from importlib.resources import as_file, files
from pathlib import Path

from pytest_empathy.atomic import write_atomic
from pytest_empathy.csv_text import rows_text
from pytest_empathy.ratings import Counts, Rating

from .names import RELEASE, RELEASE_TEXT_ENV
from .reader import CorpusError, load_file
from .rows import HUMAN, Corpus

NAME = RELEASE
TEXT_ENV = RELEASE_TEXT_ENV
URL = (
    "https://raw.githubusercontent.com/anuradha1992/llm-empathy-evaluation/"
    "d14205e22c9ce69766743f41b0efa7ad8de7d42f/data/dataset_and_ratings.csv"
)
SHA256 = "dac964fdbc067e8be93df70abda1a8ce9d75cdc5313dad334704a7db4c6b260f"
RESPONDERS = (HUMAN, "chatgpt", "chatgpt-empathy")

URL_ENV = "PYTEST_EMPATHY_RELEASE_URL"
CACHE_ENV = "PYTEST_EMPATHY_CACHE_DIR"
DOWNLOAD_TIMEOUT = 60.0
# What a user can do when the download fails.
_INSTEAD = (
    f"give a copy of the file with --empathy-corpus-text FILE (or ${TEXT_ENV}), or a mirror of it with ${URL_ENV}"
)


def load_figures() -> Corpus:
    """The shipped figures: every row of the release, without its text."""
    with as_file(files(__package__) / "data" / f"{NAME}.csv") as path:
        corpus = load_file(path, name=NAME, require_text=False)
    return replace(corpus, redistributable=False)


def load_with_text(text_path: str | Path | None = None) -> Corpus:
    """The release with its text, from ``text_path`` or from the download cache.

    The text file must hold exactly the rows of the shipped figures, with the same ratings.
    """
    path = Path(text_path) if text_path else download(os.environ.get(URL_ENV, URL))
    corpus = load_file(path, name=NAME)
    _check_matches_figures(corpus, load_figures())
    return replace(corpus, redistributable=False)


def _check_matches_figures(corpus: Corpus, figures: Corpus) -> None:
    expected = {row.id: (row.emotion, dict(row.ratings)) for row in figures.rows}
    found = {row.id: (row.emotion, {r: row.ratings[r] for r in RESPONDERS if r in row.ratings}) for row in corpus.rows}
    problems = []
    missing = sorted(expected.keys() - found.keys())
    extra = sorted(found.keys() - expected.keys())
    if missing:
        problems.append(f"{len(missing)} id(s) of the release missing (first: {missing[0]})")
    if extra:
        problems.append(f"{len(extra)} id(s) not in the release (first: {extra[0]})")
    changed = sorted(i for i in expected.keys() & found.keys() if expected[i] != found[i])
    if changed:
        problems.append(f"{len(changed)} row(s) with another emotion or rating (first: {changed[0]})")
    if problems:
        raise CorpusError(corpus.source, f"does not match the shipped figures of {NAME}: " + "; ".join(problems))


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "pytest-empathy"


def download(url: str = URL, *, directory: Path | None = None, sha256: str = SHA256) -> Path:
    """The release file in the cache, downloaded first when absent or damaged.

    The download is written to the cache only once its checksum is right, and atomically,
    so a failure never leaves a cached file behind.
    """
    directory = directory or cache_dir()
    target = directory / f"{NAME}-{sha256[:16]}.csv"
    if target.exists() and _sha256(target.read_bytes()) == sha256:
        return target
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _unwritable(directory, error) from None
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            data = response.read()
    except urllib.error.HTTPError as error:
        error.close()
        raise CorpusError(url, f"download of the {NAME} text failed ({error}); {_INSTEAD}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise CorpusError(url, f"download of the {NAME} text failed ({error}); {_INSTEAD}") from None
    digest = _sha256(data)
    if digest != sha256:
        raise CorpusError(url, f"wrong checksum: sha256 {digest}, expected {sha256}; {_INSTEAD}")
    try:
        write_atomic(target, data)
    except OSError as error:
        raise CorpusError(
            directory,
            f"cannot write the download cache ({error.strerror or error}); "
            f"set ${CACHE_ENV} or give the text with ${TEXT_ENV}",
        ) from None
    return target


def _unwritable(directory: Path, error: OSError) -> CorpusError:
    return CorpusError(
        directory,
        f"cannot write the download cache ({error.strerror or error}); "
        f"set ${CACHE_ENV} or give the text with ${TEXT_ENV}",
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def figures_csv(corpus: Corpus) -> str:
    """The figures of the release file as shipped in the package: no text, only labels, and
    each rating's rater as the reader numbers them (never the platform's participant ids)."""
    names = {r: r.replace("-", "_") for r in RESPONDERS}
    columns = ["id", "emotion", "polarity", *(f"rating_{c}" for c in names.values())]
    columns += [f"rater_{c}" for c in names.values()]
    return rows_text(
        columns,
        (
            {"id": row.id, "emotion": row.emotion, "polarity": row.polarity}
            | {f"rating_{c}": row.ratings[r].value for r, c in names.items()}
            | {f"rater_{c}": row.raters[r] for r, c in names.items()}
            for row in corpus.rows
        ),
    )


def human_counts() -> dict[str, Counts]:
    """The crowd's ratings of the release's human responses, counted per emotion: the
    baseline of a corpus that rates no human responses of its own."""
    by_emotion: dict[str, list[Rating]] = {}
    for row in load_figures().rows:
        by_emotion.setdefault(row.emotion, []).append(row.ratings[HUMAN])
    return {emotion: Counts.of(ratings) for emotion, ratings in sorted(by_emotion.items())}
