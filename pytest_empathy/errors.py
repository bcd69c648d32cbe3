"""The errors of input a user can fix: a file, a profile, a template, a saved run, an option."""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class InputError(Exception):
    """Bad input; the message names the file, the row, the setting or the option's value."""


class OptionError(InputError):
    """An option's value cannot be used; ``source`` is the option (``--empathy-x``, or
    ``empathy_x (ini)`` when it came from the ini file), and the message names it."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(message)
        self.source = source

    @classmethod
    def of(cls, source: str, problem: object) -> OptionError:
        """The error ``source: problem``."""
        return cls(source, f"{source}: {problem}")


def option_error(flag: str, build: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call a builder; input it cannot use becomes an OptionError that names the option."""
    try:
        return build(*args, **kwargs)
    except OptionError:
        raise
    except InputError as error:
        raise OptionError.of(flag, error) from None
