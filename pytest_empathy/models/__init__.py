"""Where answers and ratings come from: model profiles, the templates that prompt them, the
endpoint they are called at, responders, judges and the baseline they are compared with."""

# Nothing here is public API: pytest_empathy names it (docs/reference/api.md).
__all__: list[str] = []

# The judge name that reads a crowd's ratings file (see crowd_judge), here so that reading
# the options loads no judge.
CROWD_FILE = "crowd:"
