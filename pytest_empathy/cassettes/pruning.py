"""Cassettes no case uses any more: which they are, and removing them. (A cassette recorded
with another template is told by its case's replay: see ``miss_reasons``; one recording run at
a time: see ``lock``.)"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from pathlib import Path

from pytest_empathy.bounded import loads
from pytest_empathy.corpus.rows import Row
from pytest_empathy.write_targets import OutsideRoot, confined, remove_confined

from .format import CORPUS_HEADER, CaseCassettes, CassetteError, header, load


def unused(cassettes: CaseCassettes, rows: Iterable[Row], corpus: str, models: Collection[str]) -> list[Path]:
    """Cassettes in the model's folder that belong to none of the rows, and whose every call
    was recorded for this corpus with one of ``models`` (the run's responder and judge
    models). Anything else (another corpus, another model, a file it cannot read, a file
    reached through a link that leads out of the cassettes directory) is never listed, so
    pruning never deletes it."""
    # Compared as text, and only what is left sorted: a path object per case, sorted, was most
    # of what a run of a large corpus spent here.
    left = cassettes.present() - {cassettes.location(row) for row in rows}
    return [p for p in map(Path, sorted(left)) if _inside(p, cassettes.root) and _recorded_by(p, corpus, models)]


def prune(cassettes: CaseCassettes, paths: Iterable[Path]) -> list[str]:
    """Delete unused cassettes (see ``unused``), never through a link, even one made since
    they were listed; why each one that was not deleted was not."""
    refused = []
    for path in paths:
        try:
            remove_confined(path, cassettes.root)
        except FileNotFoundError:
            continue
        except OutsideRoot as error:
            refused.append(f"unused cassette {path} not deleted: {error}")
        except OSError as error:
            refused.append(f"unused cassette {path} not deleted: {error.strerror or error}")
    return refused


def _inside(path: Path, root: Path) -> bool:
    try:
        confined(path, root, "cassette")
    except OutsideRoot:
        return False
    return True


def _recorded_by(path: Path, corpus: str, models: Collection[str]) -> bool:
    try:
        interactions = load(path)
    except CassetteError:
        return False
    for interaction in interactions:
        request = interaction["request"]
        if request["body"] is None:
            return False
        try:
            model = loads(request["body"]).get("model")
        except (TypeError, ValueError, AttributeError):
            return False
        if header(request, CORPUS_HEADER) != [corpus] or model not in models:
            return False
    return bool(interactions)
