"""The formats a run's result is shown in: the terminal summary and a registry of report
files (JSON, HTML, Markdown, CSV) that the options, the command line and the writers are
made from."""

# Nothing here is public API: pytest_empathy names it (docs/reference/api.md).
__all__: list[str] = []
