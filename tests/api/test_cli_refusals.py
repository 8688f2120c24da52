"""The command line refuses cleanly: one line, a non-zero exit, never a traceback or a secret.

What a shell sees is checked on the real entry point in a subprocess; the domain refusals
also in process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.api.cli import ROOT, key_for, payouts, payouts_process
from tests.conftest import ON_POSTGRES

EXAMPLES = ROOT / "plans" / "examples"
PASSWORD = "s3cr3t-Pa55"
UNREACHABLE = f"postgresql://payouts:{PASSWORD}@127.0.0.1:1/payouts"


def one_clean_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert lines[0].startswith("error: "), err
    return lines[0]


def test_an_unreachable_database_is_one_line_naming_it_without_its_password() -> None:
    run = payouts_process("batch", "review", "2026-01", database_url=UNREACHABLE)
    assert run.code == 1
    line = one_clean_line(run.err)
    assert "127.0.0.1:1" in line
    assert PASSWORD not in run.err + run.out


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_a_port_out_of_range_is_one_line_and_a_usage_exit(port: str, tmp_path: Path) -> None:
    run = payouts_process(
        "serve", "--port", port, database_url=f"sqlite:///{tmp_path / 'p.db'}", cwd=tmp_path
    )
    assert run.code == 2
    line = one_clean_line(run.err)
    assert "--port" in line


def test_a_usage_mistake_is_one_line_with_where_to_find_help(tmp_path: Path) -> None:
    run = payouts_process(
        "plans",
        "assign",
        "some-plan",
        "--from",
        "not-a-date",
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
    )
    assert run.code == 2
    line = one_clean_line(run.err)
    assert "'not-a-date' is not a date YYYY-MM-DD" in line
    assert "payouts plans assign --help" in line


def test_assigning_a_plan_to_an_unknown_partner_is_a_domain_refusal(migrated_url: str) -> None:
    key = key_for(migrated_url, "finance")
    loaded = payouts(
        "plans", "load", EXAMPLES / "referral.yaml", database_url=migrated_url, key=key
    )
    assert loaded.code == 0, loaded.err
    args = ("plans", "assign", "referral", "--partner", "NOBODY", "--from", "2026-01-01")
    run = payouts(*args, database_url=migrated_url, key=key)
    assert run.code == 1
    assert one_clean_line(run.err) == "error: no partner 'NOBODY'"
    shell = payouts_process(*args, database_url=migrated_url, key=key)
    assert (shell.code, one_clean_line(shell.err)) == (1, "error: no partner 'NOBODY'")


def test_a_missing_schema_says_to_upgrade_it(tmp_path: Path) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    run = payouts_process("batch", "review", "2026-01", database_url=empty)
    assert run.code == 1
    assert "payouts db upgrade" in one_clean_line(run.err)


BOOM = """
import sys
from api import cli

@cli.app.command("boom")
def boom() -> None:
    raise KeyError("connecting to postgresql://payouts:{password}@db.internal:5432/payouts")

sys.argv = ["payouts", "boom"]
cli.main()
"""


def _boom(tmp_path: Path, debug: bool) -> tuple[int, str, str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"}
    env.pop("PAYOUTS_DEBUG", None)
    if debug:
        env["PAYOUTS_DEBUG"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(BOOM).format(password=PASSWORD)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def test_an_unexpected_error_is_one_line_with_its_type_and_a_distinct_exit(
    tmp_path: Path,
) -> None:
    code, out, err = _boom(tmp_path, debug=False)
    assert code == 70
    line = one_clean_line(err)
    assert line.startswith("error: unexpected error (KeyError): ")
    assert "db.internal" in line
    assert PASSWORD not in out + err
    assert "PAYOUTS_DEBUG=1" in line


def test_payouts_debug_shows_the_traceback_of_an_unexpected_error(tmp_path: Path) -> None:
    code, _, err = _boom(tmp_path, debug=True)
    assert code != 0
    assert "Traceback" in err
    assert "KeyError" in err


# Every URL below holds the password; each takes a different error path.
LEAKY_URLS = [
    f"postgresql:/payouts:{PASSWORD}@127.0.0.1:5432/payouts",  # not a URL at all
    f"postgres-ql://payouts:{PASSWORD}@127.0.0.1:5432/payouts",  # not a URL at all
    f"mysql://payouts:{PASSWORD}@127.0.0.1/payouts",  # unsupported database
    f"postgresql://payouts:{PASSWORD}@127.0.0.1:notaport/payouts",  # port not a number
    # an unescaped '@' in the password: the rest of it would be read as the host
    f"postgresql://payouts:{PASSWORD}@x@127.0.0.1:5432/payouts",
    f"postgresql://payouts:{PASSWORD}@127.0.0.1:1/payouts",  # unreachable
]


@pytest.mark.parametrize("url", LEAKY_URLS)
def test_no_error_path_prints_the_database_password(url: str, tmp_path: Path) -> None:
    run = payouts_process("batch", "review", "2026-01", database_url=url, cwd=tmp_path)
    assert run.code == 1, run.err
    one_clean_line(run.err)
    assert PASSWORD not in run.err + run.out
    assert "x@127.0.0.1" not in run.err  # nor a piece of it


@pytest.mark.skipif(not ON_POSTGRES, reason="a password in a PostgreSQL URL")
def test_db_commands_on_a_working_database_never_print_its_password(fresh_url: str) -> None:
    from payouts.db import normalise_url

    url = normalise_url(fresh_url).set(password=PASSWORD).render_as_string(hide_password=False)
    for args in (("db", "upgrade"), ("db", "check"), ("batch", "review", "2026-01")):
        run = payouts_process(*args, database_url=url)
        assert PASSWORD not in run.out + run.err, args
