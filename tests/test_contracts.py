"""The import-linter contracts of pyproject.toml: kept by the package, broken by a planted
back-import, and drawn as they are in CONTRIBUTING.md.

``tests/test_layers.py`` checks which libraries each part loads; these check which way the
package's own imports point.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from .conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on the package under ``root``, as .ci/run runs it (no cache written)."""
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=environment, capture_output=True, text=True, check=False
    )


def test_the_package_keeps_every_contract():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_a_planted_back_import_breaks_the_layers_and_names_it(tmp_path):
    shutil.copytree(ROOT / "pytest_empathy", tmp_path / "pytest_empathy", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    planted = tmp_path / "pytest_empathy" / "analysis" / "groups.py"
    planted.write_text(planted.read_text(encoding="utf-8") + "\nfrom pytest_empathy.plugin import options\n")
    done = lint_imports(tmp_path)
    assert done.returncode == 1
    assert "pytest_empathy.analysis is not allowed to import pytest_empathy.plugin" in done.stdout
    assert "pytest_empathy.analysis.groups -> pytest_empathy.plugin.options" in done.stdout
    # Through the plugin it reaches pytest too.
    assert "only plugin imports pytest BROKEN" in done.stdout


def test_contributing_draws_the_layers_of_the_contract():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    (layers,) = [contract["layers"] for contract in contracts["contracts"] if contract["id"] == "layers"]
    guide = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    drawn = guide.split("Layers, top to bottom", 1)[1].split("```\n", 2)[1]
    assert drawn.splitlines() == [" ".join(layer.replace(":", " : ").replace("|", " | ").split()) for layer in layers]


def test_the_public_api_is_the_same_in_the_package_and_its_types():
    import pytest_empathy

    stub = (ROOT / "pytest_empathy" / "__init__.pyi").read_text(encoding="utf-8")
    for name in pytest_empathy.__all__:
        assert f"{name}: str" in stub if name == "__version__" else f" as {name}" in stub
    assert set(pytest_empathy.__all__) <= set(dir(pytest_empathy))


def test_every_name_of_the_public_api_imports():
    import pytest_empathy

    for name in pytest_empathy.__all__:
        assert getattr(pytest_empathy, name) is not None, name
