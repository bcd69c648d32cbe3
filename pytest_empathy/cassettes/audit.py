"""Finding credentials in cassettes, and in reports, before they reach a public repository:
a cassette's recorded headers that carry a credential (or are named like one) with a value,
and every file's text for key-shaped strings wherever they hide. A file named is audited
whatever its suffix (pre-commit passes the staged files one by one).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from pytest_empathy.escapes import decodings, unescaped

from .format import SUFFIX

# Cassettes of this version, and YAML ones of earlier versions or other tools: a key in any
# of them would leak as surely.
AUDITED = (SUFFIX, ".yaml", ".yml")
# What reports are written as.
REPORTS = (".json", ".html", ".htm", ".csv", ".md", ".xml")

SECRET_HEADERS = {
    "authorization",
    "proxy-authorization",
    "api-key",
    "x-api-key",
    "x-goog-api-key",
    "cookie",
    "set-cookie",
    "openai-organization",
    "openai-project",
}
LONG_HEX = "long hexadecimal key"
SECRET_PATTERNS = {
    "sk- style key": re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
    "bearer token": re.compile(r"\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{8,}"),
    "organisation id": re.compile(r"\borg-[A-Za-z0-9]{16,}"),
    "project id": re.compile(r"\bproj_[A-Za-z0-9]{16,}"),
    "key parameter": re.compile(
        r"[?&](?:api[_-]?key|key|access[_-]?token|token|secret|password|sig|signature)=[A-Za-z0-9._~%-]{6,}", re.I
    ),
    # A password masked (``user:***@``) is none.
    "credentials in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@\"']+:(?!\*\*\*@)[^/\s@\"']+@", re.I),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    # 32 hexadecimal digits or more, letters and digits both (not a long number); the files'
    # own hashes are told apart by where they stand (see own_hashes).
    LONG_HEX: re.compile(r"(?<![0-9a-f])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{32,}(?![0-9a-f])", re.I),
}
# Header names that say they carry a credential, beyond the known ones.
_CREDENTIAL_NAME = re.compile(r"auth|api[_-]?key|token|secret|password|session", re.I)


@dataclass(frozen=True)
class Finding:
    path: Path
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.path}: {self.where}: {self.what}"


def audit(root: Path) -> list[Finding]:
    findings: list[Finding] = []
    for path in cassette_files(root):
        findings.extend(audit_file(path))
    return findings


# A header of a YAML cassette with a value on its line or as the first item of its list.
_YAML_SECRET_HEADER = re.compile(
    r"^[ \t]*("
    + "|".join(map(re.escape, sorted(SECRET_HEADERS)))
    + r"):[ \t]*(?:\n[ \t]*-[ \t]*)?(?!\[\]|null\b|''|\"\")\S",
    re.IGNORECASE | re.MULTILINE,
)


def cassette_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDITED and p.is_file())


def report_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in REPORTS and p.is_file())


def audit_reports(root: Path) -> list[Finding]:
    """Key-shaped strings in the reports under ``root``, line by line."""
    findings: list[Finding] = []
    for path in report_files(root):
        findings.extend(audit_report(path))
    return findings


def audit_report(path: Path) -> Iterator[Finding]:
    """Key-shaped strings in one report, line by line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        yield Finding(path, "file", f"cannot be read ({error}); check it by hand")
        return
    data = _json(text)
    own = own_hashes(data)
    yield from _lines(path, text, own, escaped=data is None)
    yield from _decoded(path, text, data, own)


def _lines(path: Path, text: str, own: frozenset[str] = frozenset(), *, escaped: bool = True) -> Iterator[Finding]:
    """Key-shaped strings, line by line, but for the file's own hashes (see _own_hash), and in
    base64 or hexadecimal; with ``escaped``, written with escapes too (a JSON file's strings are
    decoded instead, see _decoded)."""
    for number, line in enumerate(text.splitlines(), start=1):
        found = _found(line, own)
        for decoded in readings(line) if escaped else decodings(line):
            found.update(name for name, match in _matches(decoded, own) if match not in line)
        for name in SECRET_PATTERNS:
            if name in found:
                yield Finding(path, f"line {number}", name)


def _found(text: str, own: frozenset[str]) -> set[str]:
    return {name for name, _ in _matches(text, own)}


def _matches(text: str, own: frozenset[str]) -> Iterator[tuple[str, str]]:
    """(pattern name, what it matched) of the key-shaped strings in ``text``."""
    for name, pattern in SECRET_PATTERNS.items():
        for match in pattern.finditer(text):
            if name != LONG_HEX or not _own_hash(match, own):
                yield name, match.group()


def readings(text: str) -> list[str]:
    """What ``text`` may stand for: itself with its escapes read, and what its stretches of
    base64 or hexadecimal decode to (see ``pytest_empathy.escapes``)."""
    decoded = unescaped(text)
    return [decoded, *decodings(decoded)]


def _decoded(path: Path, text: str, data: object, own: frozenset[str]) -> Iterator[Finding]:
    """Key-shaped strings that only a JSON file's decoded strings show (escaped in the file,
    or in JSON held in a string, or escaped again there), with where the string is (a JSON
    pointer, into the JSON a string holds too)."""
    for pointer, string in _strings(data):
        found = {name for reading in readings(string) for name, match in _matches(reading, own) if match not in text}
        for name in SECRET_PATTERNS:
            if name in found:
                yield Finding(path, f"{pointer or '/'} (decoded)", name)


def _strings(data: object) -> Iterator[tuple[str, str]]:
    """The strings of a JSON document with their JSON pointers, in order; a string that holds
    a JSON document is replaced by that document's strings."""
    stack = [(data, "")]
    while stack:
        node, pointer = stack.pop()
        inner = _json(node) if isinstance(node, str) and node.lstrip()[:1] in ("{", "[", '"') else None
        if inner is not None:
            stack.append((inner, pointer))
        elif isinstance(node, dict):
            for index, (key, value) in reversed(list(enumerate(node.items()))):
                # A key is searched like a value; one that holds a credential is not printed.
                shows = any(next(_matches(reading, frozenset()), None) for reading in readings(key))
                segment = None if shows else f"{pointer}/{key}"
                stack.append((value, segment or f"{pointer}/(key {index})"))
                stack.append((key, f"{segment or f'{pointer}/(key {index})'} (key)"))
        elif isinstance(node, list):
            stack.extend((item, f"{pointer}/{index}") for index, item in reversed(list(enumerate(node))))
        elif isinstance(node, str):
            yield pointer, node


# What labels one of the plugin's hashes just before it on its line, tags taken out: the
# Markdown and HTML reports' "template sha256" and "response template", or a completion id.
_HASH_LABEL = re.compile(r"(?:\bsha256|\btemplate)[ :`]*$|\b(?:chat)?cmpl-$", re.I)
_TAG = re.compile(r"<[^<>]*>")
# The keys under which the plugin's JSON files hold hashes: the template header, a hashed
# request body's hash, a report's templates and corpus hash, a calibration's template hash.
HASH_KEYS = {"x-empathy-template", "sha256_of_body", "templates", "sha256", "template_sha256"}


def _own_hash(match: re.Match[str], own: frozenset[str]) -> bool:
    """A hexadecimal string the file holds by design: one of ``own``, or one labelled as a
    hash just before it on its line."""
    if match.group().lower() in own:
        return True
    before = _TAG.sub(" ", match.string[max(0, match.start() - 60) : match.start()])
    return _HASH_LABEL.search(before) is not None


def own_hashes(data: object) -> frozenset[str]:
    """The hashes a JSON file of the plugin holds by design: the values under HASH_KEYS, in
    the document and in the JSON request bodies a cassette holds as text."""
    found: set[str] = set()

    def walk(node: object, hashed: bool) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, hashed or str(key).lower() in HASH_KEYS)
        elif isinstance(node, list):
            for item in node:
                walk(item, hashed)
        elif isinstance(node, str):
            if hashed:
                found.add(node.lower())
            elif node.startswith("{"):
                with suppress(ValueError):
                    walk(json.loads(node), False)

    walk(data, False)
    return frozenset(found)


def _json(text: str) -> object:
    """The JSON document a report is, if it is one."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _has_value(value: object) -> bool:
    """A header value that holds something: not null, empty, or a list of empty strings."""
    values = value if isinstance(value, list) else [value]
    return any(v not in (None, "") for v in values)


def audit_file(path: Path) -> Iterator[Finding]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        yield Finding(path, "file", f"cannot be read ({error}); check it by hand")
        return
    if path.suffix.lower() != SUFFIX:
        yield from _lines(path, text)
        for match in _YAML_SECRET_HEADER.finditer(text):
            at = text.count("\n", 0, match.start()) + 1
            yield Finding(path, f"line {at} header {match.group(1)}", "credential header with a value")
        return
    try:
        data = json.loads(text)
    except ValueError as error:
        yield from _lines(path, text)
        yield Finding(path, "file", f"not valid JSON ({error}); check it by hand")
        return
    own = own_hashes(data)
    yield from _lines(path, text, own, escaped=False)
    yield from _decoded(path, text, data, own)
    yield from _headers(path, data)


def _headers(path: Path, data: object) -> Iterator[Finding]:
    """The recorded headers of a cassette's interactions that carry credentials, or are named
    like one, with a value."""
    interactions = data.get("interactions", []) if isinstance(data, dict) else []
    for index, interaction in enumerate(interactions if isinstance(interactions, list) else [], start=1):
        for side in ("request", "response"):
            headers = (interaction or {}).get(side, {}).get("headers") or {}
            for name, value in headers.items() if isinstance(headers, dict) else ():
                known = str(name).lower() in SECRET_HEADERS
                if (known or _CREDENTIAL_NAME.search(str(name))) and _has_value(value):
                    what = "credential header with a value" if known else "header named like a credential, with a value"
                    yield Finding(path, f"interaction {index} {side} header {name}", what)


def main(paths: Sequence[Path], *, reports: bool = False, logs: Sequence[Path] = ()) -> int:
    """Print the findings in the cassettes (or with ``reports`` the reports) that ``paths``
    name or hold, and in the saved terminal ``logs``; the exit status is 1 when there is any,
    2 when a path is no file or directory, or a log no file."""
    missing = [str(path) for path in paths if not path.is_file() and not path.is_dir()]
    missing += [str(log) for log in logs if not log.is_file()]
    if missing:
        print(f"pytest-empathy: error: not a file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    files = named_files(paths, report_files if reports else cassette_files)
    check = audit_report if reports else audit_file
    findings = [finding for path in files for finding in check(path)]
    # A log is what CI publishes of the terminal: read as a report is, whatever its suffix.
    findings += [finding for log in named_files(logs, report_files) for finding in audit_report(log)]
    for finding in findings:
        print(finding)
    print(f"{len(findings)} possible credential(s) in {_audited(paths, files, logs, reports=reports)}")
    return 1 if findings else 0


def _audited(paths: Sequence[Path], files: Sequence[Path], logs: Sequence[Path], *, reports: bool) -> str:
    """What was audited, as the summary line says it: the files and where, and the logs."""
    kind = "report(s)" if reports else "cassette(s)"
    where = f"under {paths[0]}" if len(paths) == 1 and paths[0].is_dir() else f"of {len(paths)} path(s) given"
    read = [f"{len(files)} {kind} {where}"] if paths else []
    read += [f"{len(logs)} log(s)"] if logs else []
    return " and ".join(read)


def named_files(paths: Sequence[Path], search: Callable[[Path], list[Path]]) -> list[Path]:
    """The files ``paths`` name, each once, in order: a file as it is, a directory's found by
    ``search``."""
    files: dict[Path, Path] = {}
    for path in paths:
        for file in search(path) if path.is_dir() else [path]:
            files.setdefault(file.resolve(), file)
    return list(files.values())
