"""Writing a file whole or not at all: readers never see half of one, and a process killed
mid-write, or a write that fails (a full disk, a path that cannot be a file), leaves the old
file (or none) in place. A failure is a WriteError: one line naming the path and the cause.

Files are created with the mode the umask gives (a temporary file alone would be 0600)."""

from __future__ import annotations

import os
import tempfile
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
