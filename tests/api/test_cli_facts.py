"""The command line imports facts and plans exactly as the services promise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.cli import ROOT, key_for, payouts, payouts_process

EXAMPLES = ROOT / "plans" / "examples"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


KEY: dict[str, str] = {}


@pytest.fixture
def migrated(fresh_url: str) -> str:
    assert payouts("db", "upgrade", database_url=fresh_url).code == 0
    KEY["finance"] = key_for(fresh_url, "finance")
    return fresh_url


def test_importing_the_same_csv_twice_changes_nothing_the_second_time(
    migrated: str, tmp_path: Path
) -> None:
    customers = write(
        tmp_path, "customers.csv", 'id,name,country\nC-1,Customer One,DE\nC-2,"Two, Inc.",US\n'
    )
    first = payouts(
        "facts", "import", "customers", customers, database_url=migrated, key=KEY["finance"]
    )
    assert first.code == 0, first.err
    assert first.out.strip() == "customers: 2 inserted, 0 unchanged, 0 amended, 0 refused"
    second = payouts(
        "facts", "import", "customers", customers, database_url=migrated, key=KEY["finance"]
    )
    assert second.out.strip() == "customers: 0 inserted, 2 unchanged, 0 amended, 0 refused"


def test_a_conflicting_row_refuses_the_whole_file(migrated: str, tmp_path: Path) -> None:
    payouts(
        "facts",
        "import",
        "customers",
        write(tmp_path, "a.csv", "id,name\nC-1,Customer One\n"),
        database_url=migrated,
        key=KEY["finance"],
    )
    changed = write(tmp_path, "b.csv", "id,name\nC-2,New Customer\nC-1,Renamed\n")
    run = payouts(
        "facts", "import", "customers", changed, database_url=migrated, key=KEY["finance"]
    )
    assert run.code == 1
    assert "customers: 0 inserted, 0 unchanged, 0 amended, 1 refused (nothing written)" in run.out
    assert "refused record 2 (C-1): id 'C-1' already exists with different content" in run.out
    assert run.err.startswith("error: 1 customers record(s) refused, nothing written")
    again = payouts(
        "facts",
        "import",
        "customers",
        write(tmp_path, "c.csv", "id,name\nC-2,New Customer\n"),
        database_url=migrated,
        key=KEY["finance"],
    )
    assert again.out.strip() == "customers: 1 inserted, 0 unchanged, 0 amended, 0 refused"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"id,name\nC-1,Caf\xe9\n", "is not UTF-8"),
        (b"id\nC-1\n", "missing column(s) name"),
        (b"id,name,colour\nC-1,x,red\n", "unknown column(s) colour"),
        (b"id,name\nC-1,x,extra\n", "line 2: 3 fields, the header has 2"),
        (b"id,name\nC-1," + b"x" * 5000 + b"\n", "longer than 4096 characters"),
        (b"", "is empty"),
    ],
)
def test_a_malformed_csv_gets_one_clear_line_and_changes_nothing(
    migrated: str, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    run = payouts_process(
        "facts", "import", "customers", path, database_url=migrated, key=KEY["finance"]
    )
    assert run.code == 1
    assert message in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert "Traceback" not in run.err


def test_plans_load_is_idempotent_and_a_change_makes_the_next_version(
    migrated: str, tmp_path: Path
) -> None:
    source = EXAMPLES / "tiered_reseller.yaml"
    first = payouts("plans", "load", source, database_url=migrated, key=KEY["finance"])
    assert first.code == 0, first.err
    assert "saved as tiered-reseller@v1#" in first.out
    again = payouts("plans", "load", source, database_url=migrated, key=KEY["finance"])
    assert "unchanged, already tiered-reseller@v1#" in again.out
    changed = write(tmp_path, "v2.yaml", source.read_text().replace("rate: 8%", "rate: 9%"))
    second = payouts("plans", "load", changed, database_url=migrated, key=KEY["finance"])
    assert "saved as tiered-reseller@v2#" in second.out
    diff = payouts(
        "plans", "diff", "tiered-reseller", "1", "2", database_url=migrated, key=KEY["finance"]
    )
    assert diff.out.strip() == 'components[status-tiers].tiers[2].rate: "0.08" -> "0.09"'
    listed = payouts("plans", "list", database_url=migrated, key=KEY["finance"])
    assert listed.out.startswith("tiered-reseller\tv2\t")


def test_every_shipped_example_plan_validates(migrated: str) -> None:
    run = payouts(
        "plans",
        "validate",
        *sorted(EXAMPLES.glob("*.yaml")),
        database_url=migrated,
        key=KEY["finance"],
    )
    assert run.code == 0, run.out
    assert run.out.count(": valid (") == len(list(EXAMPLES.glob("*.yaml")))


def test_an_invalid_plan_lists_every_error_and_stores_nothing(
    migrated: str, tmp_path: Path
) -> None:
    bad = write(
        tmp_path,
        "bad.yaml",
        "plan_id: x\nversion: 1\nname: X\n"
        "effective_from: 2026-01-01\ncurrency: usd\ncomponents:\n"
        "  - kind: tier_rate\n    id: t\n",
    )
    run = payouts("plans", "load", bad, database_url=migrated, key=KEY["finance"])
    assert run.code == 1
    assert run.err.startswith("error: plan is invalid")
    assert "currency" in run.err
    assert "components[0]" in run.err
    assert payouts("plans", "list", database_url=migrated, key=KEY["finance"]).out == ""


def test_a_bad_database_url_is_one_line_and_a_non_zero_exit() -> None:
    run = payouts_process("db", "upgrade", database_url="postgresql://postgres@127.0.0.1:1/none")
    assert run.code == 1
    assert run.err.startswith("error: cannot reach the database")
    assert len(run.err.strip().splitlines()) == 1
