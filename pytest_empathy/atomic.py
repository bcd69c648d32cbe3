"""Writing a file whole or not at all: readers never see half of one, and a process killed
mid-write, or a write that fails (a full disk, a path that cannot be a file), leaves the old
file (or none) in place. A failure is a WriteError: one line naming the path and the cause.

Files are created with the mode the umask gives (a temporary file alone would be 0600)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pytest_empathy.errors import InputError


class WriteError(InputError):
    """A file that could not be written; what was there before is unchanged."""


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


_MODE = _file_mode()


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to a temporary file beside ``path``, then rename it
    into place."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = _filled(path, data)
        os.replace(temporary, path)
    except OSError as error:
        raise WriteError(f"cannot write {path} ({error.strerror or error}); what was there is unchanged") from None
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


def write_all(files: Mapping[Path, str | bytes]) -> None:
    """Write a set of files that belong together (a sheet and its manifest) whole or not at
    all: every one goes to a temporary file beside its place first, and only when all are
    written (a full disk fails here) are they renamed into place, which needs no room. A
    failure says which files, if any, were replaced."""
    filled: dict[Path, str] = {}
    replaced: list[Path] = []
    try:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            filled[path] = _filled(path, data)
        for path, temporary in filled.items():
            os.replace(temporary, path)
            replaced.append(path)
    except OSError as error:
        cause = error.strerror or error
        if not replaced:
            names = ", ".join(str(p) for p in files)
            raise WriteError(f"cannot write {names} ({cause}); what was there is unchanged") from None
        left = ", ".join(str(p) for p in files if p not in replaced)
        raise WriteError(
            f"cannot write {left} ({cause}), after {', '.join(map(str, replaced))} was replaced: "
            "the set is incomplete; write it again"
        ) from None
    finally:
        for temporary in filled.values():
            if os.path.exists(temporary):
                os.unlink(temporary)


def _filled(path: Path, data: str | bytes) -> str:
    """A temporary file beside ``path`` holding ``data``, with the umask's mode."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle, _MODE)
        with os.fdopen(handle, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
    except BaseException:
        os.unlink(temporary)
        raise
    return temporary


def write_new(path: Path, data: str | bytes) -> None:
    """Write ``data`` whole to ``path``, which must not exist: FileExistsError when another
    writer made it first, however close the race (the file is linked into place, which
    fails if the name is taken)."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = _filled(path, data)
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError as error:
        raise WriteError(f"cannot write {path} ({error.strerror or error})") from None
    finally:
        if temporary is not None:
            os.unlink(temporary)
