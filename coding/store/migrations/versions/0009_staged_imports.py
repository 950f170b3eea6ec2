"""staged imports: a big import is written in short transactions, out of sight, then moved in at once

- ``projects.staging_for``: set on the hidden project that holds an import's rows while they
  are written (NULL for every real project); deleting the project imported into deletes it.
- ``staged_imports``: one row per import being stored: the hidden project (``id``), the
  project it goes into, who imports what, its progress and when it last wrote (an import
  left for long was interrupted; the next one removes what it staged).
- ``ix_codes_parent_id``: deleting a code (or a staged codebook) looks up its children by
  ``parent_id``; without the index every deleted code scans all codes.

SQLite cannot add a foreign key to an existing table: ``projects`` is rebuilt in batch
mode (``db.migrate`` runs with foreign keys off, so the rebuild cascades nothing).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as b:
        b.add_column(sa.Column("staging_for", sa.String(length=36), nullable=True))
        b.create_foreign_key("fk_projects_staging_for_projects", "projects", ["staging_for"], ["id"],
                             ondelete="CASCADE")
        b.create_index("ix_projects_staging_for", ["staging_for"])
    op.create_table(
        "staged_imports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("actor_id", sa.String(length=36), nullable=True),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("rows_done", sa.Integer(), nullable=False),
        sa.Column("rows_total", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["actor_id"], ["coders.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_staged_imports_project_id", "staged_imports", ["project_id"])
    op.create_index("ix_codes_parent_id", "codes", ["parent_id"])


def downgrade() -> None:
    op.drop_index("ix_codes_parent_id", table_name="codes")
    op.drop_index("ix_staged_imports_project_id", table_name="staged_imports")
    op.drop_table("staged_imports")
    with op.batch_alter_table("projects") as b:
        b.drop_index("ix_projects_staging_for")
        b.drop_constraint("fk_projects_staging_for_projects", type_="foreignkey")
        b.drop_column("staging_for")
