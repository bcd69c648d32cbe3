"""The response template and the judge rubric: loading, checking, filling in, hashing.

Templates are plain text with the placeholders ``{situation}``, ``{utterance}`` and, in a
judge rubric, ``{response}``; any other brace is left as written.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from importlib.resources import files
from pathlib import Path

from pytest_empathy.errors import InputError

from .labels import LABELS

PLACEHOLDERS = ("situation", "utterance", "response")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")


class TemplateError(InputError):
    pass


@dataclass(frozen=True)
class Template:
    text: str
    source: str

    # Asked for every call a case makes.
    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def fill(self, **values: str) -> str:
        return _PLACEHOLDER.sub(lambda match: values[match.group(1)], self.text)


def response_template(path: Path | None = None) -> Template:
    template = _read(path, "response_template.txt")
    _require(template, ("utterance",))
    if "{response}" in template.text:
        raise TemplateError(
            f"{template.source}: a response template cannot use {{response}}: "
            "there is no response yet when it is filled in"
        )
    return template


def judge_rubric(path: Path | None = None) -> Template:
    template = _read(path, "judge_rubric.txt")
    _require(template, ("utterance", "response"))
    missing = [label for label in LABELS if not re.search(rf"\b{label}\b", template.text, re.I)]
    if missing:
        raise TemplateError(
            f"{template.source}: a judge rubric must offer the labels {', '.join(LABELS)}; "
            f"it never names {', '.join(missing)}"
        )
    return template


def _read(path: Path | None, default: str) -> Template:
    if path is None:
        resource = files(__package__) / "data" / default
        return Template(resource.read_text(encoding="utf-8"), f"built-in {default}")
    try:
        return Template(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError) as error:
        raise TemplateError(f"{path}: cannot read the template ({error})") from None


def _require(template: Template, placeholders: tuple[str, ...]) -> None:
    missing = [p for p in placeholders if "{" + p + "}" not in template.text]
    if missing:
        raise TemplateError(
            f"{template.source}: the template lacks the placeholder(s) " + ", ".join("{" + p + "}" for p in missing)
        )
