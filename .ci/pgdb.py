"""PostgreSQL for a CI run: the two roles production uses, and a database per run.

    python .ci/pgdb.py roles         create the roles if missing (idempotent)
    python .ci/pgdb.py create NAME   a new database owned by the schema owner role
    python .ci/pgdb.py drop NAME

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
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        else:
            sys.exit(f"unknown action {action!r}")


if __name__ == "__main__":
    main()
