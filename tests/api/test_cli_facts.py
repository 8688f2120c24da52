"""The command line imports facts and plans exactly as the services promise."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.cli import ROOT, environment, key_for, payouts, payouts_process

EXAMPLES = ROOT / "plans" / "examples"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


KEY: dict[str, str] = {}


@pytest.fixture
def migrated(migrated_url: str) -> str:
    KEY["finance"] = key_for(migrated_url, "finance")
    return migrated_url


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


def test_an_amount_beyond_the_bound_in_a_csv_is_one_clear_line_and_changes_nothing(
    migrated: str, tmp_path: Path
) -> None:
    """It printed an 88-line trace with the SQL and its parameters."""
    payouts(
        "facts",
        "import",
        "customers",
        write(tmp_path, "c.csv", "id,name\nC-1,One\n"),
        database_url=migrated,
        key=KEY["finance"],
    )
    invoices = write(
        tmp_path,
        "invoices.csv",
        "id,customer_id,issue_date,amount,currency\n"
        "INV-1,C-1,2026-01-15,100.00,USD\n"
        "INV-2,C-1,2026-01-15,99999999999999999999.99,USD\n"
        "INV-3,C-1,2026-01-15,1e3,USD\n",
    )
    run = payouts_process(
        "facts", "import", "invoices", invoices, database_url=migrated, key=KEY["finance"]
    )
    assert run.code == 1
    assert "Traceback" not in run.err + run.out
    assert "SQL" not in run.err + run.out
    [line] = run.err.strip().splitlines()
    assert line.startswith("error: 2 invoices record(s) refused, nothing written")
    assert "refused record 2 (INV-2): amount: " in run.out
    assert "at most 12 digits before the point" in run.out
    assert "refused record 3 (INV-3): amount: " in run.out
    again = payouts(
        "facts",
        "import",
        "invoices",
        write(
            tmp_path,
            "ok.csv",
            invoices.read_text()
            .replace("INV-2,C-1,2026-01-15,99999999999999999999.99,USD\n", "")
            .replace("INV-3,C-1,2026-01-15,1e3,USD\n", ""),
        ),
        database_url=migrated,
        key=KEY["finance"],
    )
    assert again.out.strip() == "invoices: 1 inserted, 0 unchanged, 0 amended, 0 refused"


def invoice_rows(count: int, start: int = 0, amount: str = "100.00") -> str:
    return "".join(
        f"INV-{n:08d},C-1,2026-01-{n % 28 + 1:02d},{amount},USD\n"
        for n in range(start, start + count)
    )


INVOICE_HEADER = "id,customer_id,issue_date,amount,currency\n"


@pytest.fixture
def with_customer(migrated: str, tmp_path: Path) -> str:
    customers = write(tmp_path, "c.csv", "id,name\nC-1,One\n")
    imported = payouts(
        "facts", "import", "customers", customers, database_url=migrated, key=KEY["finance"]
    )
    assert imported.code == 0, imported.err
    return migrated


def test_a_file_of_many_chunks_is_imported_whole_and_again_as_a_no_op(
    with_customer: str, tmp_path: Path
) -> None:
    path = write(tmp_path, "many.csv", INVOICE_HEADER + invoice_rows(12_000))
    first = payouts(
        "facts", "import", "invoices", path, database_url=with_customer, key=KEY["finance"]
    )
    assert first.code == 0, first.err
    assert first.out.strip() == "invoices: 12000 inserted, 0 unchanged, 0 amended, 0 refused"
    again = payouts(
        "facts", "import", "invoices", path, database_url=with_customer, key=KEY["finance"]
    )
    assert again.out.strip() == "invoices: 0 inserted, 12000 unchanged, 0 amended, 0 refused"


def test_one_bad_row_at_the_end_of_a_long_file_refuses_all_of_it_with_capped_reasons(
    with_customer: str, tmp_path: Path
) -> None:
    rows = invoice_rows(11_000) + invoice_rows(120, start=11_000, amount="1e3")
    path = write(tmp_path, "bad-tail.csv", INVOICE_HEADER + rows)
    run = payouts(
        "facts", "import", "invoices", path, database_url=with_customer, key=KEY["finance"]
    )
    assert run.code == 1
    assert "invoices: 0 inserted, 0 unchanged, 0 amended, 120 refused (nothing written)" in run.out
    listed = [line for line in run.out.splitlines() if line.startswith("  refused record")]
    assert len(listed) == 50
    assert listed[0].startswith("  refused record 11001 (INV-00011000): amount: ")
    assert "  ... and 70 more" in run.out
    assert run.err.startswith("error: 120 invoices record(s) refused, nothing written")
    good = write(tmp_path, "good.csv", INVOICE_HEADER + invoice_rows(1))
    done = payouts(
        "facts", "import", "invoices", good, database_url=with_customer, key=KEY["finance"]
    )
    assert done.out.strip() == "invoices: 1 inserted, 0 unchanged, 0 amended, 0 refused"


def test_a_malformed_line_deep_in_a_long_file_leaves_nothing_written(
    with_customer: str, tmp_path: Path
) -> None:
    """The file is read as it is stored: chunks before the bad line are undone."""
    rows = invoice_rows(12_000) + "INV-X,C-1,2026-01-02,1.00,USD,extra\n"
    path = write(tmp_path, "broken.csv", INVOICE_HEADER + rows)
    run = payouts_process(
        "facts", "import", "invoices", path, database_url=with_customer, key=KEY["finance"]
    )
    assert run.code == 1
    assert run.err.strip() == f"error: {path} line 12002: 6 fields, the header has 5"
    good = write(tmp_path, "good.csv", INVOICE_HEADER + invoice_rows(1))
    done = payouts(
        "facts", "import", "invoices", good, database_url=with_customer, key=KEY["finance"]
    )
    assert done.out.strip() == "invoices: 1 inserted, 0 unchanged, 0 amended, 0 refused"


def test_an_id_repeated_differently_far_apart_in_a_file_refuses_it(
    with_customer: str, tmp_path: Path
) -> None:
    rows = invoice_rows(10_500) + invoice_rows(1, start=3, amount="5.00")
    path = write(tmp_path, "repeat.csv", INVOICE_HEADER + rows)
    run = payouts(
        "facts", "import", "invoices", path, database_url=with_customer, key=KEY["finance"]
    )
    assert run.code == 1
    assert "refused record 10501 (INV-00000003): id 'INV-00000003'" in run.out
    assert "(nothing written)" in run.out


PEAK_SCRIPT = """
import sys
from api.cli import app

def peak_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])

def load(path):
    try:
        app(["facts", "import", "invoices", path], standalone_mode=False)
    except SystemExit:
        pass

load(sys.argv[1])
before = peak_kib()
load(sys.argv[2])
print(peak_kib() - before)
"""


def test_a_large_file_is_imported_in_bounded_memory(with_customer: str, tmp_path: Path) -> None:
    """A 50 MB file took 1.29 GB; the peak must not grow with the file (measured in a
    fresh process, after a small import has loaded every module and cache)."""
    small = write(tmp_path, "small.csv", INVOICE_HEADER + invoice_rows(200, start=10**7))
    big = tmp_path / "big.csv"
    with big.open("w", encoding="utf-8") as out:
        out.write(INVOICE_HEADER)
        for start in range(0, 120_000, 10_000):
            out.write(invoice_rows(10_000, start=start))
    size_mib = big.stat().st_size / 2**20
    assert size_mib > 4
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(small), str(big)],
        cwd=ROOT,
        env={
            **os.environ,
            **{k: v for k, v in environment(with_customer, KEY["finance"]).items() if v},
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    growth_mib = int(done.stdout.strip().splitlines()[-1]) / 1024
    # A chunk of records at a time: about 27 MiB whatever the file (5.6 and 11.2 MiB
    # files measured alike); the whole file in memory grew the peak by 406 MiB.
    assert growth_mib < 48, f"peak grew by {growth_mib:.0f} MiB importing {size_mib:.1f} MiB"
