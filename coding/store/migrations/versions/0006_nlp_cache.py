"""nlp cache: spaCy analysis of a text, stored once per text and pipeline

- ``nlp_cache``: one row per (text SHA-256, pipeline name+version): the
  sentences, terms and noun-chunk phrases suggestions need, as JSON. Keyed by
  the text's hash, not the document, so a re-imported or shared text is not
  parsed again; a new pipeline version gets new rows. Written one row per
  document in its own transaction, so a cancelled run leaves whole rows only.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nlp_cache",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("pipeline", sa.String(80), primary_key=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("nlp_cache")
