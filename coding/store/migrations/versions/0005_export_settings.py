"""export settings: the project's attribution template

- ``projects.attribution_template``: how an exported excerpt names its speaker,
  with participant attributes in braces, e.g. ``({role} - {school})`` (the demo's
  columns; the style of the paper this grew from). Existing projects get that
  default; a lead changes it per project.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

DEFAULT = "({role} - {school})"


def upgrade() -> None:
    with op.batch_alter_table("projects") as b:
        b.add_column(sa.Column("attribution_template", sa.String(300), nullable=False, server_default=DEFAULT))


def downgrade() -> None:
    with op.batch_alter_table("projects") as b:
        b.drop_column("attribution_template")
