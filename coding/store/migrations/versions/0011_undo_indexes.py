"""indexes for what the coding page reads on every rerun (issue 19)

- ``ix_events_actor_seq``: Undo and Redo look for the member's latest step, newest first
  (``events`` by ``actor_id``, ordered by ``seq``); with the index they read a few rows
  instead of every event of the member.
- ``ix_codings_coder_created``: the recent codes (keys 1-9) are the member's latest
  codings, newest first.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_actor_seq", "events", ["actor_id", "seq"])
    op.create_index("ix_codings_coder_created", "codings", ["coder_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_codings_coder_created", table_name="codings")
    op.drop_index("ix_events_actor_seq", table_name="events")
