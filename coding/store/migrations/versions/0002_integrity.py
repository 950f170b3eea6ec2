"""integrity: one row per coding, no silent cascade from codes, code status

- ``codings``: unique (document, coder, layer, start, end, code) so the same
  coding cannot be stored twice (two tabs, a retried request). Duplicates
  already stored are folded into the oldest row first (memos appended), and
  every removed row is written to the event log (``coding.dedupe``).
- ``codings.code_id``: ON DELETE RESTRICT instead of CASCADE. A code with
  codings can no longer be deleted behind the coders' backs: merge and delete
  move or delete its codings explicitly and record them in their event.
- ``codes``: ``status`` ('active' | 'proposed', default 'active') and
  ``proposed_by`` (coder, SET NULL), for codes proposed by coders.

SQLite cannot alter constraints in place: both tables are rebuilt in batch
mode. ``db.migrate`` runs migrations with SQLite's foreign keys switched off
(and checks them before committing), so dropping the old ``codes`` table
during the rebuild cascades nothing.

Revision ID: 0002
Revises: 0001
"""

import json
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_IDENTITY = ("document_id", "coder_id", "layer", "start", "end", "code_id")
_ROW = ("id", "project_id", "document_id", "code_id", "coder_id", "start", "end", "memo",
        "provenance", "layer", "created_at")
# Names SQLite's unnamed constraints get when batch mode reflects the table.
_SQLITE_NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _fold_duplicates(bind) -> None:
    """Keep the oldest of identical codings, append the others' memos, log what went."""
    codings = sa.table("codings", *(sa.column(c) for c in _ROW))
    events = sa.table("events", *(sa.column(c) for c in (
        "id", "project_id", "actor", "action", "object_type", "object_id", "payload", "at")))
    keys = [codings.c[k] for k in _IDENTITY]
    groups = bind.execute(sa.select(*keys).group_by(*keys).having(sa.func.count() > 1)).all()
    folded: list[tuple[dict, list[dict]]] = []
    for g in groups:
        rows = bind.execute(
            sa.select(*codings.c).where(*(codings.c[k] == v for k, v in zip(_IDENTITY, g)))
            .order_by(codings.c.created_at, codings.c.id)
        ).mappings().all()
        keep, extra = rows[0], rows[1:]
        memo = keep["memo"] or ""
        for r in extra:
            if r["memo"] and r["memo"] not in memo:
                memo = f"{memo}\n\n{r['memo']}" if memo else r["memo"]
        bind.execute(sa.update(codings).where(codings.c.id == keep["id"]).values(memo=memo))
        bind.execute(sa.delete(codings).where(codings.c.id.in_([r["id"] for r in extra])))
        folded.append((keep, [{**{k: r[k] for k in _ROW if k != "created_at"}, "created_at": str(r["created_at"])}
                               for r in extra]))
    # One event per kept coding, in the shape coding/team/events.py defines for "coding.dedupe".
    for keep, rows in folded:
        payload = {"kept": keep["id"], "removed": rows}
        bind.execute(sa.insert(events).values(
            id=str(uuid.uuid4()), project_id=keep["project_id"], actor="system", action="coding.dedupe",
            object_type="coding", object_id=keep["id"],
            payload=json.dumps(payload, ensure_ascii=False, sort_keys=True), at=datetime.now(UTC)))


def _fk_name(bind, table: str, column: str) -> str | None:
    for fk in sa.inspect(bind).get_foreign_keys(table):
        if fk["constrained_columns"] == [column]:
            return fk["name"]
    return None


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    _fold_duplicates(bind)

    old_fk = _fk_name(bind, "codings", "code_id") or "fk_codings_code_id_codes"
    with op.batch_alter_table("codings", naming_convention=_SQLITE_NAMES if sqlite else None) as b:
        b.drop_constraint(old_fk, type_="foreignkey")
        b.create_foreign_key("fk_codings_code_id_codes", "codes", ["code_id"], ["id"], ondelete="RESTRICT")
        b.create_unique_constraint("uq_codings_identity", list(_IDENTITY))

    with op.batch_alter_table("codes") as b:
        b.add_column(sa.Column("status", sa.String(10), nullable=False, server_default="active"))
        b.add_column(sa.Column("proposed_by", sa.String(36), nullable=True))
        b.create_check_constraint("code_status", "status IN ('active', 'proposed')")
        b.create_foreign_key("fk_codes_proposed_by_coders", "coders", ["proposed_by"], ["id"],
                             ondelete="SET NULL")


def downgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    with op.batch_alter_table("codes") as b:
        b.drop_constraint("fk_codes_proposed_by_coders", type_="foreignkey")
        b.drop_constraint("code_status", type_="check")
        b.drop_column("proposed_by")
        b.drop_column("status")
    with op.batch_alter_table("codings", naming_convention=_SQLITE_NAMES if sqlite else None) as b:
        b.drop_constraint("uq_codings_identity", type_="unique")
        b.drop_constraint("fk_codings_code_id_codes", type_="foreignkey")
        b.create_foreign_key(None if sqlite else "codings_code_id_fkey", "codes", ["code_id"], ["id"],
                             ondelete="CASCADE")
