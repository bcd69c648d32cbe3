"""``python -m pytest_empathy.cli``: the pytest-empathy command."""

from __future__ import annotations

import sys

from pytest_empathy.cli import main

if __name__ == "__main__":
    sys.exit(main())
