"""One recording run at a time per cassette directory."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TextIO

from .format import CassetteError

_ATTEMPTS = 5


def _not_through_a_link(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW, 0o666)


class RecordingLock:
    """One recording run at a time per cassette directory: two would write the same files.
    Held by the controller for the whole session; the operating system drops it when the
    process ends, however it ends. Released, it leaves nothing behind: the lock file goes,
    and the directory too when the lock made it and no cassette was written."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / ".recording.lock"
        self.handle: TextIO | None = None
        # The folders this run made for the lock, innermost first, removed again when empty.
        self.made: list[Path] = []

    def acquire(self) -> None:
        import fcntl

        # A few tries: a run ending meanwhile may remove the folder it made, or the lock file.
        for attempt in range(_ATTEMPTS):
            self._make_directory()
            try:
                # Held open for the whole session: closing it releases the lock.
                handle = open(self.path, "a+", encoding="utf-8", opener=_not_through_a_link)  # noqa: SIM115
            except OSError as error:
                if isinstance(error, FileNotFoundError) and attempt < _ATTEMPTS - 1:
                    continue
                if error.errno == errno.ELOOP:
                    raise CassetteError(
                        f"cannot record into {self.path.parent}: {self.path} is a link, and the recording lock is "
                        "never written through one; remove it"
                    ) from None
                raise self._unwritable(error) from None
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise CassetteError(
                    f"another run is recording into {self.path.parent} (process {holder}); wait for it "
                    "to finish, or record into another --empathy-cassettes directory"
                ) from None
            if self._still_there(handle):
                break
            # The run before removed the file between our open and our lock: lock the new one.
            handle.close()
        else:
            raise CassetteError(f"cannot record into {self.path.parent}: its lock file kept being removed")
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self.handle = handle

    def _make_directory(self) -> None:
        """The lock's folder, each missing level made here and remembered, innermost first:
        a level another run made meanwhile is that run's."""
        missing = [d for d in (self.path.parent, *self.path.parent.parents) if not d.exists()]
        for directory in reversed(missing):
            try:
                directory.mkdir()
            except FileExistsError:
                continue
            except OSError as error:
                raise self._unwritable(error) from None
            self.made.insert(0, directory)

    def _still_there(self, handle: TextIO) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(handle.fileno()).st_ino
        except FileNotFoundError:
            return False

    def _unwritable(self, error: OSError) -> CassetteError:
        return CassetteError(
            f"cannot record into {self.path.parent} ({error.strerror or error}): no cassette could be written"
        )

    def release(self) -> None:
        if self.handle is None:
            return
        # Removed while still held, so that no other run can lock this file in between; and
        # only when it is still this run's file.
        if self._still_there(self.handle):
            self.path.unlink(missing_ok=True)
        self.handle.close()
        self.handle = None
        for directory in self.made:
            try:
                directory.rmdir()
            except OSError:
                return  # it holds cassettes now
