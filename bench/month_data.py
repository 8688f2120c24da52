"""The full-scale month the month-end benchmarks close, loaded once and copied per run.

`bench_close.py` and `month_end.py` each change the database they time (a close is
final), so they work on a copy: the month is generated once into a template database
(owned by the schema owner role, the service role granted as `payouts db upgrade`
grants it), and every timed run starts from `CREATE DATABASE ... TEMPLATE` of it.

    .venv/bin/python bench/month_data.py load pp_close_bench            # 10,000 partners
    .venv/bin/python bench/month_data.py load pp_close_small --scale 0.1

The data is the batch benchmark's (`bench/batch_turns.py` `_load`): the demo generator,
bulk, one month, sized to about 1,000,000 invoices over 10,000 partners at scale 1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from sqlalchemy import create_engine, text  # noqa: E402

PARTNERS = 10_000
INVOICES = 1_000_000
OWNER = "payouts_owner"
SERVICE = "payouts_app"
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def server() -> str:
    """The server's administrator URL (PG_ADMIN_URL, else the local trust default)."""
    return os.environ.get("PG_ADMIN_URL", ADMIN)


def url_as(role: str, database: str) -> str:
    from payouts.db import normalise_url

    return (
        normalise_url(server())
        .set(username=role, password=None, database=database)
        .render_as_string(hide_password=False)
    )


def _admin() -> object:
    return create_engine(server(), isolation_level="AUTOCOMMIT")


def ensure_roles() -> None:
    subprocess.run([sys.executable, str(ROOT / ".ci" / "pgdb.py"), "roles"], check=True)


def exists(database: str) -> bool:
    admin = create_engine(server(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": database}
            ).first()
        return found is not None
    finally:
        admin.dispose()


def copy(template: str, database: str) -> float:
    """A fresh copy of `template` named `database`, its schema upgraded to this code's
    (a template loaded by an earlier revision is reused as it is); the seconds the copy
    took."""
    from payouts import migrations

    admin = create_engine(server(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            start = time.perf_counter()
            conn.execute(
                text(
                    f'CREATE DATABASE "{database}" TEMPLATE "{template}" OWNER {OWNER} '
                    "STRATEGY FILE_COPY"
                )
            )
            seconds = time.perf_counter() - start
    finally:
        admin.dispose()
    migrations.upgrade(url_as(OWNER, database), service_url=url_as(SERVICE, database))
    return seconds


def drop(database: str) -> None:
    admin = create_engine(server(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    finally:
        admin.dispose()


def load(database: str, partners: int, invoices: int) -> str:
    """Create `database` and generate the month into it; return the month."""
    import run as runner

    from payouts import migrations
    from payouts.db import make_engine, unit_of_work

    ensure_roles()
    drop(database)
    admin = create_engine(server(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}" OWNER {OWNER}'))
    admin.dispose()
    owner = url_as(OWNER, database)
    engine = make_engine(owner)
    try:
        migrations.upgrade(owner, engine=engine, service_url=url_as(SERVICE, database))
        generator = runner.demo_module()
        deals_per_month = max(1.0, invoices / partners / 12)
        probe = generator.build(partners, 1, seed=11, deals_per_month=deals_per_month)
        lines = max(1, round(invoices / max(1, probe.count("deals"))))
        del probe
        with unit_of_work(engine) as session:
            program = generator.generate(
                session,
                partners,
                1,
                seed=11,
                bulk=True,
                deals_per_month=deals_per_month,
                invoice_lines=lines,
            )
        period = str(program.periods[0])
        count = program.count("invoices")
        del program
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
        print(f"loaded {partners:,} partners, {count:,} invoices, month {period}", flush=True)
        return period
    finally:
        engine.dispose()


def period_of(database: str) -> str:
    """The (only) month with facts in a loaded database."""
    engine = create_engine(url_as(OWNER, database))
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT min(period) FROM periods WHERE fact_revision > 0")
            ).scalar()
        return str(found)
    finally:
        engine.dispose()


@dataclass(frozen=True, slots=True)
class Step:
    """One command timed as a subprocess: wall seconds, peak RSS, its output, and its
    CPU seconds with its worker processes' (less sensitive than wall time to a shared
    machine's load)."""

    seconds: float
    peak_mb: float
    out: str
    cpu: float


def timed(command: list[str], env: dict[str, str]) -> Step:
    """Run `command` in a process of its own; its wall time and peak resident memory
    (the kernel's account of that process alone, from wait4; its own children, such as
    the batch run's workers, have their own and are not in it)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(
                f"{' '.join(command[1:4])} failed ({process.returncode}): {err.read()[-2000:]}"
            )
        cpu = usage.ru_utime + usage.ru_stime  # Linux counts the reaped workers in it
        return Step(seconds, usage.ru_maxrss / 1024, out.read(), cpu)


def payouts_command() -> str:
    return str(Path(sys.executable).with_name("payouts"))


def create_key(database: str, name: str) -> str:
    """A finance API key held by `name`, made as the schema owner does."""
    env = {**os.environ, "DATABASE_URL": url_as(OWNER, database)}
    env.pop("DATABASE_OWNER_URL", None)
    made = subprocess.run(
        [payouts_command(), "keys", "create", "--role", "finance", "--name", name],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip().splitlines()[-1]


def service_env(database: str, key: str) -> dict[str, str]:
    """The environment of a command run as the service role, acting for `key`."""
    env = {**os.environ, "DATABASE_URL": url_as(SERVICE, database), "PAYOUTS_API_KEY": key}
    env.pop("DATABASE_OWNER_URL", None)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("action", choices=["load", "drop"])
    parser.add_argument("database")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.action == "drop":
        drop(args.database)
        return 0
    partners = max(20, round(PARTNERS * args.scale))
    invoices = max(1_000, round(INVOICES * args.scale))
    load(args.database, partners, invoices)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
