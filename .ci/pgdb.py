"""PostgreSQL for a CI run: the two roles production uses, and a database per run.

    python .ci/pgdb.py roles         create the roles if missing (idempotent)
    python .ci/pgdb.py create NAME   a new database owned by the schema owner role
    python .ci/pgdb.py drop NAME     that database and those the tests named after it
                                     (NAME_gw0, ... of pytest-xdist's workers; NAME_template_...)

The roles are those of the README's "Database roles": `payouts_owner` owns the schema
and runs migrations (and, for the tests, creates their scratch databases);
`payouts_app` is the service's role, which owns nothing and gets only what
`payouts db upgrade` grants it. Connects as the server's administrator.
"""

from __future__ import annotations

import os
import sys

import psycopg
from psycopg import sql

SERVER = os.environ.get("PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
OWNER = "payouts_owner"
SERVICE = "payouts_app"


def roles(conn: psycopg.Connection) -> None:
    existing = {row[0] for row in conn.execute("SELECT rolname FROM pg_roles")}
    if OWNER not in existing:
        # CREATEDB: the tests create scratch databases; pg_signal_backend: and drop them.
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(OWNER)))
    conn.execute(sql.SQL("GRANT pg_signal_backend TO {}").format(sql.Identifier(OWNER)))
    if SERVICE not in existing:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(SERVICE)))


def _named_after(conn: psycopg.Connection, name: str) -> list[str]:
    """Databases the tests made for a run on `name` (left behind if the run was killed)."""
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE left(datname, length(%s) + 1) = %s || '_'",
        (name, name),
    )
    return [row[0] for row in rows]


def main() -> None:
    action = sys.argv[1]
    with psycopg.connect(SERVER, autocommit=True) as conn:
        if action == "roles":
            roles(conn)
            return
        name = sql.Identifier(sys.argv[2])
        if action == "create":
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(name, sql.Identifier(OWNER)))
        elif action == "drop":
            for found in _named_after(conn, sys.argv[2]):
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(found)))
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        else:
            sys.exit(f"unknown action {action!r}")


if __name__ == "__main__":
    main()
