"""park_server.carbon is pure: numpy, pandas, pydantic, the standard library and config only.

(The import-linter contract in pyproject.toml says the same for the whole tree; this test keeps
the rule next to the code until the contract lands, and reads the source, so it can not be
fooled by what some other test has imported already.)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import park_server.carbon

PACKAGE = Path(park_server.carbon.__file__).parent
ALLOWED = {"numpy", "pandas", "pydantic", "pydantic_core", "config", "__future__"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
    return out


def test_carbon_imports_only_what_it_may() -> None:
    files = sorted(PACKAGE.glob("*.py"))
    assert len(files) > 5
    for path in files:
        for name in _imports(path):
            root = name.split(".")[0]
            if name.startswith("park_server.carbon") or root in sys.stdlib_module_names:
                continue
            assert root in ALLOWED, f"{path.name} imports {name}"
