"""sets: named groups of documents and/or codes (REFI-QDA ``Sets``)

- ``sets``: one row per set of a project; its id is the file's GUID when it was
  imported, so a REFI-QDA round trip keeps it.
- ``set_members``: one document or one code of a set (a check makes exactly one
  of ``document_id`` and ``code_id`` set); deleting the set, the document or the
  code removes the membership.

New tables only: nothing existing is rebuilt, so SQLite needs no batch mode.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sets_project_id", "sets", ["project_id"])
    op.create_table(
        "set_members",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("set_id", sa.String(length=36), nullable=False),
        sa.Column("document_id", sa.String(length=36), nullable=True),
        sa.Column("code_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint("(document_id IS NULL) <> (code_id IS NULL)", name="set_member_one"),
        sa.ForeignKeyConstraint(["set_id"], ["sets.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["code_id"], ["codes.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("set_id", "document_id", name="uq_set_members_document"),
        sa.UniqueConstraint("set_id", "code_id", name="uq_set_members_code"),
    )
    op.create_index("ix_set_members_set_id", "set_members", ["set_id"])


def downgrade() -> None:
    op.drop_index("ix_set_members_set_id", table_name="set_members")
    op.drop_table("set_members")
    op.drop_index("ix_sets_project_id", table_name="sets")
    op.drop_table("sets")
