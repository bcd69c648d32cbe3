"""Crowd studies of a model's answers, the study's own method: rating sheets for a crowd
platform (export) and the crowd's ratings read back and checked (import). Those ratings as a
judge (``--empathy-judge crowd:FILE``) are ``models.crowd_judge``; the command is ``cli.crowd``."""

# Nothing here is public API: pytest_empathy names it (docs/reference/api.md).
__all__: list[str] = []
