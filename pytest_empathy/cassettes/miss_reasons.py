"""Why a call found no recording in its case's cassette, as a user can act on it."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from pathlib import Path

from .format import TEMPLATE_HEADER, recorded


class Miss(enum.StrEnum):
    """The reasons, as the controller counts them."""

    MISSING = "missing"
    TEMPLATE_CHANGED = "template-changed"
    REQUEST_CHANGED = "request-changed"


def diagnose(path: Path, template_sha256: str, templates: Mapping[str, str]) -> tuple[Miss, str]:
    """Why the cassette at ``path`` holds no recording of a call built with the template of
    ``template_sha256``, given the hash of every template the run uses, by role."""
    if not path.exists():
        why = "there is no cassette"
        yaml = path.with_suffix(".yaml")
        if yaml.exists():
            why += f" (only {yaml.name}, in YAML, which this version no longer reads)"
        return Miss.MISSING, why
    hashes = recorded(path, TEMPLATE_HEADER)
    stale = hashes - set(templates.values())
    if template_sha256 not in hashes and stale:
        # Only the hashes no current template has: the run's other template, recorded
        # alongside, is no part of what changed.
        recorded_with = ", ".join(sorted(h[:12] for h in stale))
        role = next((f"{r} " for r, sha in templates.items() if sha == template_sha256), "")
        return Miss.TEMPLATE_CHANGED, (
            f"the {role}template changed since the cassette was recorded (recorded with sha256 "
            f"{recorded_with}, now {template_sha256[:12]})"
        )
    return Miss.REQUEST_CHANGED, (
        "its requests differ from the recorded ones (recorded only in part, or model settings or text changed)"
    )
