"""Crowd studies of a model's answers, the study's own method: rating sheets for a crowd
platform (export), the crowd's ratings read back and checked (import), and those ratings as a
judge (``--empathy-judge crowd:FILE``)."""

# The judge name that reads a crowd's ratings file: crowd:FILE.
CROWD_FILE = "crowd:"
