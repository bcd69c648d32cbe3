"""Statistics of rated cases: tests and intervals, groups (overall, polarity, emotion) with
Holm across emotions, comparisons with the baseline and with a saved run, and the gates.
Pure functions over counts and ratings; nothing here knows pytest, files or models."""

# Nothing here is public API: pytest_empathy names it (docs/reference/api.md).
__all__: list[str] = []
