"""Create or drop a uniquely named PostgreSQL database for one CI run."""

from __future__ import annotations

import sys

import psycopg

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def main() -> None:
    action, name = sys.argv[1], sys.argv[2]
    with psycopg.connect(SERVER, autocommit=True) as conn:
        if action == "create":
            conn.execute(f'CREATE DATABASE "{name}"')
        elif action == "drop":
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            sys.exit(f"unknown action {action!r}")


if __name__ == "__main__":
    main()
