"""Second-factor secrets sealed at rest: every stored TOTP secret sealed with Fernet.

`second_factors.secret` held each finance user's TOTP secret as it is: anyone who
could read the table (a backup, a copy, a reporting role) could make that user's
codes. From here it holds the secret sealed under `SECOND_FACTOR_KEYS`
(`payouts.second_factor_keys`), keys the database never holds.

The secrets already stored are sealed here, once, by the schema owner that runs the
migrations (the database keeps an enrolled secret as it is, so its guard is lifted
for this transaction only), rather than lazily on first use: the service's role may
not rewrite an enrolled secret, and a secret left plain until its user next signs in
would stay readable for as long as that user stays away. A database with second
factors therefore needs the keys to upgrade (one line says so when they are not
set); one without any needs none. The column widens to hold a token. The downgrade
opens them again.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 22:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from payouts import second_factor_keys

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _widen(length: int, was: int) -> None:
    """The secret column at `length` characters, its triggers kept (SQLite rebuilds the
    table to change a column, which drops them: they are made again as they were)."""
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.alter_column(
            "second_factors", "secret", type_=sa.String(length), existing_type=sa.String(was)
        )
        return
    triggers = bind.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
        {"t": "second_factors"},
    ).scalars()
    kept = list(triggers)
    with op.batch_alter_table("second_factors") as table:
        table.alter_column("secret", type_=sa.String(length), existing_type=sa.String(was))
    for sql in kept:
        op.execute(sql)


def upgrade() -> None:
    _widen(200, 64)
    second_factor_keys.reseal_all(op.get_bind(), second_factor_keys.seal)


def downgrade() -> None:
    second_factor_keys.reseal_all(op.get_bind(), second_factor_keys.unseal)
    _widen(64, 200)
