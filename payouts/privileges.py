"""What the service's own database role may do, table by table (PostgreSQL).

In production the service connects as a role that owns nothing (`DATABASE_URL`);
the schema owner (`DATABASE_OWNER_URL`) runs the migrations and then `grant`s the
service role exactly this. The database, not the code, is the last line: with the
service's credentials one cannot rewrite who approved a batch, mark a payout paid
behind the audit log, delete a payout instruction, edit a posted fact, drop a
closed month's draft, or switch a trigger off (only an owner can).

Why each table gets what it gets:

- facts that carry money (deals, invoices, payments, refunds, cancellations, ...)
  are only ever added: a correction is a new fact. The database also refuses
  UPDATE and DELETE on them for every role (migration 0015);
- reference data and the kinds that accept a recorded amendment (partners, reps,
  customers, registrations, certifications, FX rates) may be updated;
- the ledger, margin lines, payout instructions, payout results, holds, approvals,
  issued statements and the audit log are append-only: INSERT, never UPDATE/DELETE;
- a period's draft (its rep credit and payees) is replaced by each run, so those
  may be deleted, but never in a closed period (triggers); draft lines themselves
  are written through the two partition functions the owner provides; a distributed
  run's workers add its slices (`draft_slices`), which the run deletes once stored;
- the ledger's planner statistics are refreshed (ANALYZE, which changes no row)
  through a function the owner provides, which a close calls once it has posted;
  so are a new draft partition's, through another, which a run calls once installed;
- API keys are administered by the owner: the service only reads them;
- an idempotency record is written before its request's work and completed after;
- web users are invited, reset and disabled by the owner (`payouts users`): the
  service may only set a user's password through a link, and mark that link used
  (once; the database refuses any other change to a link);
- web sessions are started, touched (their last request) and ended by the service;
  it cannot move a session to another user or extend its expiry (of the columns, it
  may write only `last_seen_at` and `second_factor_at`, the finance console's check);
- sign-in attempts, inquiries and their messages are append-only;
- a finance user's second factor is enrolled by the service (a pending secret may be
  replaced until the first right code confirms it; after that the database lets only
  `last_step` move forward), its recovery codes are each used once (the database
  refuses any other change), and its attempts are append-only; removing a second
  factor is the owner's (`second_factor_resets`, which the service only reads: the
  database deletes an enrolled factor only for a recorded reset);
- manual adjustments and their decisions are append-only (the database refuses a
  decision by the proposer), and so are partners' holds and releases;
- tax profiles are amended like partners; self-billed invoices are append-only, and
  an issuing entity's numbering series is advanced (UPDATE) by each invoice it issues;
- the program's settings and each partner's leaderboard choice may be changed.

SQLite is the single-user embedded default: there are no roles to grant.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from payouts import ledger
from payouts.batch import partitions
from payouts.errors import PayoutsError
from payouts.facts import statistics as fact_statistics

READ = ("SELECT",)
ADD = ("SELECT", "INSERT")
AMEND = ("SELECT", "INSERT", "UPDATE")
REPLACE = ("SELECT", "INSERT", "DELETE")
# Column privileges (PostgreSQL): UPDATE of these columns only.
SET_PASSWORD = ("SELECT", "UPDATE (password_hash, password_set_at)")
USE_LINK = ("SELECT", "UPDATE (used_at)")
SESSIONS = ("SELECT", "INSERT", "DELETE", "UPDATE (last_seen_at, second_factor_at)")
SECOND_FACTORS = ("SELECT", "INSERT", "UPDATE (secret, confirmed_at, last_step)")
USE_RECOVERY_CODE = ("SELECT", "INSERT", "UPDATE (used_at)")

SERVICE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "alembic_version": READ,
    "api_keys": READ,
    "adjustment_decisions": ADD,
    "audit_log": ADD,
    "batch_approvals": ADD,
    "batches": AMEND,
    "campaigns": ADD,
    "cancellations": ADD,
    "certifications": AMEND,
    "customers": AMEND,
    "deal_registrations": AMEND,
    "deal_roles": ADD,
    "deals": ADD,
    "draft_lines": READ,
    "draft_payees": REPLACE,
    "draft_slices": REPLACE,
    "fx_rates": AMEND,
    "idempotency_records": AMEND,
    "invoice_series": AMEND,
    "inquiries": ADD,
    "inquiry_messages": ADD,
    "invoices": ADD,
    "issued_statements": ADD,
    "leaderboard_choices": AMEND,
    "ledger_entries": ADD,
    "margin_exceptions": ADD,
    "manual_adjustments": ADD,
    "margin_lines": ADD,
    "partner_holds": ADD,
    "partners": AMEND,
    "payments": ADD,
    "payout_holds": ADD,
    "payout_instructions": ADD,
    "payout_results": ADD,
    "periods": AMEND,
    "plan_assignments": ADD,
    "plan_versions": ADD,
    "program_settings": AMEND,
    "recovery_codes": USE_RECOVERY_CODE,
    "refunds": ADD,
    "rep_credit_lines": REPLACE,
    "second_factor_attempts": ADD,
    "second_factor_resets": READ,
    "second_factors": SECOND_FACTORS,
    "reps": AMEND,
    "self_billed_invoices": ADD,
    "sign_in_attempts": ADD,
    "tax_profiles": AMEND,
    "tier_history": AMEND,
    "user_tokens": USE_LINK,
    "web_sessions": SESSIONS,
    "web_users": SET_PASSWORD,
}


class ServiceRoleRefused(PayoutsError):
    """The service's database role cannot be given least privilege as it stands."""

    code = "service-role-refused"
    status = 500


def grant(connection: Connection, role: str) -> None:
    """Give `role` exactly the service's privileges (and nothing else), then check it.

    Run as the schema owner after the migrations; idempotent."""
    _require_plain_role(connection, role)
    who = connection.dialect.identifier_preparer.quote(role)
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {who}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {who}",
        f"GRANT USAGE ON SCHEMA public TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {who}",
    ]
    for table, privileges in sorted(SERVICE_PRIVILEGES.items()):
        statements.append(f"GRANT {', '.join(privileges)} ON {table} TO {who}")
    for function in (
        *partitions.FUNCTIONS,
        *partitions.STATISTICS_FUNCTIONS,
        *ledger.FUNCTIONS,
        *fact_statistics.FUNCTIONS,
    ):
        statements.append(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        statements.append(f"GRANT EXECUTE ON FUNCTION {function} TO {who}")
    for statement in statements:
        connection.execute(text(statement))
    problems = findings(connection, role)
    if problems:
        raise ServiceRoleRefused(
            f"the service role {role!r} is not least-privilege: " + "; ".join(problems)
        )


def findings(connection: Connection, role: str) -> list[str]:
    """What makes `role` more than a least-privilege service role (empty: nothing)."""
    problems: list[str] = []
    owned = list(
        connection.scalars(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = :role "
                "ORDER BY c.relname"
            ),
            {"role": role},
        )
    )
    if owned:
        problems.append(f"it owns {len(owned)} relation(s) ({', '.join(owned[:5])}...)")
    if connection.scalar(
        text("SELECT has_schema_privilege(:role, 'public', 'CREATE')"), {"role": role}
    ):
        problems.append(
            "it may create tables in schema public (REVOKE CREATE ON SCHEMA public FROM PUBLIC)"
        )
    return problems


def _require_plain_role(connection: Connection, role: str) -> None:
    row = connection.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :role"),
        {"role": role},
    ).first()
    if row is None:
        raise ServiceRoleRefused(
            f"there is no database role {role!r} (the user of DATABASE_URL): create it first, "
            f"e.g. CREATE ROLE {role} LOGIN"
        )
    if row.rolsuper or row.rolbypassrls:
        raise ServiceRoleRefused(
            f"the service role {role!r} is a superuser or bypasses row security: "
            "use a plain LOGIN role"
        )
