"""What a run produced: case results on the wire, the run result and its JSON document
(schema, reader, writer), saved runs and the merge of shards."""

# Nothing here is public API: pytest_empathy names it (docs/reference/api.md).
__all__: list[str] = []
