"""Corpora: rows of emotional experiences, read from CSV/JSONL files or named (the study's
release, the smoke corpus), and the cases a run selects from them."""

# Nothing here is public API: pytest_empathy names it (docs/reference/api.md).
__all__: list[str] = []
