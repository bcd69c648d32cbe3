"""Model profiles: which model, behind which OpenAI-compatible endpoint, with which key and
generation settings. Built in: the study's four models, the follow-up study's judge and a
small local model; users add or override profiles in ``pyproject.toml``
(docs/how-to/record-a-model.md, "Model profiles")."""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, cast

from pytest_empathy.corpus.rows import NAME_RULE, valid_name
from pytest_empathy.errors import InputError

# How a judge can be asked for structured output: not at all, OpenAI's json_schema format,
# or llama.cpp's json_object with a schema (which it turns into a grammar).
STRUCTURED_OUTPUTS = ("none", "json_schema", "json_object_schema")
LOCAL_MODELS = ("smollm2-135m",)


class ProfileError(InputError):
    pass


class KeyStripped(UserWarning):
    """A key's variable held whitespace around the key, which is sent without it."""


class KeyNotMasked(UserWarning):
    """A key too short to tell from ordinary text, which the run sends but does not mask."""


@dataclass(frozen=True)
class ModelProfile:
    name: str
    model: str
    base_url: str | None = None
    # An environment variable that, when set, overrides base_url.
    base_url_env: str | None = None
    # The environment variable holding the API key; keys are never written in a profile.
    api_key_env: str | None = None
    temperature: float = 0.0
    seed: int = 0
    max_tokens: int = 80
    judge_max_tokens: int = 16
    structured_output: str = "none"
    # A model the plugin can serve itself with llama.cpp when no base URL is set.
    local: str | None = None
    # Seconds each read, write or connect of an attempt may wait.
    timeout: float = 60.0
    max_retries: int = 4
    # Seconds the whole call may take, its retries and their waits included; None: timeout
    # x attempts.
    deadline: float | None = None
    # The largest answer taken (and recorded), in bytes of its body.
    max_response_bytes: int = 1 << 20

    def endpoint(self, override: str | None = None) -> str | None:
        if override:
            return override
        if self.base_url_env and os.environ.get(self.base_url_env):
            return os.environ[self.base_url_env]
        return self.base_url

    def api_key(self) -> str | None:
        """The key in the profile's variable, without the whitespace around it (the line end
        of a pasted secret), as it is sent."""
        value = self._key_as_set()
        return None if value is None else value.strip()

    def _key_as_set(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    def key_fault(self) -> str | None:
        """Why an HTTP header cannot carry the profile's key, naming its variable and the first
        character it cannot carry, never the key; None when it can."""
        value = self._key_as_set()
        if not value:
            return None
        start = len(value) - len(value.lstrip())
        for position, char in enumerate(value.strip(), start=start + 1):
            if not "!" <= char <= "~":
                return (
                    f"${self.api_key_env} holds {_kind_of(char)} at position {position} of {len(value)}: an HTTP "
                    "header cannot carry it; set the key again without it"
                )
        return None

    def key_length(self) -> int:
        """The length of the key as it is sent; 0 without one."""
        return len(self.api_key() or "")

    def key_padded(self) -> bool:
        """Whether the profile's key has whitespace around it, stripped before it is sent."""
        value = self._key_as_set()
        return value is not None and value != value.strip()

    @property
    def attempts(self) -> int:
        return self.max_retries + 1

    def call_deadline(self) -> float:
        return self.deadline if self.deadline is not None else self.timeout * self.attempts

    def deadline_text(self) -> str:
        given = "" if self.deadline is not None else f" (timeout {self.timeout:g}s x {self.attempts} attempts)"
        return f"the {self.call_deadline():g}s deadline{given}"


_CONTROL_NAMES = {"\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN"}


def _kind_of(char: str) -> str:
    """What a character of a key is, to name it without showing the key."""
    code = f"U+{ord(char):04X}"
    if char == " ":
        return f"a space ({code})"
    if unicodedata.category(char) == "Cc":
        name = _CONTROL_NAMES.get(char)
        return f"a control character ({code}{f' {name}' if name else ''})"
    name = unicodedata.name(char, "")
    return f"a non-ASCII character ({code}{f' {name}' if name else ''})"


class _Host(TypedDict):
    base_url: str
    base_url_env: str
    api_key_env: str


_OPENAI: _Host = {
    "base_url": "https://api.openai.com/v1",
    "base_url_env": "OPENAI_BASE_URL",
    "api_key_env": "OPENAI_API_KEY",
}
_TOGETHER: _Host = {
    "base_url": "https://api.together.xyz/v1",
    "base_url_env": "TOGETHER_BASE_URL",
    "api_key_env": "TOGETHER_API_KEY",
}
_GEMINI: _Host = {
    "base_url": "https://generativelanguage.googleapis.com/v1beta/openai/",
    "base_url_env": "GEMINI_BASE_URL",
    "api_key_env": "GEMINI_API_KEY",
}

BUILTIN: dict[str, ModelProfile] = {
    p.name: p
    for p in (
        ModelProfile("gpt-4", "gpt-4", **_OPENAI),
        ModelProfile("gpt-4o-mini", "gpt-4o-mini", structured_output="json_schema", **_OPENAI),
        ModelProfile("llama-2", "meta-llama/Llama-2-70b-chat-hf", **_TOGETHER),
        ModelProfile("mixtral", "mistralai/Mixtral-8x7B-Instruct-v0.1", **_TOGETHER),
        ModelProfile("gemini-pro", "gemini-1.0-pro", **_GEMINI),
        ModelProfile(
            "smollm2-135m",
            "smollm2-135m",
            base_url_env="EMPATHY_SMOLLM2_BASE_URL",
            structured_output="json_object_schema",
            local="smollm2-135m",
        ),
    )
}


def load_profiles(pyproject: Path | None) -> dict[str, ModelProfile]:
    """The built-in profiles, with those of ``[tool.pytest-empathy.models]`` added or laid
    over them field by field."""
    profiles = dict(BUILTIN)
    if pyproject is None or not pyproject.is_file():
        return profiles
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ProfileError(f"{pyproject}: cannot read ({error})") from None
    tables = data.get("tool", {}).get("pytest-empathy", {}).get("models", {})
    for name, table in tables.items():
        where = f"{pyproject} [tool.pytest-empathy.models.{name}]"
        if not valid_name(name):
            raise ProfileError(f"{where}: a profile's name names its cassette folder: {NAME_RULE}")
        if not isinstance(table, dict):
            raise ProfileError(f"{where}: must be a table")
        base = profiles.get(name) or ModelProfile(name, table.get("model", name))
        profiles[name] = _overlay(base, table, where)
    return profiles


_FIELDS = {f.name: f for f in dataclasses.fields(ModelProfile) if f.name != "name"}


# The settings that are not strings, and the types they take.
_TYPES: dict[str, tuple[type, ...]] = {
    "temperature": (int, float),
    "timeout": (int, float),
    "deadline": (int, float),
    "max_response_bytes": (int,),
    "seed": (int,),
    "max_tokens": (int,),
    "judge_max_tokens": (int,),
    "max_retries": (int,),
}

_POSITIVE = {"timeout", "deadline", "max_response_bytes", "max_tokens", "judge_max_tokens"}


def _overlay(base: ModelProfile, table: dict[str, object], where: str) -> ModelProfile:
    changes: dict[str, Any] = {}
    for key, value in table.items():
        _check_setting(key, value, where)
        changes[key] = value
    url = changes.get("base_url")
    if isinstance(url, str) and ("?" in url or "#" in url or not url.startswith(("http://", "https://"))):
        raise ProfileError(
            f"{where}: base_url must be an http(s) URL without a query or fragment (keys go in api_key_env)"
        )
    profile = dataclasses.replace(base, **changes)
    if profile.structured_output not in STRUCTURED_OUTPUTS:
        raise ProfileError(f"{where}: structured_output must be one of {', '.join(STRUCTURED_OUTPUTS)}")
    if profile.local is not None and profile.local not in LOCAL_MODELS:
        raise ProfileError(f"{where}: local must be one of {', '.join(LOCAL_MODELS)}")
    return profile


def _check_setting(key: str, value: object, where: str) -> None:
    """A ProfileError unless ``key`` is a setting of a profile (never a key itself) and
    ``value`` is of its type and range."""
    if key in ("api_key", "key"):
        raise ProfileError(f"{where}: keys are read from the environment only; set api_key_env")
    if key not in _FIELDS:
        raise ProfileError(f"{where}: unknown setting {key!r} (known: {', '.join(_FIELDS)})")
    expected = _TYPES.get(key, (str,))
    if isinstance(value, bool) or not isinstance(value, expected):
        raise ProfileError(f"{where}: {key} = {value!r} has the wrong type")
    number = cast(float, value)
    if key in _POSITIVE and not (number > 0 and math.isfinite(number)):
        raise ProfileError(f"{where}: {key} = {value!r} must be a finite number above 0")
    if key == "max_retries" and number < 0:
        raise ProfileError(f"{where}: max_retries = {value!r} must be 0 or more")
