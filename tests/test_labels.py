"""How a judge's answer is read: a label only when the answer is exactly one."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_empathy.models.labels import parse_rating
from pytest_empathy.ratings import Rating


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Good", Rating.GOOD),
        ("  okay\n", Rating.OKAY),
        ("BAD.", Rating.BAD),
        ('"Good"', Rating.GOOD),
        ("**Okay**", Rating.OKAY),
        ("Rating: good", Rating.GOOD),
        ("answer = Bad", Rating.BAD),
        ('{"rating": "Okay"}', Rating.OKAY),
        (' {"rating": " good ", "why": "kind"} ', Rating.GOOD),
        ('{"rating": 3}', None),
        ('{"rating": "Good"', None),  # cut short: not an object, and not a bare label either
        ('{"label": "Good"}', None),
        ("Good or Bad", None),
        ("Not good", None),
        ("Goodness", None),
        ("", None),
    ],
)
def test_an_answer_is_read_as_a_label_only_when_it_is_exactly_one(answer, expected):
    assert parse_rating(answer) is expected


@given(st.sampled_from(list(Rating)), st.sampled_from(["{}", "Rating: {}", "{}.", "'{}'"]), st.booleans())
def test_every_label_in_every_accepted_form_and_case(rating, form, upper):
    label = rating.label.upper() if upper else rating.label.capitalize()
    assert parse_rating(form.format(label)) is rating
    assert parse_rating(json.dumps({"rating": label})) is rating


@given(st.text(max_size=40))
def test_text_naming_no_single_label_alone_is_no_rating(text):
    words = {"bad", "okay", "good"}
    found = parse_rating(text)
    if found is not None:
        # Whatever was accepted names exactly one label, and nothing else but its framing.
        lowered = text.lower()
        assert sum(word in lowered for word in words) >= 1
        assert found.label in lowered
