"""The error of input a user can fix: a file, a profile, a template, a saved run."""

from __future__ import annotations


class InputError(Exception):
    """Bad input; the message names the file, the row, the setting or the option's value."""
