"""The full-scale month the month-end benchmarks close, loaded once and copied per run.

`bench_close.py` and `month_end.py` each change the database they time (a close is
final), so they work on a copy: the month is generated once into a template database
(owned by the schema owner role, the service role granted as `payouts db upgrade`
grants it), and every timed run starts from `CREATE DATABASE ... TEMPLATE` of it.

    .venv/bin/python bench/month_data.py load pp_close_bench            # 10,000 partners
    .venv/bin/python bench/month_data.py load pp_close_small --scale 0.1
    .venv/bin/python bench/month_data.py widen pp_close_bench pp_close_10x --times 10

`widen` makes the issue's ten-times month (100,000 partners, ~10,000,000 invoices) from
a loaded one without holding it in memory (the generator builds a month in memory: ten
times the month would need tens of GB): a copy of the template, then every partner's
world (the partner, its customers, deals, roles, registrations, invoices, payments,
refunds) copied `times - 1` times over in SQL, each copy's ids suffixed `-xK`. The
copies earn what the originals do, so every partner's statement is realistic; the
month's totals are `times` as large.

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
    """A fresh copy of `template` named `database`, its schema upgraded to this
    checkout's (as `payouts db upgrade` would, as the schema owner; a template loaded by
    an older checkout lacks the newer migrations); the seconds the copy took."""
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
    upgrade(database)
    return seconds


def upgrade(database: str) -> None:
    """Migrate `database` to this checkout's schema and grant the service role."""
    from payouts import migrations
    from payouts.db import make_engine

    owner = url_as(OWNER, database)
    engine = make_engine(owner)
    try:
        migrations.upgrade(owner, engine=engine, service_url=url_as(SERVICE, database))
    finally:
        engine.dispose()


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


# Each table's columns naming a fact of the widened world (suffixed in a copy), in an
# order where what a row refers to is copied before it. Other columns are kept as they
# are; a fingerprint (content hash of the original row) is made distinct per copy.
WIDENED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("partners", ("id",)),
    ("customers", ("id",)),
    ("deals", ("id", "customer_id")),
    ("deal_roles", ("id", "deal_id", "partner_id")),
    ("deal_registrations", ("id", "deal_id", "partner_id")),
    ("certifications", ("id", "partner_id")),
    ("campaigns", ("id", "partner_id")),
    ("plan_assignments", ("partner_id",)),
    ("invoices", ("id", "customer_id", "deal_id", "subscription_id")),
    ("payments", ("id", "invoice_id")),
    ("refunds", ("id", "invoice_id")),
)


def widen(template: str, database: str, times: int) -> None:
    """`database`: `template`'s month with every partner's world `times` over."""
    copy(template, database)
    engine = create_engine(url_as(OWNER, database))
    try:
        with engine.begin() as conn:
            for table, suffixed in WIDENED:
                columns = [
                    str(c)
                    for c in conn.execute(
                        text(
                            "SELECT column_name FROM information_schema.columns "
                            "WHERE table_schema = 'public' AND table_name = :t "
                            "ORDER BY ordinal_position"
                        ),
                        {"t": table},
                    ).scalars()
                    if not (table == "plan_assignments" and c == "id")
                ]
                for k in range(1, times):
                    values = [
                        f"{c} || '-x{k}'"
                        if c in suffixed
                        else f"md5(fingerprint || '-x{k}')"
                        if c == "fingerprint"
                        else c
                        for c in columns
                    ]
                    conn.execute(
                        text(
                            f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608
                            f"SELECT {', '.join(values)} FROM {table} "
                            f"WHERE {suffixed[0]} NOT LIKE '%-x%'"
                        )
                    )
                print(f"widened {table}", flush=True)
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
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


GNU_TIME = "/usr/bin/time"


def timed(command: list[str], env: dict[str, str]) -> Step:
    """Run `command` in a process of its own; its wall time and peak resident memory
    (the largest of that process's own peak and those of the processes it waited for,
    such as the batch run's workers: the largest process, not their sum).

    The command is started by GNU time where the machine has it: a process forked from
    this one (which holds the loaded month) would count this process's size as its own
    peak, because Linux keeps the peak of the memory a process had before exec. Without
    GNU time the peak comes from wait4 and cannot read below this process's size."""
    with tempfile.TemporaryDirectory() as scratch:
        usage_file = Path(scratch) / "usage"
        wrapped = [GNU_TIME, "-f", "%M %U %S", "-o", str(usage_file), *command]
        out, err = Path(scratch) / "out", Path(scratch) / "err"
        with out.open("w") as stdout, err.open("w") as stderr:
            start = time.perf_counter()
            process = subprocess.Popen(
                wrapped if Path(GNU_TIME).exists() else command,
                env=env,
                stdout=stdout,
                stderr=stderr,
                text=True,
            )
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - start
        returncode = os.waitstatus_to_exitcode(status)
        if returncode != 0:
            raise SystemExit(
                f"{' '.join(command[1:4])} failed ({returncode}): {err.read_text()[-2000:]}"
            )
        if usage_file.exists():
            peak_kb, user, system = usage_file.read_text().split()[-3:]
            return Step(seconds, int(peak_kb) / 1024, out.read_text(), float(user) + float(system))
        cpu = usage.ru_utime + usage.ru_stime  # Linux counts the reaped workers in it
        return Step(seconds, usage.ru_maxrss / 1024, out.read_text(), cpu)


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
    parser.add_argument("action", choices=["load", "widen", "drop"])
    parser.add_argument("database", help="load, drop: the database; widen: the template")
    parser.add_argument("widened", nargs="?", help="widen: the new database")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--times", type=int, default=10, help="widen: copies of each world")
    args = parser.parse_args(argv)
    if args.action == "drop":
        drop(args.database)
        return 0
    if args.action == "widen":
        if not args.widened:
            parser.error("widen needs the template and the new database")
        widen(args.database, args.widened, args.times)
        return 0
    partners = max(20, round(PARTNERS * args.scale))
    invoices = max(1_000, round(INVOICES * args.scale))
    load(args.database, partners, invoices)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
