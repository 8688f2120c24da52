"""`payouts demo`: a year of a synthetic partner program, end to end, in one command.

Why: the README's first command must show finance's whole month on a fresh machine
(facts in, tiers, run, approve by a second person, close, statements, payout files,
rep credit) and finish in well under two minutes. The program comes from a seed, so
two runs give the same totals and the same statement hashes.

The database: a demo needs an empty one. An empty database, or an embedded SQLite
file an earlier demo wrote, is (re)created without asking; anything else (real data,
or any PostgreSQL database with tables) is only wiped with an explicit `--fresh`.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import inspect, text

from api.commands.common import fail, progress
from payouts.batch.errors import ExportUnavailable
from payouts.db import engine_for, is_sqlite, make_engine, normalise_url, unit_of_work
from payouts.settings import get_settings

CALCULATOR = "demo-calculator"
APPROVER = "demo-approver"
FINANCE = "demo-finance"
LOADER = "demo-generator"
ADMIN = "demo-admin"
DEMO_ACTORS = frozenset({CALCULATOR, APPROVER, FINANCE, LOADER, ADMIN})
# The demo's web users, with a password fit for a throw-away demo database only.
DEMO_PARTNER_EMAIL = "partner@portal.demo"
DEMO_FINANCE_EMAIL = "finance@portal.demo"
DEMO_PASSWORD = "demo-password-2026"
DEMO_EMAILS = frozenset({DEMO_PARTNER_EMAIL, DEMO_FINANCE_EMAIL})

app = typer.Typer(
    help="The demo: a seeded synthetic program, every month closed, files written.",
    invoke_without_command=True,
)

Partners = Annotated[int, typer.Option(min=1, help="Partners in the program.")]
Months = Annotated[int, typer.Option(min=1, max=120, help="Months to generate and close.")]
Seed = Annotated[int, typer.Option(help="Random seed: the same seed gives the same program.")]
Start = Annotated[str, typer.Option(help="First month, YYYY-MM (plans start 2026-01).")]


@dataclass(frozen=True, slots=True)
class Summary:
    portal_partner: str
    """The partner whose user the demo signs in as."""
    periods: list[str]
    partners_paid: int
    payable: dict[str, int]
    held: int
    statements: int
    statements_digest: str
    files: list[Path]
    seconds: float


def _database_state(url: str) -> tuple[bool, bool]:
    """(empty, written only by an earlier demo) for the database at `url`."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            if not tables - {"alembic_version"}:
                return True, True
            if "audit_log" not in tables:
                return False, False
            actors = set(connection.scalars(text("SELECT DISTINCT actor FROM audit_log")))
            return not actors, {a for a in actors if not _portal_visit(a)} <= DEMO_ACTORS
    finally:
        engine.dispose()


def _portal_visit(actor: str) -> bool:
    """Someone tried the demo's portal: signing in (or failing to) as its users."""
    from payouts.actors import holder

    return actor == "anonymous" or (actor.startswith("user:") and holder(actor) in DEMO_EMAILS)


def _wipe(url: str) -> None:
    """Remove everything: the SQLite file (with its WAL), or every table on PostgreSQL."""
    engine_for.cache_clear()
    if is_sqlite(url):
        database = normalise_url(url).database or ""
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(database + suffix).unlink(missing_ok=True)
        return
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def prepare_database(url: str, fresh: bool | None, service_url: str | None = None) -> None:
    """Start from an empty, migrated database, wiping only what a user expects wiped.

    `url` is the schema owner's (it wipes and migrates); `service_url` the service's
    role, granted its privileges after the migrations when it is another role."""
    from payouts import migrations

    if fresh:
        _wipe(url)
    else:
        sqlite_file = is_sqlite(url) and Path(normalise_url(url).database or "").exists()
        if not is_sqlite(url) or sqlite_file:
            empty, demo_only = _database_state(url)
            if not empty:
                where = normalise_url(url).render_as_string(hide_password=True)
                if fresh is None and demo_only and is_sqlite(url):
                    _wipe(url)
                else:
                    fail(
                        f"{where} already holds data: pass --fresh to wipe it, or point "
                        "DATABASE_URL at an empty database"
                    )
    migrations.upgrade(url, service_url=service_url)


def run_demo(
    *,
    partners: int,
    months: int,
    seed: int,
    start: str,
    out: Path,
    workers: int,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> Summary:
    """Generate the program and take every month through the batch; write the files."""
    from demo import program as generator
    from payouts import tiers
    from payouts.batch import exports, reps
    from payouts.batch import service as batch
    from statements.issue import issue_period
    from statements.rendering import render_period

    began = time.perf_counter()
    report = on_progress or (lambda _what, _done, _total: None)
    program = generator.build(partners, months, seed, start)
    with unit_of_work() as session:
        generator.load(session, program.reference, actor=LOADER)
        generator.load_plans(session, program, actor=LOADER)
    last: batch.CloseResult | None = None
    for index, period in enumerate(program.periods):
        report(f"closing {period}", index, months)
        with unit_of_work() as session:
            generator.load(session, program.monthly[index], actor=LOADER)
        with unit_of_work() as session:
            tiers.evaluate(session, period, actor=FINANCE)
        with unit_of_work() as session:
            batch.run(session, period, actor=CALCULATOR, workers=workers)
        with unit_of_work() as session:
            batch.approve(session, period, actor=APPROVER)
        with unit_of_work() as session:
            last = batch.close(session, period, actor=APPROVER)
            issue_period(session, last.period, actor=APPROVER)
        report(f"closed {period}", index + 1, months)
    assert last is not None
    period = last.period

    statements_dir = out / "statements"
    statements_dir.mkdir(parents=True, exist_ok=True)
    for stale in (*statements_dir.glob("statement-*.pdf"), *statements_dir.glob("statement-*.csv")):
        stale.unlink()
    with unit_of_work() as session:
        rendered = render_period(
            session,
            period,
            statements_dir,
            workers=workers,
            progress=lambda done, total: report(f"statements {period}", done, total),
        )
    digest = hashlib.sha256()
    for item in sorted(rendered, key=lambda r: r.partner_id):
        digest.update(f"{item.partner_id}:{item.content_hash}\n".encode())

    files: list[Path] = []
    payer = exports.Payer(generator.PAYER_NAME, generator.PAYER_IBAN, generator.PAYER_BIC)
    with unit_of_work() as session:
        for fmt in ("csv", "sepa"):
            try:
                result = exports.export(session, period, fmt, actor=FINANCE, payer=payer)
            except ExportUnavailable:
                continue  # e.g. no EUR payouts this month: no SEPA file
            files.append(_write(out / result.filename, result.content))
        files.append(
            _write(out / f"rep-credit-{period}.csv", reps.report_csv(session, period).encode())
        )
    return Summary(
        portal_partner=_demo_users(period),
        periods=program.periods,
        partners_paid=last.payouts,
        payable=dict(sorted(last.payable.items())),
        held=len(last.held),
        statements=len(rendered),
        statements_digest=digest.hexdigest(),
        files=files,
        seconds=time.perf_counter() - began,
    )


def _demo_users(period: str) -> str:
    """A partner user (of the tiered partner with the most lines last month) and a finance
    user, both with the demo password; made as the schema owner makes users."""
    from payouts import users

    with unit_of_work() as session:
        partner = session.execute(
            text(
                "SELECT e.partner_id FROM ledger_entries e WHERE e.period = :p "
                "GROUP BY e.partner_id ORDER BY max(CASE WHEN EXISTS (SELECT 1 FROM "
                "tier_history t WHERE t.partner_id = e.partner_id AND t.tier IS NOT NULL) "
                "THEN 1 ELSE 0 END) DESC, count(*) DESC, e.partner_id LIMIT 1"
            ),
            {"p": period},
        ).scalar_one()
    with unit_of_work(engine_for(get_settings().owner_url)) as session:
        for email, role, partner_id in (
            (DEMO_PARTNER_EMAIL, "partner", partner),
            (DEMO_FINANCE_EMAIL, "finance", None),
        ):
            link = users.invite(session, email=email, role=role, partner_id=partner_id, actor=ADMIN)
            users.set_password(session, link.secret, DEMO_PASSWORD, DEMO_PASSWORD)
    return str(partner)


def _write(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(content)
    partial.replace(path)
    return path


def _money(payable: dict[str, int]) -> str:
    from plans.money import from_minor

    return ", ".join(f"{from_minor(v, c):,} {c}" for c, v in payable.items()) or "nothing"


@app.callback()
def demo(
    ctx: typer.Context,
    partners: Partners = 200,
    months: Months = 12,
    seed: Seed = 42,
    start: Start = "2026-01",
    out: Annotated[Path, typer.Option(help="Where statements and files go.")] = Path("var/demo"),
    fresh: Annotated[
        bool | None,
        typer.Option(
            "--fresh/--keep",
            help="--fresh wipes the database first (any database); --keep refuses a "
            "non-empty one. Default: recreate an empty or demo-made SQLite file, else refuse.",
        ),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes for PDFs.")] = min(
        2, os.cpu_count() or 1
    ),
) -> None:
    """Run a year of a synthetic program: every month closed, last month's files written."""
    if ctx.invoked_subcommand is not None:
        return
    settings = get_settings()
    url = settings.database_url
    prepare_database(settings.owner_url, fresh, service_url=url)
    from payouts import second_factor_keys

    written = second_factor_keys.keep_demo_key()
    where = normalise_url(url).render_as_string(hide_password=True)
    typer.echo(
        f"demo: {partners} partners, {months} month(s) from {start}, seed {seed}, on {where}"
    )
    with progress() as bar:
        tasks: dict[str, object] = {}

        def on_progress(what: str, done: int, total: int) -> None:
            key = what.split(" ", 1)[0]
            key = "statements" if key == "statements" else "months"
            if key not in tasks:
                tasks[key] = bar.add_task(what, total=total)
            bar.update(tasks[key], description=what, completed=done, total=total)  # type: ignore[arg-type]

        summary = run_demo(
            partners=partners,
            months=months,
            seed=seed,
            start=start,
            out=out,
            workers=workers,
            on_progress=on_progress,
        )
    first, last = summary.periods[0], summary.periods[-1]
    typer.echo(f"closed {len(summary.periods)} month(s), {first} to {last}")
    typer.echo(
        f"{last}: {summary.partners_paid} partner(s) paid, {summary.held} held; "
        f"total payable {_money(summary.payable)}"
    )
    typer.echo(
        f"statements: {summary.statements} PDF and CSV in {out / 'statements'} "
        f"(digest {summary.statements_digest[:16]})"
    )
    for path in summary.files:
        typer.echo(f"file: {path}")
    if written is not None:
        typer.echo(
            f"second factors: sealed with a new key written to {written} (the demo's; "
            "production sets SECOND_FACTOR_KEYS)"
        )
    typer.echo(f"took {summary.seconds:.1f} s")
    portal = get_settings().portal_url.rstrip("/")
    typer.echo(
        f"portal: `payouts serve`, then open {portal}/portal and sign in as "
        f"{DEMO_PARTNER_EMAIL} (partner {summary.portal_partner}) with the password "
        f"{DEMO_PASSWORD} (the demo database only; {DEMO_FINANCE_EMAIL} is a finance user)"
    )


@app.command("generate")
def generate_command(
    partners: Partners = 200,
    months: Months = 12,
    seed: Seed = 42,
    start: Start = "2026-01",
    bulk: Annotated[
        bool, typer.Option(help="Insert straight into the tables (benchmark sizes), unvalidated.")
    ] = False,
) -> None:
    """Write a synthetic program (plans, partners, facts) into the configured database."""
    from demo import program as generator
    from payouts import migrations

    settings = get_settings()
    migrations.upgrade(settings.owner_url, service_url=settings.database_url)
    with unit_of_work() as session:
        program = generator.generate(session, partners, months, seed, start, bulk=bulk)
    counts = ", ".join(
        f"{program.count(kind)} {kind}"
        for kind in ("partners", "deals", "invoices", "payments", "refunds", "cancellations")
    )
    typer.echo(f"generated {counts} over {', '.join(program.periods)}")
