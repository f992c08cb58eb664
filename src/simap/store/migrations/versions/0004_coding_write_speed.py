"""coding write speed: drop ``ix_assignments_venture_id``

The unique constraint ``uq_assignment (venture_id, code_id, coder)`` already starts with
``venture_id``, so it serves the same lookups (a venture's codes, the cascade when a venture is
deleted); the extra index only cost every stored suggestion one more b-tree insert (about a
tenth of the time of writing a coding batch on SQLite, docs/benchmarks.md).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_assignments_venture_id")


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index("ix_assignments_venture_id", ["venture_id"], unique=False)
