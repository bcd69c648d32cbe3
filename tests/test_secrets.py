"""Credentials in the shapes a run may meet them in: keys with characters a header cannot
carry or whitespace around them, echoes escaped, encoded or in another field, base URLs with
a user, a password or a token in their path; and the audit, which must find what decodes to
a key. Every run's outputs are searched for the key in each form it could be read back from."""

from __future__ import annotations

import base64
import html
import json
import re
from urllib.parse import quote

import pytest

from .conftest import FAKE_KEY, cli, run, stub_cassette
from .stub_server import completion, is_judge_request

JSON = {"content-type": "application/json"}
# A key with a slash, which JSON may write as "\/".
SLASHED_KEY = "sk-empathy-FAKE-4f1c/9e0b7a2d4c6e8f00"


def readable_forms(key: str) -> list[str]:
    """What a reader decodes back to the key: the key, its base64 (alone and in Basic
    credentials or a Bearer header) and its percent-encoding."""
    encoded = [base64.b64encode(text.encode()).decode() for text in (key, f"alice:{key}", f"Bearer {key}")]
    return [key, *(form.rstrip("=") for form in encoded), quote(key, safe="")]


def decoded_strings(node: object, *, values_only: bool = False) -> list[str]:
    """Every string of a JSON document, and of the JSON documents its strings hold; with
    ``values_only``, neither object keys nor the strings that hold a JSON document."""
    if isinstance(node, dict):
        keys = [] if values_only else list(node)
        return [s for item in [*keys, *node.values()] for s in decoded_strings(item, values_only=values_only)]
    if isinstance(node, list):
        return [s for item in node for s in decoded_strings(item, values_only=values_only)]
    if not isinstance(node, str):
        return []
    try:
        inner = json.loads(node)
    except ValueError:
        return [node]
    if not isinstance(inner, dict | list | str):
        return [node]
    holder = [] if values_only and not isinstance(inner, str) else [node]
    return [*holder, *decoded_strings(inner, values_only=values_only)]


def leaks(text: str, key: str) -> list[str]:
    """The forms of ``key`` that ``text`` holds, read plainly, as JSON and as HTML."""
    try:
        texts = [text, *decoded_strings(json.loads(text))]
    except ValueError:
        texts = [text]
    texts += [html.unescape(t) for t in texts]
    return sorted({form for t in texts for form in readable_forms(key) if form in t})


def outputs(pytester: pytest.Pytester, *results: pytest.RunResult) -> dict[str, str]:
    """Everything the runs wrote or printed, by where it was."""
    found = {f"output {i}": r.stdout.str() + r.stderr.str() for i, r in enumerate(results)}
    for path in pytester.path.rglob("*"):
        if path.is_file() and path.suffix != ".toml":
            found[str(path)] = path.read_text(encoding="utf-8", errors="replace")
    return found


def assert_no_leak(pytester: pytest.Pytester, key: str, *results: pytest.RunResult) -> None:
    leaked = {where: forms for where, text in outputs(pytester, *results).items() if (forms := leaks(text, key))}
    assert leaked == {}
    audited = (["cassettes"] if (pytester.path / "cassettes").is_dir() else []) + ["--reports", "."]
    for args in (audited[:-2], audited[-2:]):
        done = cli("audit-cassettes", *args, cwd=pytester.path) if args else None
        assert done is None or done.returncode == 0, done.stdout


def authorization(headers: dict[str, str]) -> str:
    return {name.lower(): value for name, value in headers.items()}["authorization"]


BAD_CHARACTERS = {
    "line feed inside": ("\n", "a control character (U+000A LINE FEED)"),
    "carriage return inside": ("\r", "a control character (U+000D CARRIAGE RETURN)"),
    "tab inside": ("\t", "a control character (U+0009 TAB)"),
    "delete": ("\x7f", "a control character (U+007F)"),
    "start of heading": ("\x01", "a control character (U+0001)"),
    "escape": ("\x1b", "a control character (U+001B)"),
    "space inside": (" ", "a space (U+0020)"),
    "no-break space": ("\u00a0", "a non-ASCII character (U+00A0 NO-BREAK SPACE)"),
    "zero-width space": ("\u200b", "a non-ASCII character (U+200B ZERO WIDTH SPACE)"),
    "ideographic space": ("\u3000", "a non-ASCII character (U+3000 IDEOGRAPHIC SPACE)"),
    "byte order mark": ("\ufeff", "a non-ASCII character (U+FEFF ZERO WIDTH NO-BREAK SPACE)"),
    "emoji": ("\U0001f511", "a non-ASCII character (U+1F511 KEY)"),
    "non-ASCII letter": ("\u00e9", "a non-ASCII character (U+00E9 LATIN SMALL LETTER E WITH ACUTE)"),
}


@pytest.mark.bad_input
@pytest.mark.secrets
@pytest.mark.parametrize("shape", list(BAD_CHARACTERS))
def test_a_key_a_header_cannot_carry_is_a_usage_error_naming_its_variable(stub, pytester, monkeypatch, shape):
    """Refused before any call, naming the variable, the character and where it stands, never
    the key: the HTTP library's own error would print the header, key and all."""
    char, kind = BAD_CHARACTERS[shape]
    at = 12
    monkeypatch.setenv("STUB_API_KEY", FAKE_KEY[:at] + char + FAKE_KEY[at:])
    result = run(pytester, "--empathy-record=once", "--junitxml=junit.xml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    message = f"ERROR: --empathy-model: $STUB_API_KEY holds {kind} at position {at + 1} of {len(FAKE_KEY) + 1}: *"
    result.stderr.fnmatch_lines([message])
    assert stub.requests == []
    assert_no_leak(pytester, FAKE_KEY[4:at], result)
    assert_no_leak(pytester, FAKE_KEY[at:], result)


@pytest.mark.bad_input
@pytest.mark.secrets
def test_a_judges_key_is_checked_too(stub, pytester, monkeypatch):
    """The responder replays the corpus's recorded answers; the judge's key is the one sent."""
    monkeypatch.setenv("STUB_API_KEY", FAKE_KEY[:20] + "\u2028" + FAKE_KEY[20:])
    result = run(pytester, "--empathy-record=once", "--empathy-model=bot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --empathy-judge: $STUB_API_KEY holds a non-ASCII character (U+2028 *"])
    assert stub.requests == []


@pytest.mark.secrets
@pytest.mark.parametrize("around", [("", "\n"), ("", "\r\n"), (" \t", ""), ("", "\u00a0"), ("\n", " ")])
def test_whitespace_around_a_key_is_stripped_with_a_warning_naming_its_variable(stub, pytester, monkeypatch, around):
    before, after = around
    monkeypatch.setenv("STUB_API_KEY", before + FAKE_KEY + after)
    result = run(pytester, "--empathy-record=once", "-k", "sad", "-W", "always")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*KeyStripped: $STUB_API_KEY holds whitespace around its key*sent without it"])
    assert {authorization(headers) for headers, _ in stub.requests} == {f"Bearer {FAKE_KEY}"}
    assert_no_leak(pytester, FAKE_KEY, result)
    # A replay sends no key: nothing to warn of.
    replayed = run(pytester, "-k", "sad")
    assert replayed.ret == 0 and "KeyStripped" not in replayed.stdout.str()


@pytest.mark.secrets
@pytest.mark.parametrize("key", ["x", "EMPTY", "sk-1"])
def test_a_key_too_short_to_mask_is_sent_with_a_warning_naming_its_variable(stub, pytester, monkeypatch, key):
    monkeypatch.setenv("STUB_API_KEY", key)
    result = run(pytester, "--empathy-record=once", "-k", "sad", "-W", "always")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(
        [f"*KeyNotMasked: $STUB_API_KEY holds a key of {len(key)} character(s), too short to tell from ordinary text*"]
    )
    assert {authorization(headers) for headers, _ in stub.requests} == {f"Bearer {key}"}
    # A key of the length masking starts at is masked, and no warning is given.
    monkeypatch.setenv("STUB_API_KEY", "k" * 6)
    longer = run(pytester, "--empathy-record=all", "-k", "sad", "-W", "always")
    assert longer.ret == 0 and "KeyNotMasked" not in longer.stdout.str()


def escape_every(text: str, every: int, digits: str = "x") -> str:
    """``text`` with every ``every``-th character written as a JSON \\u escape, its ``digits``
    lower-case (x) or upper-case (X)."""
    return "".join(f"\\u{ord(c):04{digits}}" if i % every == 0 else c for i, c in enumerate(text))


# How a server may echo the key, as the raw JSON text of a string.
ECHOES = {
    "first character escaped": lambda key: "\\u0073" + key[1:],
    "every character escaped": lambda key: escape_every(key, 1),
    "every third character escaped, upper-case hex": lambda key: escape_every(key, 3, "X"),
    "slash escaped": lambda key: key.replace("/", "\\/"),
    "base64": lambda key: base64.b64encode(key.encode()).decode(),
    "Basic credentials": lambda key: "Basic " + base64.b64encode(f"alice:{key}".encode()).decode(),
    "base64 of the Bearer header": lambda key: base64.b64encode(f"Bearer {key}".encode()).decode(),
    "percent-encoded": lambda key: "".join(f"%{b:02X}" for b in key.encode()),
    "HTML character references": lambda key: "".join(f"&#{ord(c)};" for c in key),
}


@pytest.mark.secrets
@pytest.mark.parametrize("echo", list(ECHOES))
def test_a_key_echoed_escaped_or_encoded_reaches_no_output(stub, pytester, monkeypatch, echo):
    """The cassette is decoded before it is masked: an escaped key decodes to the key. One
    case's answer carries the echo, the other's carries it in a field the plugin does not
    read, recorded all the same."""
    monkeypatch.setenv("STUB_API_KEY", SLASHED_KEY)
    shown = ECHOES[echo](SLASHED_KEY)

    def echoing(body):
        if is_judge_request(body):
            return 200, JSON, completion("Good")
        in_answer = "(case 0)" in body["messages"][0]["content"]
        data = json.loads(completion("I hear you. (ECHO)" if in_answer else "I hear you."))
        data["system_fingerprint"] = "fp_1" if in_answer else "ECHO"
        return 200, JSON, json.dumps(data).replace("ECHO", shown).encode()

    stub.answer_of = echoing
    result = run(pytester, "--empathy-record=once", "-k", "sad", "--junitxml=junit.xml", "--empathy-html=r.html")
    assert result.ret == 0, result.stdout.str()
    for case in ("sad-sad0", "sad-sad1"):
        result.stdout.fnmatch_lines([f"*SecretMasked: case {case}: a model's answer carried a credential*"])
        cassette = json.loads(stub_cassette(pytester, case).read_text())
        assert "***" in cassette["interactions"][0]["response"]["body"]["string"]
    replayed = run(pytester, "-k", "sad")
    assert replayed.ret == 0
    assert_no_leak(pytester, SLASHED_KEY, result, replayed)


@pytest.mark.secrets
def test_credentials_in_a_base_url_are_masked_in_the_cassette_messages_and_usage_errors(stub, pytester):
    """A user and password (sent as Basic credentials) and a token in the path: masked in the
    recording's URI, which replays all the same, in the messages of failed calls, in an echo
    of the Authorization header, and in the usage error of a URL with a query."""
    password, token = "hunter2-password", "tok3n-in-the-path"
    url = stub.url.replace("http://", f"http://alice:{password}@").replace("/v1", f"/token/{token}/v1")
    sent = []

    def echo_authorization(body):
        sent.append(authorization(stub.requests[-1][0]))
        content = "Good" if is_judge_request(body) else f"I hear you. ({sent[-1]})"
        return 200, JSON, completion(content)

    stub.answer_of = echo_authorization
    urls = (f"--empathy-base-url={url}", f"--empathy-judge-base-url={url}")
    recorded = run(pytester, "--empathy-record=once", "-k", "sad", *urls)
    assert recorded.ret == 0, recorded.stdout.str()
    cassette = json.loads(stub_cassette(pytester, "sad-sad0").read_text())
    assert {i["request"]["uri"] for i in cassette["interactions"]} == {"http://127.0.0.1/token/***/v1/chat/completions"}
    replayed = run(pytester, "-k", "sad", *urls)
    assert replayed.ret == 0, replayed.stdout.str()

    stub.answer_of = lambda body: (500, JSON, json.dumps({"error": {"message": f"no {token} for alice"}}).encode())
    failed = run(pytester, "--empathy-record=once", "-k", "afraid-afraid0", *urls)
    assert failed.ret == 1
    failed.stdout.fnmatch_lines(["*stub: HTTP 500 from http://127.0.0.1:*/token/***/v1/: *no *** for alice*"])
    refused = run(pytester, "--empathy-record=once", f"--empathy-base-url={url}?api-version=1")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    refused.stderr.fnmatch_lines(["*--empathy-base-url: http://127.0.0.1:*/token/***/v1 has a query or fragment*"])
    for secret in (password, token, *sent):
        assert_no_leak(pytester, secret, recorded, replayed, failed, refused)


@pytest.mark.secrets
def test_the_audit_decodes_json_strings_and_escapes_before_matching(tmp_path):
    """A key that only decoding shows: escaped in a cassette's body, in JSON inside a string,
    JSON-escaped, HTML-escaped, in base64 or hexadecimal in a report; found once each (by each
    pattern it matches), with where it is."""
    body = json.dumps({"id": "x", "note": escape_every(FAKE_KEY, 2)})
    said = json.dumps({"said": FAKE_KEY}).replace("s", "\\u0073")
    inner = json.dumps({"choices": [{"message": {"content": said}}]})
    interactions = [
        {"request": {"uri": "/v1", "headers": {}}, "response": {"headers": {}, "body": {"string": text}}}
        for text in (body, inner)
    ]
    cassette = tmp_path / "cassettes" / "c.json"
    cassette.parent.mkdir()
    cassette.write_text(json.dumps({"version": 1, "interactions": interactions}, indent=1))
    assert FAKE_KEY not in cassette.read_text()
    done = cli("audit-cassettes", str(cassette.parent))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{cassette}: /interactions/0/response/body/string/note (decoded): sk- style key",
        f"{cassette}: /interactions/1/response/body/string/choices/0/message/content/said (decoded): sk- style key",
        f"2 possible credential(s) in 1 cassette(s) under {cassette.parent}",
    ]
    reports = tmp_path / "reports"
    reports.mkdir()
    # Found by the pattern each decodes to: a key parameter after ``&amp;``, a Bearer header
    # in base64, a key in hexadecimal.
    lines = [
        f"said {escape_every(FAKE_KEY, 1)}",
        "<a href='https://example.org/v1?model=x&amp;api_key=hunter2hunter2'>the endpoint</a>",
        "echo " + base64.b64encode(f"Bearer {FAKE_KEY}".encode()).decode(),
        "echo " + FAKE_KEY.encode().hex().upper(),
    ]
    (reports / "r.md").write_text("\n".join(lines) + "\n")
    (reports / "r.html").write_text("<p>" + "".join(f"&#x{ord(c):x};" for c in FAKE_KEY) + "</p>\n")
    done = cli("audit-cassettes", "--reports", str(reports))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{reports / 'r.html'}: line 1: sk- style key",
        f"{reports / 'r.md'}: line 1: sk- style key",
        f"{reports / 'r.md'}: line 2: key parameter",
        f"{reports / 'r.md'}: line 3: sk- style key",
        f"{reports / 'r.md'}: line 3: bearer token",
        f"{reports / 'r.md'}: line 4: sk- style key",
        f"{reports / 'r.md'}: line 4: long hexadecimal key",
        f"7 possible credential(s) in 2 report(s) under {reports}",
    ]


@pytest.mark.secrets
def test_the_audit_reads_a_saved_terminal_log(tmp_path, stub, pytester):
    """--log: the terminal is what CI publishes; a key there is found like one in a report,
    escaped or not, and a log that is not there is one line, exit status 2."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "junit.xml").write_text("<testsuite/>")
    log = tmp_path / "ci.log"
    log.write_text(f"collected 2 items\nE   httpx.LocalProtocolError: Illegal header value b'Bearer {FAKE_KEY}\\n'\n")
    done = cli("audit-cassettes", "--reports", str(reports), "--log", str(log))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{log}: line 2: sk- style key",
        f"{log}: line 2: bearer token",
        f"2 possible credential(s) in 1 report(s) under {reports} and 1 log(s)",
    ]
    log.write_text("said " + escape_every(FAKE_KEY, 4) + "\n")
    assert cli("audit-cassettes", "--log", str(log)).stdout.splitlines() == [
        f"{log}: line 1: sk- style key",
        "1 possible credential(s) in 1 log(s)",
    ]
    # The log of a real run, recorded with every report.
    result = run(pytester, "--empathy-record=once", "-k", "sad", "-rA", "--junitxml=junit.xml")
    saved = pytester.path / "terminal.log"
    saved.write_text(result.stdout.str() + result.stderr.str())
    done = cli("audit-cassettes", "--reports", str(pytester.path), "--log", str(saved))
    assert done.returncode == 0, done.stdout
    missing = cli("audit-cassettes", "--log", str(tmp_path / "absent.log"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"pytest-empathy: error: not a file or directory: {tmp_path / 'absent.log'}"


def answering(content, *, headers=JSON, extra=b""):
    """A stub that answers each case with ``content`` (a function of the request's body) and
    rates it Good; ``extra`` is written into the answer's JSON object as raw text."""

    def answer(body):
        if is_judge_request(body):
            return 200, JSON, completion("Good")
        return 200, headers, completion(content(body))[:-1] + extra + b"}"

    return answer


LOG_OPTIONS = {
    "captured at DEBUG into JUnit XML": ("-rA", "--log-level=DEBUG", "-o", "junit_logging=all"),
    "live at INFO": ("--log-cli-level=INFO",),
    "live at DEBUG, captured at INFO": ("--log-cli-level=DEBUG", "--log-level=INFO", "-rA"),
}


@pytest.mark.secrets
@pytest.mark.parametrize("logging", list(LOG_OPTIONS))
def test_the_libraries_logs_show_no_credential(stub, pytester, logging):
    """vcrpy logs a response before it is masked, with every header; httpx and vcrpy log each
    request's URL whole: every record of the libraries a run drives is masked as it is made,
    whatever level pytest captures or shows them at."""
    password, token = "hunter2-password", "tok3n-in-the-path"
    url = stub.url.replace("http://", f"http://alice:{password}@").replace("/v1", f"/token/{token}/v1")
    stub.answer_of = answering(lambda body: f"I hear you. ({FAKE_KEY})", headers={**JSON, "x-echo": f"key={FAKE_KEY}"})
    urls = (f"--empathy-base-url={url}", f"--empathy-judge-base-url={url}")
    result = run(pytester, "--empathy-record=once", "-k", "sad", "--junitxml=junit.xml", *urls, *LOG_OPTIONS[logging])
    assert result.ret == 0, result.stdout.str()
    # The logs were there to leak from.
    assert "chat/completions" in result.stdout.str() + (pytester.path / "junit.xml").read_text()
    for secret in (FAKE_KEY, password, token):
        assert_no_leak(pytester, secret, result)


@pytest.mark.secrets
@pytest.mark.parametrize(
    "content_type",
    [
        f"application/json; charset=utf-8; k={FAKE_KEY}",
        "application/json; k=" + base64.b64encode(f"alice:{FAKE_KEY}".encode()).decode(),
        "application/json; k=" + "".join(f"%{b:02x}" for b in FAKE_KEY.encode()),
    ],
)
def test_a_key_echoed_in_a_kept_header_is_masked(stub, pytester, content_type):
    stub.answer_of = answering(lambda body: "I hear you.", headers={"content-type": content_type})
    result = run(pytester, "--empathy-record=once", "-k", "sad")
    assert result.ret == 0, result.stdout.str()
    cassette = json.loads(stub_cassette(pytester, "sad-sad0").read_text())
    assert cassette["interactions"][0]["response"]["headers"]["content-type"][0].endswith("***")
    replayed = run(pytester, "-k", "sad")
    assert replayed.ret == 0, replayed.stdout.str()
    assert_no_leak(pytester, FAKE_KEY, result, replayed)


@pytest.mark.secrets
@pytest.mark.parametrize("surrogate", ["\\udc00", "\\ud800", "\\udfff x \\ud83d"])
def test_an_answer_with_a_lone_surrogate_is_masked_and_replays(stub, pytester, surrogate):
    """A lone surrogate has no UTF-8: the masked answer keeps it escaped, as the server did,
    and the traceback a crash would print (its frames' locals hold the body) never comes."""
    stub.answer_of = answering(lambda body: f"I hear you. ({FAKE_KEY})", extra=f', "extra": "{surrogate}"'.encode())
    args = ("-k", "sad", "-vvv", "-l", "--tb=long", "-rA", "--junitxml=junit.xml")
    result = run(pytester, "--empathy-record=once", *args)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*SecretMasked: case sad-sad0*"])
    replayed = run(pytester, *args)
    assert replayed.ret == 0, replayed.stdout.str()
    assert_no_leak(pytester, FAKE_KEY, result, replayed)


@pytest.mark.secrets
@pytest.mark.parametrize(
    "extra",
    [
        f'"note": "{FAKE_KEY}", "note": "x"',
        f'"note": {{"k": "{escape_every(FAKE_KEY, 2)}"}}, "note": 1',
        f'"choices": [{{"index": 0, "message": {{"role": "assistant", "content": "{FAKE_KEY}"}}}}], '
        '"choices": [{"index": 0, "message": {"role": "assistant", "content": "I hear you."}}]',
    ],
)
def test_a_key_that_only_a_duplicated_json_key_holds_is_masked(stub, pytester, extra):
    """Decoding keeps the last of two equal keys: what it dropped is masked in the text."""
    stub.answer_of = answering(lambda body: "I hear you.", extra=(", " + extra).encode())
    result = run(pytester, "--empathy-record=once", "-k", "sad", "-W", "always")
    assert result.ret == 0, result.stdout.str()
    assert "***" in stub_cassette(pytester, "sad-sad0").read_text()
    assert_no_leak(pytester, FAKE_KEY, result)


@pytest.mark.secrets
@pytest.mark.parametrize(
    "escape", [lambda key: "\\u0073" + key[1:], lambda key: escape_every(key, 1, "X")], ids=["first", "every"]
)
def test_the_audit_decodes_json_object_keys(tmp_path, escape):
    """A key escaped as a JSON object's key is found like one in a value, and its pointer
    does not print it."""
    body = '{"id": "x", "' + escape(FAKE_KEY) + '": {"note": 1}}'
    interaction = {"request": {"uri": "/v1", "headers": {}}, "response": {"headers": {}, "body": {"string": body}}}
    cassette = tmp_path / "cassettes" / "c.json"
    cassette.parent.mkdir()
    cassette.write_text(json.dumps({"version": 1, "interactions": [interaction]}, indent=1))
    done = cli("audit-cassettes", str(cassette.parent))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{cassette}: /interactions/0/response/body/string/(key 1) (key) (decoded): sk- style key",
        f"1 possible credential(s) in 1 cassette(s) under {cassette.parent}",
    ]


# A key with every character that HTML names or JSON escapes with a backslash.
MARKED_KEY = "sk-empathy-FAKE-4f1c&9e0b<7a2d>4c\"6e'8f\\00"
MARKED_ECHOES = {
    "HTML named references": html.escape,
    "HTML named references, quotes left": lambda key: html.escape(key, quote=False),
    "decimal references without semicolons": lambda key: "".join(f"&#{ord(c)}" for c in key),
    "hexadecimal references without semicolons": lambda key: "".join(f"&#x{ord(c):x}" for c in key),
    "JSON in the answer": lambda key: json.dumps({"k": key}),
    "Python repr": lambda key: repr({"k": key}),
}


@pytest.mark.secrets
@pytest.mark.parametrize("echo", list(MARKED_ECHOES))
def test_a_key_with_characters_html_or_json_escape_is_masked_escaped(stub, pytester, monkeypatch, echo):
    monkeypatch.setenv("STUB_API_KEY", MARKED_KEY)
    stub.answer_of = answering(lambda body: f"I hear you. ({MARKED_ECHOES[echo](MARKED_KEY)})")
    result = run(pytester, "--empathy-record=once", "-k", "sad", "--empathy-html=r.html", "-W", "always")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*SecretMasked: case sad-sad0*"])
    assert_no_leak(pytester, MARKED_KEY, result)


@pytest.mark.secrets
def test_long_secrets_in_the_environment_are_masked_as_set_without_slowing_a_run(monkeypatch):
    """A private key or a service account's JSON in a *KEY* variable: masked as set and in
    base64 all the same, and left out of the escaped pattern, which took seconds to build in
    every process (each xdist worker too) for two of them."""
    from pytest_empathy import secrets

    private = "-----BEGIN KEY-----\n" + "\n".join(FAKE_KEY * 2 for _ in range(30)) + "\n-----END KEY-----\n"
    account = json.dumps({"private_key": base64.b64encode(private.encode()).decode() * 2})
    monkeypatch.setenv("STUB_API_KEY", FAKE_KEY)
    secrets.remember([])
    without = secrets._current().anywhere.escaped
    monkeypatch.setenv("SSH_PRIVATE_KEY", private)
    monkeypatch.setenv("GCP_SERVICE_KEY", account)
    secrets.remember([])
    try:
        assert secrets.redact(f"a {account} b") == "a *** b"
        assert secrets.redact(f"a {base64.b64encode(private.encode()).decode()} b") == "a *** b"
        assert secrets.redact("a " + escape_every(FAKE_KEY, 2) + " b") == "a *** b"
        # What the cost came from, not a wall-clock bound a loaded machine breaks: the escaped
        # pattern holds the key the run sends, not the long secrets (409 KB with them).
        escaped = secrets._current().anywhere.escaped
        assert escaped is not None and without is not None and escaped.pattern == without.pattern
    finally:
        monkeypatch.undo()
        secrets.remember([])


@pytest.mark.secrets
def test_a_long_key_the_run_sends_is_masked_escaped(monkeypatch):
    """A token over 256 characters (a JWT) that the run sends may come back escaped."""
    from pytest_empathy import secrets

    token = (FAKE_KEY + ".") * 10
    try:
        secrets.remember([token])
        assert secrets.redact("a " + escape_every(token, 3) + " b") == "a *** b"
    finally:
        secrets._KNOWN.discard(token)
        secrets.remember([])


def holds_word(text: str, word: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text) is not None


@pytest.mark.secrets
@pytest.mark.parametrize("key", ["ollama", "sounds", "content", "shortKeyOf15chr", "longerKeyOf16chr"])
def test_a_short_key_that_is_a_word_is_masked_as_a_whole_word_only_and_never_as_a_json_key(
    stub, pytester, monkeypatch, key
):
    """A key of 6 to 15 characters may be an ordinary word, and the very name of a field a
    replay reads (``content``): masked where it stands alone, in the answer or in a field the
    plugin does not read, kept inside longer words and as a JSON object's key, so that the
    cassette replays. A longer key stays masked inside words too."""
    monkeypatch.setenv("STUB_API_KEY", key)
    said = f"I hear you; {key} is hard, {key}. Words around it: x{key} and {key}s"

    def answer(body):
        if is_judge_request(body):
            return 200, JSON, completion("Good")
        data = json.loads(completion(said))
        data[key] = {"note": said}
        return 200, JSON, json.dumps(data).encode()

    stub.answer_of = answer
    recorded = run(pytester, "--empathy-record=once", "-k", "sad", "-W", "always", "--empathy-csv=r.csv")
    assert recorded.ret == 0, recorded.stdout.str()
    recorded.stdout.fnmatch_lines(["*SecretMasked: case sad-sad0*"])
    replayed = run(pytester, "-k", "sad")
    assert replayed.ret == 0, replayed.stdout.str()
    interaction = json.loads(stub_cassette(pytester, "sad-sad0").read_text())["interactions"][0]
    body = json.loads(interaction["response"]["body"]["string"])
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert (key in body) == (len(key) < 16)
    answered = body["choices"][0]["message"]["content"]
    assert answered == body[key if len(key) < 16 else "***"]["note"]
    around = (key, key) if len(key) < 16 else ("***", "***")
    assert answered == "I hear you; *** is hard, ***. Words around it: x{} and {}s".format(*around)
    # Nowhere a value: in the cassettes, the JSON report, the answers' table, the terminal.
    for where, text in outputs(pytester, recorded, replayed).items():
        if where.startswith("output") or (where.endswith((".json", ".csv")) and not where.endswith("corpus.csv")):
            values = decoded_strings(json.loads(text), values_only=True) if where.endswith(".json") else [text]
            assert [value for value in values if holds_word(value, key)] == [], where


# A key written in every encoding of pytest_empathy.escapes, each written here independently
# of it (a name after a comma is a variant of the encoding before it).
ENCODED = {
    "JSON \\u": lambda key: escape_every(key, 1),
    "JSON \\u, upper-case": lambda key: escape_every(key, 1, "X"),
    "Python \\U": lambda key: "".join(f"\\U{ord(c):08x}" for c in key),
    "Python \\x": lambda key: "".join(f"\\x{ord(c):02X}" for c in key),
    "backslash escape": lambda key: json.dumps(key)[1:-1].replace("'", "\\'"),
    "percent-encoding": lambda key: quote(key, safe=""),
    "HTML character reference": html.escape,
    "HTML character reference, hexadecimal": lambda key: "".join(f"&#X{ord(c):X};" for c in key),
    "base64": lambda key: base64.b64encode(f"Bearer {key}".encode()).decode(),
    "base64, URL-safe": lambda key: base64.urlsafe_b64encode(f"alice:{key}".encode()).decode(),
    "hexadecimal": lambda key: key.encode().hex(),
    "hexadecimal, upper-case": lambda key: key.encode().hex().upper(),
}


@pytest.mark.secrets
@pytest.mark.parametrize("encoding", list(ENCODED))
def test_masking_and_the_audit_cover_the_same_encodings(encoding):
    """What masking finds a key in, the audit reads the key back from, and the other way round:
    one list of encodings, which this test covers whole."""
    from pytest_empathy import secrets
    from pytest_empathy.cassettes.audit import readings
    from pytest_empathy.escapes import ENCODINGS

    assert {encoding.name for encoding in ENCODINGS} == {name.split(",")[0] for name in ENCODED}
    text = f"said {ENCODED[encoding](MARKED_KEY)} and no more"
    assert MARKED_KEY not in text
    assert any(MARKED_KEY in reading for reading in readings(text))
    try:
        secrets.remember([MARKED_KEY])
        masked = secrets.redact(text)
    finally:
        secrets._KNOWN.discard(MARKED_KEY)
        secrets.remember([])
    assert "***" in masked and masked.endswith(" and no more")
    assert not any(MARKED_KEY in reading for reading in readings(masked))
    assert leaks(masked, MARKED_KEY) == []
