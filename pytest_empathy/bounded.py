"""Reading what a user, a server or another tool hands over, within bounds: a file no larger
than the bound of its kind, refused before it is read (a file read whole takes several times
its size in memory), and JSON nested deeper than Python's parser goes refused as damaged
rather than escaping as a RecursionError."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pytest_empathy.errors import InputError

MiB = 2**20


def read_bytes(path: str | Path, *, largest: int, what: str, error: type[InputError]) -> bytes:
    """The contents of the file at ``path``, an ``error`` naming it, its size and the bound
    when it holds more than ``largest`` bytes (checked before reading, and again while
    reading: a file may grow). OSError (a missing file included) is the caller's."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        data = file.read(largest + 1) if size <= largest else b""
    if size > largest or len(data) > largest:
        raise error(too_large(path, max(size, len(data)), largest, what))
    return data


def too_large(path: str | Path, size: int, largest: int, what: str) -> str:
    return f"{path}: {size / MiB:.0f} MiB, larger than any {what} ({largest // MiB} MiB); not read"


def loads(text: str | bytes) -> Any:
    """``json.loads``, with nesting too deep for the parser a ValueError like any other
    damage."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply to be read") from None
