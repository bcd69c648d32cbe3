"""Recorded model calls, one vcrpy cassette per case: the format, recording, replay,
pruning, the recording lock and audit. The only package that knows how a cassette looks on disk."""
