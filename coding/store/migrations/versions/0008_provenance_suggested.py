"""provenance 'suggestion' renamed 'suggested' (DESIGN.md, Suggestions)

- ``codings.provenance``: rows with 'suggestion' become 'suggested', and the
  check ``coding_provenance`` allows ('typed', 'suggested', 'adjudicated',
  'imported').

The old check refuses the new value and the new check refuses the old one, so
the check goes first, then the rows change, then the new check comes. SQLite
cannot alter a check in place: ``codings`` is rebuilt in batch mode, twice
(``db.migrate`` runs with foreign keys off, so the rebuild cascades nothing).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_CHECK = "coding_provenance"
_ALLOWED = "provenance IN ('typed', '{}', 'adjudicated', 'imported')"


def _rename(old: str, new: str) -> None:
    codings = sa.table("codings", sa.column("provenance"))
    with op.batch_alter_table("codings") as b:
        b.drop_constraint(_CHECK, type_="check")
    op.execute(sa.update(codings).where(codings.c.provenance == old).values(provenance=new))
    with op.batch_alter_table("codings") as b:
        b.create_check_constraint(_CHECK, _ALLOWED.format(new))


def upgrade() -> None:
    _rename("suggestion", "suggested")


def downgrade() -> None:
    _rename("suggested", "suggestion")
