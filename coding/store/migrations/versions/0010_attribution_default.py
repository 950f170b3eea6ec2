"""attribution template: a default that works on every project (issue 16)

Migration 0005 stored the demo's ``({role} - {school})`` for every project, so every export
of a project without those attribute columns (an NVivo import, a new project) failed. The
default is now ``({speaker}, {document})``: this resets the stored template to it on each
project that still holds 0005's default but whose documents lack ``role`` or ``school``.
Projects that have both columns (the demo) keep their template; a template a lead set is
never touched. The column's server default becomes the new default.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OLD = "({role} - {school})"
NEW = "({speaker}, {document})"


def upgrade() -> None:
    bind = op.get_bind()
    projects = sa.table("projects", sa.column("id", sa.String), sa.column("attribution_template", sa.String))
    documents = sa.table("documents", sa.column("id", sa.String), sa.column("project_id", sa.String))
    attributes = sa.table("attributes", sa.column("document_id", sa.String), sa.column("name", sa.String))

    def has(name):
        return sa.exists().where(documents.c.project_id == projects.c.id, attributes.c.document_id == documents.c.id,
                                 attributes.c.name == name)

    bind.execute(projects.update().where(projects.c.attribution_template == OLD, ~(has("role") & has("school")))
                 .values(attribution_template=NEW))
    with op.batch_alter_table("projects") as b:
        b.alter_column("attribution_template", existing_type=sa.String(300), existing_nullable=False,
                       server_default=NEW)


def downgrade() -> None:
    with op.batch_alter_table("projects") as b:
        b.alter_column("attribution_template", existing_type=sa.String(300), existing_nullable=False,
                       server_default=OLD)
