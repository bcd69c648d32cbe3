"""The shape of a JSON file the package reads back (a crowd manifest, a judge calibration, a
saved run), written as code: a check per value that says where the file is wrong and how, in
one line. Keys a schema does not name are allowed (a newer version may add some), but must
be JSON nested no deeper than ``DEEPEST`` levels, like every free-form part."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import TypeAlias

from pytest_empathy.errors import InputError

# A JSON value, as json.loads returns it.
JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
# A check takes a value and where it stands (``overall.confusion[2]``); it raises Invalid.
Check = Callable[[object, str], None]
# Levels of nesting a free-form value may have: far more than any the package writes.
DEEPEST = 32


class Invalid(ValueError):
    """Where a value stands, and what is wrong with it."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where or 'the top level'}: {problem}")


def validate(data: object, schema: Check, path: str | Path, error: type[InputError], what: str) -> None:
    """``error`` naming the file, the place and the problem unless ``data`` fits ``schema``."""
    try:
        schema(data, "")
    except Invalid as problem:
        raise error(f"{path}: not a usable {what} ({problem})") from None


def shown(value: object) -> str:
    """A value as a message shows it, short."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _at(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def obj(required: Mapping[str, Check], optional: Mapping[str, Check] | None = None) -> Check:
    """An object with each ``required`` key, and each ``optional`` one it has, fitting its check."""
    optional = optional or {}

    def check(value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise Invalid(where, f"{shown(value)}, not an object")
        missing = [key for key in required if key not in value]
        if missing:
            raise Invalid(where, f"no {', '.join(missing)}")
        for key, item in value.items():
            (required.get(key) or optional.get(key) or json_value)(item, _at(where, key))

    return check


def keyed(values: Check, keys: Check | None = None) -> Check:
    """An object of any keys (each fitting ``keys``), every value fitting ``values``."""

    def check(value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise Invalid(where, f"{shown(value)}, not an object")
        for key, item in value.items():
            if keys is not None:
                keys(key, where)
            values(item, _at(where, key))

    return check


def array(items: Check, *, length: int | None = None) -> Check:
    def check(value: object, where: str) -> None:
        if not isinstance(value, list):
            raise Invalid(where, f"{shown(value)}, not a list")
        if length is not None and len(value) != length:
            raise Invalid(where, f"{len(value)} entries, not {length}")
        for index, item in enumerate(value):
            items(item, _at(where, index))

    return check


def text(pattern: str | None = None, *, rule: str = "") -> Check:
    """A string, matching ``pattern`` whole when given (``rule`` says what it must be)."""
    matcher = None if pattern is None else re.compile(pattern)
    rule = rule or f"of the form {pattern}"

    def check(value: object, where: str) -> None:
        if not isinstance(value, str):
            raise Invalid(where, f"{shown(value)}, not a string")
        if matcher is not None and not matcher.fullmatch(value):
            raise Invalid(where, f"{shown(value)} is not {rule}")

    return check


def number(low: float = -math.inf, high: float = math.inf, *, whole: bool = False) -> Check:
    """A finite number in [low, high] (a whole one with ``whole``); never true or false."""
    kind = "a whole number" if whole else "a number"
    bounds = "" if (low, high) == (-math.inf, math.inf) else f" in [{low:g}, {high:g}]"
    bounds = f" of {low:g} or more" if high == math.inf and low > -math.inf else bounds

    def check(value: object, where: str) -> None:
        fits = isinstance(value, int) if whole else isinstance(value, int | float)
        if not isinstance(value, int | float) or isinstance(value, bool) or not fits:
            raise Invalid(where, f"{shown(value)} is not {kind}{bounds}")
        if not math.isfinite(value) or not low <= value <= high:
            raise Invalid(where, f"{shown(value)} is not {kind}{bounds}")

    return check


def whole(low: float = 0, high: float = math.inf) -> Check:
    return number(low, high, whole=True)


def flag(value: object, where: str) -> None:
    if not isinstance(value, bool):
        raise Invalid(where, f"{shown(value)} is not true or false")


def one_of(choices: Collection[object]) -> Check:
    def check(value: object, where: str) -> None:
        if isinstance(value, dict | list) or value not in choices or isinstance(value, bool):
            raise Invalid(where, f"{shown(value)} is not one of {', '.join(map(str, choices))}")

    return check


def nullable(inner: Check) -> Check:
    def check(value: object, where: str) -> None:
        if value is not None:
            inner(value, where)

    return check


def either(*checks: Check) -> Check:
    """The first of ``checks`` a value fits; the last one's complaint when it fits none."""

    def check(value: object, where: str) -> None:
        for candidate in checks[:-1]:
            try:
                candidate(value, where)
            except Invalid:
                continue
            return
        checks[-1](value, where)

    return check


def json_value(value: object, where: str) -> None:
    """JSON of any shape, nested at most DEEPEST levels (walked without recursion)."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= DEEPEST:
                raise Invalid(where, f"nested more than {DEEPEST} levels deep")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
