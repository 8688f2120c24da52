"""What lets a run read one slice of partners' facts through indexes, not the month's.

A slice's invoices are those of the deals its partners have a role on and those of the
customers they referred (`payouts.batch.repository.month_facts`):

- `deal_roles.partner_id` compared bytewise ("C") on PostgreSQL, as `draft_lines`'
  key is (0010): a slice is a range of partner ids in the order Python gives them
  (`PartnerRange.where` compares them under "C"), which an index in the database's
  linguistic collation cannot answer, so every slice read scanned all the roles. Its
  index is rebuilt in "C" with it. SQLite compares bytes already.
- `ix_invoices_period_deal`: a slice's invoices of the month found by deal, as
  `ix_invoices_period_customer` finds them by customer.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_invoices_period_deal", "invoices", ["accounting_period", "deal_id"])
    _collate(to="C", existing=None)


def downgrade() -> None:
    _collate(to="default", existing="C")
    op.drop_index("ix_invoices_period_deal", table_name="invoices")


def _collate(*, to: str, existing: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column(
        "deal_roles",
        "partner_id",
        type_=sa.String(64, collation=to),
        existing_type=sa.String(64, collation=existing),
        existing_nullable=False,
    )
