from __future__ import annotations

import csv
import json

import pytest

from pytest_empathy.corpus.reader import CorpusError, load_file
from pytest_empathy.emotions import EMOTIONS, NEGATIVE, POLARITY, POSITIVE
from pytest_empathy.ratings import Rating

from .conftest import synthetic_rows, write_corpus

GOOD_ROW = {"id": "a1", "emotion": "afraid", "situation": "A dog chased me.", "utterance": "I ran!"}


def test_emotions_and_polarity_as_in_the_release():
    assert len(EMOTIONS) == 32
    assert sum(p == POSITIVE for p in POLARITY.values()) == 14
    assert sum(p == NEGATIVE for p in POLARITY.values()) == 18
    assert POLARITY["nostalgic"] == POLARITY["sentimental"] == NEGATIVE


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_reads_the_documented_schema(tmp_path, suffix):
    rows = [GOOD_ROW | {"response_my_bot": "Oh no.", "rating_my_bot": "good", "rating_human": 1}]
    corpus = load_file(write_corpus(tmp_path / f"c{suffix}", rows))
    (row,) = corpus.rows
    assert row.case_id == "afraid-a1"
    assert row.polarity == NEGATIVE
    assert row.responses == {"my-bot": "Oh no."}
    assert row.ratings == {"my-bot": Rating.GOOD, "human": Rating.BAD}
    assert corpus.rated == ("human", "my-bot") and corpus.has_text
    assert len(corpus.sha256) == 64


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_rows_share_what_they_have_in_common(tmp_path, suffix):
    # A corpus of 200,000 rows is held by every run: what rows have in common is one object.
    rows = [
        GOOD_ROW | {"id": f"r{i}", "emotion": " Afraid " if i % 2 else "afraid", "rating_human": 1 + i % 3}
        for i in range(9)
    ]
    corpus = load_file(write_corpus(tmp_path / f"c{suffix}", rows))
    first, *rest = corpus.rows
    assert not hasattr(first, "__dict__")
    for row in rest:
        assert row.emotion is first.emotion
        assert row.responses is first.responses and row.raters is first.raters and not row.responses
    assert [row.ratings["human"] for row in corpus.rows] == [Rating(1 + i % 3) for i in range(9)]
    assert corpus.rows[0].ratings is corpus.rows[3].ratings is corpus.rows[6].ratings
    assert corpus.rows[0].ratings is not corpus.rows[1].ratings
    with pytest.raises(TypeError):
        corpus.rows[0].ratings["human"] = Rating.GOOD


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"emotion": "bored"}, "unknown emotion 'bored'"),
        ({"rating_bot": 4}, "rating_bot: rating '4' is not on the scale"),
        ({"rating_bot": "great"}, "rating_bot: rating 'great' is not on the scale"),
        ({"utterance": "  "}, "empty utterance"),
        ({"situation": ""}, "empty situation"),
        ({"response_bot": ""}, "empty response_bot"),
        ({"polarity": "positive"}, "polarity 'positive' contradicts 'afraid'"),
        ({"id": "has space"}, "id 'has space' must be ASCII"),
    ],
)
@pytest.mark.bad_input
def test_a_bad_row_is_named_by_file_and_row(tmp_path, suffix, change, message):
    good = GOOD_ROW | {"response_bot": "Oh no.", "rating_bot": 3}
    rows = [good | {"id": "a0"}, good | change]
    path = write_corpus(tmp_path / f"corpus{suffix}", rows)
    with pytest.raises(CorpusError) as error:
        load_file(path)
    assert str(error.value).startswith(f"{path}, row 2: ")
    assert message in str(error.value)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
@pytest.mark.bad_input
def test_duplicate_id_names_both_rows(tmp_path, suffix):
    path = write_corpus(tmp_path / f"c{suffix}", [GOOD_ROW, GOOD_ROW | {"emotion": "sad"}])
    with pytest.raises(CorpusError, match=r"row 2: duplicate id 'a1' \(first in row 1\)"):
        load_file(path)


@pytest.mark.bad_input
def test_missing_column_is_named(tmp_path):
    path = write_corpus(tmp_path / "c.csv", [{"id": "a1", "emotion": "sad", "situation": "x"}])
    with pytest.raises(CorpusError, match=r"c.csv, row 1: missing column\(s\) utterance"):
        load_file(path)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty: a header row is needed"),
        ("header.csv", b"id,emotion,situation,utterance\n", "has no rows"),
        ("latin1.csv", "id,emotion,situation,utterance\na,sad,caf\xe9,x\n".encode("latin-1"), "not UTF-8"),
        ("short.csv", b"id,emotion,situation,utterance\na,sad,x\n", "row 1: 3 fields where"),
        ("quote.csv", b'id,emotion,situation,utterance\na,sad,"x\n', "malformed CSV"),
        ("late.csv", b'id,emotion,situation,utterance\na,sad,x,y\nb,sad,"x"z,y\n', "row 2: malformed CSV"),
        ("list.jsonl", b"[1, 2]\n", "row 1: not a JSON object"),
        ("broken.jsonl", b'{"id": "a"\n', "row 1: not valid JSON"),
        ("nested.jsonl", b'{"id": "a", "emotion": ["sad"]}\n', "'emotion' must be a string"),
        ("corpus.txt", b"id\n", "unknown corpus format"),
    ],
)
@pytest.mark.bad_input
def test_unusable_files_are_named(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message) as error:
        load_file(path)
    assert str(path) in str(error.value)


@pytest.mark.bad_input
def test_missing_file(tmp_path):
    with pytest.raises(CorpusError, match="cannot read the corpus file"):
        load_file(tmp_path / "absent.csv")


def test_line_separators_inside_json_strings_stay_in_one_row(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps(GOOD_ROW | {"utterance": "one\u2028two\x85three"}, ensure_ascii=False) + "\n")
    assert load_file(path).rows[0].utterance == "one\u2028two\x85three"


def test_quoted_newlines_stay_in_one_row(tmp_path):
    path = write_corpus(tmp_path / "c.csv", [GOOD_ROW | {"situation": "line one\nline two"}])
    assert load_file(path).rows[0].situation == "line one\nline two"


@pytest.fixture
def corpus(tmp_path):
    return load_file(write_corpus(tmp_path / "c.csv", synthetic_rows(per_emotion=5)))


def test_select_groups_by_emotion_in_corpus_order(corpus):
    rows = corpus.select(emotions=("sad", "afraid"))
    assert [r.case_id for r in rows] == [f"afraid-afraid{i}" for i in range(5)] + [f"sad-sad{i}" for i in range(5)]


def test_sampling_is_deterministic_per_seed(corpus):
    first = corpus.select(sample=2, seed=7)
    assert len(first) == 64
    assert [r.id for r in first] == [r.id for r in corpus.select(sample=2, seed=7)]
    assert [r.id for r in first] != [r.id for r in corpus.select(sample=2, seed=8)]
    assert len(corpus.select(sample=50)) == len(corpus.rows)


def test_a_field_larger_than_the_csv_modules_default_is_read(tmp_path):
    long = "I keep thinking about it. " * 8000  # 208,000 characters
    path = write_corpus(tmp_path / "long.csv", [{"id": "a", "emotion": "sad", "situation": "s", "utterance": long}])
    assert load_file(path).rows[0].utterance == long
    assert csv.field_size_limit() == 131072, "the process's csv limit is left as it was"
