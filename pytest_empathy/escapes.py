"""The encodings a credential may hide behind in text: escapes of its characters (JSON's and
Python's backslash escapes, percent-encoding, HTML's references) and encodings of the whole
text around it (base64, hexadecimal). One list: masking (``secrets``) finds a
credential written in any of them, and the audit (``cassettes.audit``) reads each back before
it matches, so that what one covers the other does too.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

# Characters with an escape of their own: a backslash and a letter or the character itself.
_SHORT_ESCAPES = {"\n": "n", "\r": "r", "\t": "t", "\b": "b", "\f": "f", "/": "/", '"': '"', "'": "'", "\\": "\\"}
_SHORT_READ = {letter: char for char, letter in _SHORT_ESCAPES.items()}
# HTML's named references of the characters a key may hold that html.escape writes so.
_NAMED_REFERENCES = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
# Fewer base64 or hexadecimal characters than this say nothing of what they encode.
SHORTEST_FORM = 6
# What a text holds when it may hold an escape: the first characters of every escape's.
MARKS = ("\\", "%", "&")


@dataclass(frozen=True)
class Encoding:
    """A way of writing text as other text: a character at a time (an escape), or the whole
    text (base64, hexadecimal)."""

    name: str
    # A pattern of a stretch written this way, and the text it may stand for.
    reads: str
    read: Callable[[str], str]
    # Of an escape: patterns of a character written this way (none when it cannot be).
    writes: Callable[[str], list[str]] | None = None
    # Of a whole-text encoding: what the encoding of any text holding a value holds.
    forms: Callable[[str], set[str]] | None = None


def _hex_pattern(number: int, width: int) -> str:
    """A pattern of ``number`` in hexadecimal, its letters in either case."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{number:0{width}x}")


def _json_writes(char: str) -> list[str]:
    code = ord(char)
    if code < 0x10000:
        return [rf"\\u{_hex_pattern(code, 4)}"]
    high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
    return [rf"\\u{_hex_pattern(high, 4)}\\u{_hex_pattern(low, 4)}"]


def _json_read(escape: str) -> str:
    codes = [int(escape[i + 2 : i + 6], 16) for i in range(0, len(escape), 6)]
    if len(codes) == 2:
        return chr(0x10000 + ((codes[0] - 0xD800) << 10) + (codes[1] - 0xDC00))
    return chr(codes[0])


def _html_writes(char: str) -> list[str]:
    code = ord(char)
    # HTML reads a numeric reference without its semicolon too.
    ways = [f"&#0*{code};?", f"&#[xX]0*{_hex_pattern(code, 1)};?"]
    if char in _NAMED_REFERENCES:
        ways.append(f"&{_NAMED_REFERENCES[char]};")
    return ways


def _html_read(reference: str) -> str:
    read = html.unescape(reference)
    # A code point beyond Unicode reads as U+FFFD: left as it was.
    return reference if read == "\ufffd" and "fffd" not in reference.lower() else read


def base64_forms(value: str) -> set[str]:
    """What base64 of any text holding ``value`` holds, in the standard and the URL-safe
    alphabets: the characters that depend on ``value`` alone, at each of the three
    alignments it may start at, and its whole encoding."""
    raw = value.encode("utf-8", "surrogateescape")
    found: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(raw).decode()
        found.update((whole, whole.rstrip("=")))
        for offset in range(3):
            encoded = encode(b"\0" * offset + raw).decode()
            # Character j holds bits 6j to 6j + 5 of the input: bytes 6j // 8 to (6j + 5) // 8.
            core = "".join(
                c for j, c in enumerate(encoded) if offset <= 6 * j // 8 and (6 * j + 5) // 8 < offset + len(raw)
            )
            if len(core) >= SHORTEST_FORM:
                found.add(core)
    return found


# What separates the readings of a stretch at its alignments: no pattern spans it.
_APART = "\0"


def _base64_read(stretch: str) -> str:
    """The text a stretch of base64 stands for, in either alphabet, read from each of the four
    characters it may start at (what comes before may be no part of it)."""
    data = stretch.rstrip("=").replace("-", "+").replace("_", "/")
    readings = []
    for start in range(4):
        aligned = data[start:]
        # A last character alone encodes no whole byte; two or three, one or two, padded.
        aligned = aligned[:-1] if len(aligned) % 4 == 1 else aligned + "=" * (-len(aligned) % 4)
        try:
            readings.append(base64.b64decode(aligned, validate=True).decode("latin-1"))
        except (binascii.Error, ValueError):
            continue
    return _APART.join(readings)


def hexadecimal_forms(value: str) -> set[str]:
    """The hexadecimal of ``value``'s UTF-8, its letters lower-case and upper-case (any text
    holding it holds that, byte for byte)."""
    digits = value.encode("utf-8", "surrogateescape").hex()
    return {digits, digits.upper()}


def _hexadecimal_read(stretch: str) -> str:
    """The text a stretch of hexadecimal digits stands for, read from its first digit and
    from its second."""
    return _APART.join(
        bytes.fromhex(stretch[start:][: (len(stretch) - start) // 2 * 2]).decode("latin-1") for start in (0, 1)
    )


ENCODINGS: tuple[Encoding, ...] = (
    Encoding(
        "JSON \\u",
        r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}",
        _json_read,
        writes=_json_writes,
    ),
    Encoding(
        "Python \\U",
        r"\\U000[0-9a-fA-F]{5}|\\U0010[0-9a-fA-F]{4}",
        lambda e: chr(int(e[2:], 16)),
        writes=lambda c: [rf"\\U{_hex_pattern(ord(c), 8)}"],
    ),
    Encoding(
        "Python \\x",
        r"\\x[0-9a-fA-F]{2}",
        lambda e: chr(int(e[2:], 16)),
        writes=lambda c: [rf"\\x{_hex_pattern(ord(c), 2)}"] if ord(c) < 0x100 else [],
    ),
    Encoding(
        "backslash escape",
        r"\\[nrtbf/\"'\\]",
        lambda e: _SHORT_READ[e[1]],
        writes=lambda c: [re.escape("\\" + _SHORT_ESCAPES[c])] if c in _SHORT_ESCAPES else [],
    ),
    Encoding(
        "percent-encoding",
        r"(?:%[0-9a-fA-F]{2})+",
        lambda e: unquote(e, errors="surrogateescape"),
        writes=lambda c: ["".join(f"%{_hex_pattern(byte, 2)}" for byte in c.encode("utf-8", "surrogateescape"))],
    ),
    Encoding(
        "HTML character reference",
        r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?",
        _html_read,
        writes=_html_writes,
    ),
    Encoding("base64", r"[A-Za-z0-9+/_-]{8,}={0,2}", _base64_read, forms=base64_forms),
    Encoding("hexadecimal", r"[0-9a-fA-F]{12,}", _hexadecimal_read, forms=hexadecimal_forms),
)
# The escapes, read back again while that changes the text; the whole-text encodings, once.
_ESCAPES = tuple(encoding for encoding in ENCODINGS if encoding.writes is not None)
_WHOLE = tuple(encoding for encoding in ENCODINGS if encoding.forms is not None)


_ESCAPE = re.compile("|".join(f"(?P<e{i}>{escape.reads})" for i, escape in enumerate(_ESCAPES)))


def unescaped(text: str) -> str:
    """``text`` with every escape written as the character it stands for, again while that
    changes it (an escape escaped again), a few times at most."""
    for _ in range(4):
        decoded = _ESCAPE.sub(_character, text)
        if decoded == text:
            break
        text = decoded
    return text


def _character(match: re.Match[str]) -> str:
    assert match.lastgroup is not None
    return _ESCAPES[int(match.lastgroup[1:])].read(match.group())


_ENCODED = [(re.compile(encoding.reads), encoding.read) for encoding in _WHOLE]


def decodings(text: str) -> list[str]:
    """What the stretches of ``text`` that may be base64 or hexadecimal stand for."""
    return [read(match.group()) for pattern, read in _ENCODED for match in pattern.finditer(text)]
