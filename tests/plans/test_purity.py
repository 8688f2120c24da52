"""plans is pure: no database, no HTTP, no clock, no floats."""

from __future__ import annotations

import ast
from pathlib import Path

PLANS = Path(__file__).resolve().parents[2] / "plans"
FORBIDDEN_MODULES = {
    "sqlalchemy",
    "fastapi",
    "httpx",
    "httpx2",
    "requests",
    "payouts",
    "statements",
    "api",
}
FORBIDDEN_CALLS = {"now", "today", "utcnow", "time", "perf_counter"}


def sources() -> list[Path]:
    return sorted(PLANS.rglob("*.py"))


def test_plans_imports_no_database_http_or_outer_package() -> None:
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path}: imports {name}"


def test_plans_never_reads_the_clock_or_makes_floats() -> None:
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr not in FORBIDDEN_CALLS, f"{path}: calls {node.func.attr}"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "float", f"{path}: calls float()"
            if isinstance(node, ast.Constant):
                assert not isinstance(node.value, float), f"{path}: float literal {node.value}"
