"""A benchmark run's life without pytest: for now, the merge of shards' results into one."""

# Nothing here is public API: pytest_empathy names it (docs/reference/api.md).
__all__: list[str] = []
