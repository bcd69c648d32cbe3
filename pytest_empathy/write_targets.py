"""Where the package may write or delete: inside the folder a file belongs to, with every
link on the way followed, and never over a file it reads.

A root that is itself a link is where its user put it (the cassettes on another disk, say)
and fine; a link below a root that leads out of it is refused, whoever made it: a folder
linked into a checked-out repository must not have the run write or delete outside it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path

from pytest_empathy.errors import InputError


class OutsideRoot(InputError):
    """A path that leads out of the folder it belongs to; the message names the link."""


def confined(path: Path, root: Path, what: str) -> Path:
    """``path`` (``what`` it is, for the message), when it lies inside ``root`` once every
    link is followed; else OutsideRoot naming the link or the '..' that leads out."""
    top, resolved = _resolved(root), _resolved(path)
    if top is None or resolved is None:
        raise OutsideRoot(f"{what} {path} is refused: a link on its way leads back to itself")
    if resolved.is_relative_to(top):
        return path
    raise OutsideRoot(f"{what} {path} is refused: it leads outside {root}{_way_out(path, root, top)}")


def _resolved(path: Path) -> Path | None:
    """``path`` with every link followed; None when links loop."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # RuntimeError: a loop, as Python 3.11 reports it
        return None


def _way_out(path: Path, root: Path, top: Path) -> str:
    """How ``path`` leaves ``root``: the first of its parts that resolves outside."""
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        return " (it is not under it)"
    current = root
    for part in parts:
        current = current / part
        if (_resolved(current) or top).is_relative_to(top):
            continue
        if part == "..":
            return f" (through '..' in {current})"
        if current.is_symlink():
            return f" (through the link {current} -> {os.readlink(current)})"
    return ""


def remove_confined(path: Path, root: Path) -> None:
    """Delete the file ``path`` under ``root`` without following any link below the root,
    even one made after ``path`` was checked: each folder on the way is opened refusing a
    link, and the file is removed from the last one. OutsideRoot when a folder on the way
    is a link; OSError when the file cannot be removed."""
    parts = path.relative_to(root).parts
    folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            try:
                inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            except OSError as error:
                if error.errno not in (errno.ELOOP, errno.ENOTDIR):
                    raise
                raise OutsideRoot(f"{part!r} on its way is a link, or no folder") from None
            os.close(folder)
            folder = inner
        os.unlink(parts[-1], dir_fd=folder)
    finally:
        os.close(folder)


def check_not_inputs(outputs: Iterable[tuple[str, Path | None]], inputs: Iterable[tuple[str, Path | None]]) -> None:
    """Refuse, before anything is written, an output that is one of the inputs or another
    output: the same path once links are followed, or the same file under another name (a
    hard link). Each is (what names it, e.g. its flag; the path), None when not given."""
    given = [(name, path) for name, path in inputs if path is not None]
    seen: list[tuple[str, Path]] = []
    for name, path in outputs:
        if path is None:
            continue
        for other_name, other in given:
            if _same_file(path, other):
                raise InputError(
                    f"{name} {path} is the same file as the input {other} ({other_name}): nothing is written "
                    "over an input; write it elsewhere"
                )
        for other_name, other in seen:
            if _same_file(path, other):
                raise InputError(
                    f"{name} {path} is the same file as {other_name} {other}: give each output a file of its own"
                )
        seen.append((name, path))


def _same_file(one: Path, other: Path) -> bool:
    if one.resolve() == other.resolve():
        return True
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False  # one of them does not exist (yet): no file is both
