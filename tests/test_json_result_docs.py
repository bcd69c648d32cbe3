"""docs/reference/json-result.md explains every key of the JSON result's types."""

from __future__ import annotations

import inspect
from pathlib import Path

from pytest_empathy.results import result_document

PAGE = Path(__file__).parents[1] / "docs" / "reference" / "json-result.md"


def typed_dicts() -> dict[str, type]:
    return {
        name: kind
        for name, kind in vars(result_document).items()
        if inspect.isclass(kind) and hasattr(kind, "__required_keys__") and kind.__module__ == result_document.__name__
    }


def test_every_key_of_the_result_document_is_explained():
    page = PAGE.read_text(encoding="utf-8")
    missing = {
        f"{name}.{key}"
        for name, kind in typed_dicts().items()
        for key in kind.__required_keys__ | kind.__optional_keys__
        if f"`{key}`" not in page
    }
    assert not missing, f"keys not in {PAGE.name}: {sorted(missing)}"


def test_the_page_names_the_current_schema():
    from pytest_empathy.results.document import SCHEMA

    assert f"# The JSON result (schema {SCHEMA})" in PAGE.read_text(encoding="utf-8")
    assert "ResultDocument" in typed_dicts()
