"""Corpora: rows of emotional experiences, read from CSV/JSONL files or named (the study's
release, the smoke corpus), and the cases a run selects from them."""
