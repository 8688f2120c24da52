"""The allowed direction of imports: plans <- payouts <- statements <- demo <- api.

A package may import only packages to its left. `plans` is pure (no database, HTTP
or clock libraries). The checker is a plain function so that a test can prove it
catches a violation.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("plans", "payouts", "statements", "demo", "api")
PURE_FORBIDDEN = (
    "sqlalchemy",
    "alembic",
    "fastapi",
    "starlette",
    "httpx",
    "httpx2",
    "psycopg",
    "typer",
)


def imported_modules(source: str) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def violations(root: Path) -> list[str]:
    """Every import that points up the layers (or out of `plans`' purity)."""
    found: list[str] = []
    for rank, package in enumerate(LAYERS):
        higher = LAYERS[rank + 1 :]
        for path in sorted((root / package).rglob("*.py")):
            for module in imported_modules(path.read_text(encoding="utf-8")):
                top = module.split(".")[0]
                where = path.relative_to(root)
                if top in higher:
                    found.append(f"{where} imports {module}: {package} may not depend on {top}")
                if package == "plans" and top in PURE_FORBIDDEN:
                    found.append(f"{where} imports {module}: plans must stay pure")
    return found


def test_packages_only_import_downwards() -> None:
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    ("package", "line"),
    [
        ("plans", "from payouts import db"),
        ("payouts", "import statements.pdf"),
        ("statements", "from api.cli import app"),
        ("plans", "from sqlalchemy import select"),
    ],
)
def test_an_upward_import_is_caught(tmp_path: Path, package: str, line: str) -> None:
    for layer in LAYERS:
        (tmp_path / layer).mkdir()
        (tmp_path / layer / "__init__.py").write_text("")
    (tmp_path / package / "bad.py").write_text(line + "\n")
    found = violations(tmp_path)
    assert len(found) == 1
    assert found[0].startswith(f"{package}/bad.py imports ")
