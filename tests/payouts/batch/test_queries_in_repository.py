"""Every query of the batch is in `payouts.batch.repository`: one module to read them in."""

from __future__ import annotations

import ast
import inspect
from types import ModuleType

import pytest

from payouts.batch import calculation, draft, gathering, repository

SQL_BUILDERS = {"select", "insert", "update", "delete", "text", "exists", "aliased"}
SESSION_READS = {"execute", "scalars", "scalar", "get", "query"}
TABLES = {"payouts.facts.models", "payouts.ledger", "payouts.batch.models"}


def _queries(module: ModuleType) -> list[str]:
    """Where `module` builds SQL, runs it through a session, or imports the tables to
    write conditions on, as "name line"."""
    found = []
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            imported = {f"{node.module}.{a.name}" for a in node.names} | {node.module}
            found.extend(f"import {t} {node.lineno}" for t in sorted(imported & TABLES))
        if not isinstance(node, ast.Call):
            continue
        called = node.func
        if isinstance(called, ast.Name) and called.id in SQL_BUILDERS:
            found.append(f"{called.id} {node.lineno}")
        if (
            isinstance(called, ast.Attribute)
            and called.attr in SESSION_READS
            and isinstance(called.value, ast.Name)
            and called.value.id == "session"
        ):
            found.append(f"session.{called.attr} {node.lineno}")
    return found


@pytest.mark.parametrize("module", [gathering, calculation])
def test_gathering_and_calculation_leave_their_queries_to_the_repository(
    module: ModuleType,
) -> None:
    assert _queries(module) == []


def test_the_check_sees_queries() -> None:
    # The repository is full of them, the draft's storing runs some: the check can fail.
    assert len(_queries(repository)) > 10
    assert _queries(draft)


def test_invoice_records_are_built_through_their_constructor() -> None:
    # `tuple.__new__(f.Invoice, ...)` skipped the NamedTuple's own __new__ (its defaults
    # and arity check) for about 0.1 to 0.6 s a million invoices: not worth the trick.
    source = ast.parse(inspect.getsource(repository))
    tricks = [
        node.lineno
        for node in ast.walk(source)
        if isinstance(node, ast.Attribute) and node.attr == "__new__"
    ]
    assert tricks == []
