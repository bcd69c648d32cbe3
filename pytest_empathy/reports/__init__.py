"""The formats a run's result is shown in: the terminal summary and a registry of report
files (JSON, HTML, Markdown, CSV) that the options, the command line and the writers are
made from."""
