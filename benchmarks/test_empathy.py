"""The empathy benchmark: one test per corpus case, run with ``pytest --empathy-model=NAME``.

Each test asks the responder for an answer and the judge for a rating; the statistics and
gates run once, at session finish, on all the ratings together.
"""

from pytest_empathy import Rating


def test_empathy(empathy_case, empathy_evaluate):
    result = empathy_evaluate(empathy_case)
    assert result.rating in Rating
