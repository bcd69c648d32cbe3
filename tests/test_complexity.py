"""No function in the package above cyclomatic complexity 15, as radon measures it (the
limit CONTRIBUTING.md sets): a function above it is split into steps named for what they do."""

from __future__ import annotations

from radon.complexity import cc_visit
from radon.visitors import Function

from .conftest import ROOT

LIMIT = 15


def test_no_function_is_above_the_complexity_limit():
    above = []
    for path in sorted((ROOT / "pytest_empathy").rglob("*.py")):
        # Functions and methods, as `radon cc` lists them (a closure counts in its function).
        for function in cc_visit(path.read_text(encoding="utf-8")):
            if isinstance(function, Function) and function.complexity > LIMIT:
                name = f"{path.relative_to(ROOT)}:{function.lineno} {function.fullname}"
                above.append(f"{name} ({function.complexity})")
    assert above == [], f"above cyclomatic complexity {LIMIT}:\n" + "\n".join(above)
