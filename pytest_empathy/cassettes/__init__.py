"""Recorded model calls, one vcrpy cassette per case: the format, recording, replay,
pruning, the recording lock and audit. The only package that knows how a cassette looks on disk."""

# Nothing here is public API: pytest_empathy names it (docs/reference/api.md).
__all__: list[str] = []
