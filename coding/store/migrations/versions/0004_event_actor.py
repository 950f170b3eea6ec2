"""event actor: events name their actor by member id

- ``events.actor_id``: the acting member (``coders.id``, ON DELETE SET NULL), so
  the log, undo and the blind rule follow a member, not a name that could be
  reused. ``events.actor`` stays: the name shown, and the record of who it was
  should the member row ever go. NULL for the system (demo build, migrations).
- Existing events get the id of the member of their project with that name.

SQLite cannot add a foreign key in place: ``events`` is rebuilt in batch mode
(nothing references it).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as b:
        b.add_column(sa.Column("actor_id", sa.String(36), nullable=True))
        b.create_foreign_key("fk_events_actor_id_coders", "coders", ["actor_id"], ["id"], ondelete="SET NULL")
        b.create_index("ix_events_actor_id", ["actor_id"])
    events = sa.table("events", sa.column("project_id"), sa.column("actor"), sa.column("actor_id"))
    coders = sa.table("coders", sa.column("id"), sa.column("project_id"), sa.column("name"))
    member = (sa.select(coders.c.id)
              .where(coders.c.project_id == events.c.project_id, coders.c.name == events.c.actor)
              .scalar_subquery())
    op.get_bind().execute(sa.update(events).values(actor_id=member))


def downgrade() -> None:
    with op.batch_alter_table("events") as b:
        b.drop_index("ix_events_actor_id")
        b.drop_constraint("fk_events_actor_id_coders", type_="foreignkey")
        b.drop_column("actor_id")
